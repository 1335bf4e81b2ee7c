"""Call-to-screen latency with many connected displays: a local hall server, N Socket.IO display
clients on /hall, and a clerk calling tickets; each call's latency is measured from the moment the
call-next request is sent to the moment each client has the `ticket.called` event.

    python -m display.bench --clients 200 --calls 30

Runs everything on this machine (127.0.0.1 only), on a temporary SQLite database.
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import socketio

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo" / "hall.toml"


class _MorningClock:
    """09:00 on a working Tuesday, running in real time (the kiosk only issues in opening hours)."""

    def __init__(self):
        self.t0 = time.monotonic()

    def now(self) -> datetime:
        return datetime(2026, 3, 10, 9, 0) + timedelta(seconds=time.monotonic() - self.t0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict, token: str | None = None) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read())


def serve(db: Path, port: int):
    from queue_server.app import create_app
    app = create_app([DEMO], f"sqlite:///{db}", secret=b"bench", clock=_MorningClock())  # type: ignore[arg-type]  # has now(), as a Clock
    threading.Thread(target=app.extensions["socketio"].run, args=(app,), daemon=True,
                     kwargs=dict(host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, use_reloader=False,
                                 log_output=False)).start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/api/v1/matters", timeout=1).read()
            return base
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def run(clients: int, calls: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        base = serve(Path(tmp) / "hall.db", _free_port())
        arrivals: dict[str, list[float]] = {}
        lock = threading.Lock()
        screens = []

        def on_called(data):
            t = time.perf_counter()
            with lock:
                arrivals.setdefault(data["ticket"]["number"], []).append(t)

        for _ in range(clients):
            sio = socketio.Client(reconnection=False, handle_sigint=False)
            sio.on("ticket.called", on_called, namespace="/hall")
            sio.connect(base, namespaces=["/hall"], auth={"token": "demo-display"}, transports=["websocket"],
                        wait_timeout=10)
            screens.append(sio)
        token = _post(base + "/api/v1/auth/login", {"username": "clerk01", "password": "demo1234"})["token"]
        matters = json.loads(urllib.request.urlopen(base + "/api/v1/matters").read())
        window = next(w for w in matters["windows"] if w["number"] == 1)
        matter = next(m for m in matters["matters"] if m["code"] == "XK00102001")   # 即办件 at window 1
        per_call = []
        for _ in range(calls):
            _post(base + "/api/v1/tickets", {"matter_id": matter["id"]}, "demo-kiosk")
            t0 = time.perf_counter()
            ticket = _post(base + f"/api/v1/windows/{window['id']}/call-next", {}, token)["ticket"]["number"]
            deadline = time.monotonic() + 10
            while len(arrivals.get(ticket, [])) < clients and time.monotonic() < deadline:
                time.sleep(0.002)
            got = arrivals.get(ticket, [])
            per_call.append({"ticket": ticket, "received": len(got),
                             "first_ms": (min(got) - t0) * 1000 if got else None,
                             "last_ms": (max(got) - t0) * 1000 if got else None,
                             "all_ms": [(t - t0) * 1000 for t in got]})
            _post(base + f"/api/v1/windows/{window['id']}/skip", {}, token)
        for sio in screens:
            threading.Thread(target=sio.disconnect, daemon=True).start()
    every = sorted(ms for c in per_call for ms in c["all_ms"])
    pick = lambda q: every[min(len(every) - 1, int(q * len(every)))] if every else None  # noqa: E731
    return {"clients": clients, "calls": calls,
            "delivered": sum(c["received"] for c in per_call), "expected": clients * calls,
            "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99), "max_ms": every[-1] if every else None,
            "last_client_median_ms": statistics.median(c["last_ms"] for c in per_call if c["last_ms"] is not None)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--calls", type=int, default=30)
    args = ap.parse_args(argv)
    result = run(args.clients, args.calls)
    json.dump({k: (round(v, 1) if isinstance(v, float) else v) for k, v in result.items()}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
