"""A hall server in its own process, for tests that must kill and restart it (a real restart:
sockets reset, memory gone, only the database file survives).

    python tests/display/hall_process.py --db PATH --port N [--hall TOML] [--start 2026-03-10T09:00]

The hall clock starts at --start and runs in real time (the opening hours are those of a morning).
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from queue_server.app import create_app  # noqa: E402
from queue_server.clock import Clock  # noqa: E402


class RunningClock(Clock):
    """Starts at a chosen instant and runs at real speed."""

    def __init__(self, start: datetime):
        self.start, self.t0 = start, time.monotonic()

    def now(self) -> datetime:
        from datetime import timedelta
        return self.start + timedelta(seconds=time.monotonic() - self.t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--hall", default=str(ROOT / "tests" / "halls" / "small.toml"))
    ap.add_argument("--start", default="2026-03-10T09:00:00")
    ap.add_argument("--quiet-after", type=float)
    ap.add_argument("--nobody-signed-in", action="store_true",
                    help="leave every window closed (未开放); by default each window's clerk is signed in")
    ap.add_argument("--unlimited-kiosks", action="store_true",
                    help="no per-kiosk issuing limit: a test fills a busy hall in seconds through one token")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = create_app([args.hall], f"sqlite:///{args.db}", secret=b"display-tests",
                     clock=RunningClock(datetime.fromisoformat(args.start)))
    if not args.nobody_signed_in:
        from queue_server.staffing import sign_in_assigned
        for hall_id in app.extensions["hall"].halls:
            sign_in_assigned(app.extensions["hall"], hall_id, actor="test:morning")
    if args.unlimited_kiosks:
        for cfg in app.extensions["hall"].halls.values():
            cfg.kiosk_tickets_per_minute = 0
    if args.quiet_after:
        app.extensions["hall_devices"].quiet_after = args.quiet_after
        app.extensions["hall_device_monitor"].set_interval(0.2)
    app.extensions["socketio"].run(app, host="127.0.0.1", port=args.port, allow_unsafe_werkzeug=True,
                                   use_reloader=False, log_output=False)


if __name__ == "__main__":
    main()
