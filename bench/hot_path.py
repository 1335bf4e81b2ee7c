"""CPU per operation on the hot path, in-process (no HTTP, no network): where the server's time goes.

    python bench/hot_path.py [--tickets 400] [--url sqlite|postgresql+psycopg://…]

Drives the app through Flask's test client on the demo hall and measures each request's CPU time
in the calling thread (`time.thread_time`), so other load on the machine changes the figures
little: issue, then call-next / accept / finish and call-next / skip in turn on one window.
Prints the mean of the fastest 90 % per operation and the SQL statements each one sends.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from queue_server.app import create_app  # noqa: E402

DEMO = ROOT / "config" / "demo" / "hall.toml"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=400)
    parser.add_argument("--url", default="sqlite")
    args = parser.parse_args()
    url = args.url if args.url != "sqlite" else f"sqlite:///{tempfile.mkdtemp(prefix='hall-hot-')}/hall.db"
    app = create_app([DEMO], url, secret=b"bench")
    rt = app.extensions["hall"]
    rt.ignore_hours = True
    for cfg in rt.halls.values():  # one test client stands for every kiosk of the hall
        cfg.kiosk_tickets_per_minute = 0
        cfg.max_tickets_per_id = 0
    statements = [0]
    event.listen(rt.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))

    c = app.test_client()
    kiosk = {"Authorization": "Bearer demo-kiosk"}
    login = c.post("/api/v1/auth/login", json={"username": "clerk01", "password": "demo1234"}).get_json()
    clerk = {"Authorization": "Bearer " + login["token"]}
    window = login["staff"]["windows"][0]["id"]
    served = c.get("/api/v1/matters").get_json()
    # A 即办件: accepted and finished at the window (a 承诺件's visit ends at 受理).
    matter = next(m["id"] for m in served["matters"]
                  if window in m.get("window_ids", [window]) and m["kind"] == "即办件")

    cpu: dict[str, list[float]] = {op: [] for op in ("issue", "call-next", "accept", "finish", "skip")}
    sql: dict[str, list[int]] = {op: [] for op in cpu}

    def timed(op: str, method, path: str, **kw) -> None:
        statements[0] = 0
        t0 = time.thread_time()
        r = method(path, **kw)
        cpu[op].append(time.thread_time() - t0)
        sql[op].append(statements[0])
        assert r.status_code in (200, 201), (op, r.get_json())

    for _ in range(args.tickets):
        timed("issue", c.post, "/api/v1/tickets", json={"matter_id": matter}, headers=kiosk)
    for i in range(args.tickets // 2 - 1):
        ops = ("call-next", "accept", "finish") if i % 2 else ("call-next", "skip")
        for op in ops:
            timed(op, c.post, f"/api/v1/windows/{window}/{op}", headers=clerk)

    print(f"in-process, one thread, {rt.engine.dialect.name}; CPU ms per request (mean of the fastest 90 %)\n")
    print("| operation | requests | CPU ms | SQL statements |")
    print("| --- | ---: | ---: | ---: |")
    for op, values in cpu.items():
        best = sorted(values)[: max(1, int(len(values) * 0.9))]
        print(f"| {op} | {len(values)} | {statistics.mean(best) * 1000:.2f} | {statistics.median(sql[op]):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
