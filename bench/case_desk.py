"""The case desk's list with many open cases: how long one page of GET /api/v1/cases takes.

    python bench/case_desk.py [--cases 10000] [--requests 200] [--url sqlite|postgresql+psycopg://…]

Fills the demo hall with `--cases` open 承诺件 (accepted over the last weeks, due dates spread so
some are red and some yellow, one in twenty waiting for materials), then asks for the desk's first
page (100 rows) the ways people do: a supervisor's whole hall, a clerk's department, the red ones,
a search by matter name. Wall-clock milliseconds per request through Flask's test client (no HTTP),
p50 and p99.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from queue_server.app import create_app  # noqa: E402
from queue_server.models import Case, Matter, Ticket, WindowMatter  # noqa: E402

DEMO = ROOT / "config" / "demo" / "hall.toml"


def fill(rt, n: int) -> None:
    """n cases (and their tickets) as a hall's last weeks would leave them, in bulk."""
    rng = random.Random(7)
    now = rt.clock.now()
    with rt.write() as s:
        hall_id = next(iter(rt.halls))
        matters = s.scalars(select(Matter).where(Matter.hall_id == hall_id, Matter.kind == "承诺件")).all()
        windows = {m.id: s.scalars(select(WindowMatter.window_id).where(WindowMatter.matter_id == m.id)).all()
                   for m in matters}
        tickets, cases = [], []
        for i in range(n):
            m = matters[i % len(matters)]
            received = now - timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 480))
            day = received.date()
            tickets.append({"id": 1_000_000 + i, "hall_id": hall_id, "day": day, "number": f"Z{i:06d}",
                            "matter_id": m.id, "is_priority": False, "status": "done", "issued_at": received,
                            "queue_since": received, "call_count": 1, "requeued": False,
                            "query_code": f"B{i:09d}"})
            waiting = i % 20 == 0
            due = received + timedelta(days=rng.randint(-3, 12))
            cases.append({"hall_id": hall_id, "number": f"BENCH{i:08d}", "ticket_id": 1_000_000 + i,
                          "matter_id": m.id, "window_id": (windows[m.id] or [None])[0],
                          "department_id": m.department_id, "kind": m.kind,
                          "status": "correction" if waiting else "accepted", "received_at": received,
                          "accepted_at": None if waiting else received, "due_at": None if waiting else due,
                          "promised_days": None if waiting else m.promised_days, "due_guessed": False,
                          "missing": ["材料"] if waiting else None})
        s.execute(insert(Ticket), tickets)
        s.execute(insert(Case), cases)
        s.commit()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--url", default="sqlite")
    args = parser.parse_args()
    url = args.url if args.url != "sqlite" else f"sqlite:///{tempfile.mkdtemp(prefix='hall-desk-')}/hall.db"
    app = create_app([DEMO], url, secret=b"bench")
    rt = app.extensions["hall"]
    t0 = time.perf_counter()
    fill(rt, args.cases)
    print(f"{args.cases:,} open cases written in {time.perf_counter() - t0:.1f} s ({rt.engine.dialect.name})\n")
    c = app.test_client()

    def login(user: str) -> dict:
        token = c.post("/api/v1/auth/login", json={"username": user, "password": "demo1234"}).get_json()["token"]
        return {"Authorization": "Bearer " + token}

    sup, clerk = login("supervisor"), login("clerk01")
    name = rt.halls[next(iter(rt.halls))]
    with rt.read() as s:
        some_matter = s.scalar(select(Matter.name).where(Matter.kind == "承诺件").limit(1))
    asks = [("supervisor, whole hall", "/api/v1/cases?scope=hall", sup),
            ("clerk, own department", "/api/v1/cases", clerk),
            ("supervisor, red only", "/api/v1/cases?scope=hall&light=red", sup),
            ("supervisor, search by matter", f"/api/v1/cases?scope=hall&q={some_matter[:4]}", sup)]
    print(f"hall {name.name}; first page (100 rows) of GET /api/v1/cases, {args.requests} requests each\n")
    print("| query | total | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: |")
    for label, path, headers in asks:
        ms, total = [], None
        for _ in range(args.requests):
            t = time.perf_counter()
            r = c.get(path, headers=headers)
            ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.get_json()
            total = r.get_json()["total"]
        ms.sort()
        print(f"| {label} | {total:,} | {statistics.median(ms):.1f} | {ms[int(len(ms) * 0.99) - 1]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
