"""1,000 anonymous websockets against `hall serve`, and the hall's latency meanwhile (issue 20.1).

    .venv/bin/python bench/socket_flood.py [--sockets 1000] [--addresses 50] [--rounds 40]

The attacker: raw Engine.IO websockets from `--addresses` loopback addresses (127.0.4.x), that
answer pings, never join /hall, and reconnect whenever closed or refused. The hall: the small
test hall under `hall serve` with the default gate ([server] not set: join 5 s, 50 per address,
500 in all). Measured: sockets held, refused, closed, and p50/p99 of login, issue and call-next,
first without the flood, then under it.
"""
from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "security"))

from served_hall import Flood, call, flood, hall_config, raise_open_files, served  # noqa: E402


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def hall_round(port, catalogue, rounds, label):
    matters = [m["id"] for m in catalogue["matters"]]
    windows = {w["number"]: w["id"] for w in catalogue["windows"]}
    times = {"login": [], "issue": [], "call-next": []}
    bad = []
    for i in range(rounds):
        n = i % 10 + 1
        t = time.perf_counter()
        status, body = call(port, "POST", "/api/v1/auth/login", {"username": f"clerk{n:02d}", "password": "test1234"})
        times["login"].append(time.perf_counter() - t)
        bad += [] if status == 200 else [("login", status)]
        t = time.perf_counter()
        status, _ = call(port, "POST", "/api/v1/tickets", {"matter_id": matters[i % len(matters)]}, token="test-kiosk")
        times["issue"].append(time.perf_counter() - t)
        bad += [] if status == 201 else [("issue", status)]
        t = time.perf_counter()
        status, _ = call(port, "POST", f"/api/v1/windows/{windows[n]}/call-next", {}, body.get("token"))
        times["call-next"].append(time.perf_counter() - t)
        bad += [] if status in (200, 404, 409) else [("call-next", status)]   # 409: the window still serves its last call
    for what, values in times.items():
        print(f"  {label:14} {what:10} p50 {percentile(values, .5) * 1000:6.1f} ms  "
              f"p99 {percentile(values, .99) * 1000:6.1f} ms  max {max(values) * 1000:6.1f} ms  (n={len(values)})")
    if bad:
        print(f"  {label}: failed answers {bad}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=1000)
    ap.add_argument("--addresses", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()
    raise_open_files(8192)
    print(f"machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores, "
          f"Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with served(tmp, hall_config(tmp)) as (port, _log):
            catalogue = call(port, "GET", "/api/v1/matters")[1]
            hall_round(port, catalogue, args.rounds, "no flood")
            seen, stop = Flood(), asyncio.Event()
            loop = asyncio.new_event_loop()
            addresses = [f"127.0.4.{i}" for i in range(1, args.addresses + 1)]
            attack = threading.Thread(target=loop.run_until_complete, daemon=True,
                                      args=(flood(port, addresses, args.sockets // args.addresses, stop, seen),))
            attack.start()
            time.sleep(8)    # the flood at full strength: caps full, the first round of closes done
            print(f"  flood of {args.sockets} sockets: held now {seen.open_now}, most held {seen.most_open}, "
                  f"opened {seen.opened}, closed by the server {seen.closed_by_server}, refused {seen.refused}")
            hall_round(port, catalogue, args.rounds, "under flood")
            print(f"  after: held now {seen.open_now}, most held {seen.most_open}, opened {seen.opened}, "
                  f"closed by the server {seen.closed_by_server}, refused {seen.refused}, errors {len(seen.failed)}")
            loop.call_soon_threadsafe(stop.set)
            attack.join(timeout=30)


if __name__ == "__main__":
    main()
