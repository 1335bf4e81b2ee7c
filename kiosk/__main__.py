"""Run the kiosk on its own machine: `python -m kiosk --server URL --token TOKEN [--printer URL]`."""
from __future__ import annotations

import argparse
import os
import sys

from . import create_kiosk_app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kiosk", description="自助取号机 / the touch kiosk")
    p.add_argument("--server", required=True, help="queue server, e.g. http://192.168.1.10:8000")
    p.add_argument("--token", default=os.environ.get("HALL_KIOSK_TOKEN"), help="this kiosk's device token")
    p.add_argument("--printer", help="tcp://…:9100, serial:///dev/ttyS0?baudrate=9600, usb://VID:PID, preview:")
    p.add_argument("--profile", help="printer model: P80 (default), P58, …")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    args = p.parse_args(argv)
    if not args.token:
        p.error("--token (or HALL_KIOSK_TOKEN) is required")
    app = create_kiosk_app(args.server, args.token, args.printer, args.profile)
    print(f"kiosk on http://{args.host}:{args.port}/kiosk/ → {args.server}", flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
