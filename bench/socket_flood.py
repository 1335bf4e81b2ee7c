"""1,000 anonymous websockets against the hall, and the hall's latency meanwhile (issue 20.1).

    .venv/bin/python bench/socket_flood.py [--deployment single|single-nginx|split]
                                           [--sockets 1000] [--addresses 50] [--rounds 200]

The attacker: raw Engine.IO websockets from `--addresses` loopback addresses (127.0.4.x), that
answer pings, never join /hall, and reconnect 0.2 s after being closed or refused. It runs in its
own process, so the measuring client below does not share a GIL with it.

The hall, by `--deployment`:
- single: one `hall serve` (SQLite, the small test hall, default gate: join 5 s, 50 per address,
  500 in all), attacked and measured directly;
- single-nginx: the same process behind nginx as deploy/nginx.conf ships it (its socket caps on);
- split: `hall serve --role api` and `hall serve --role sockets` on PostgreSQL and Redis behind
  that nginx (the deployment the README recommends where anyone can reach the hall's LAN).
Measured: sockets held, refused, closed, and p50/p99 of login, issue and call-next, first
without the flood, then under it, from one client through the hall's front door.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "security"))
sys.path.insert(0, str(ROOT / "tests"))

from served_hall import Flood, call, flood, hall_config, proxied, raise_open_files, served  # noqa: E402


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
              f"p99 {percentile(values, .99) * 1000:6.1f} ms  max {max(values) * 1000:6.1f} ms  (n={len(values)})",
              flush=True)
    if bad:
        print(f"  {label}: failed answers {bad}", flush=True)


def _attack(port, addresses, per_address, stop_flag, report) -> None:
    """The attacker's process: the flood until `stop_flag`, its tally sent every second."""
    raise_open_files(8192)
    seen = Flood()

    async def run():
        stop = asyncio.Event()

        async def watch():
            while not stop_flag.is_set():
                report.put(_tally(seen))
                await asyncio.sleep(1)
            stop.set()
        watcher = asyncio.create_task(watch())
        await flood(port, addresses, per_address, stop, seen)
        await watcher
    asyncio.run(run())
    report.put(_tally(seen) | {"done": True})


def _tally(seen: Flood) -> dict:
    return {"open_now": seen.open_now, "most_open": seen.most_open, "opened": seen.opened,
            "closed": seen.closed_by_server, "refused": dict(seen.refused), "errors": len(seen.failed)}


def _latest(report, last):
    while not report.empty():
        last = report.get()
    return last


def _fresh_postgres_url() -> str:
    from sqlalchemy import create_engine, text
    url = os.environ.get("HALL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def deployment(stack: ExitStack, tmp: Path, kind: str) -> int:
    """Start the hall; the port its users (and the attacker) reach."""
    if kind == "split":
        config = hall_config(tmp, 'trusted_proxies = ["127.0.0.1"]')
        shared = ("--database-url", _fresh_postgres_url(),
                  "--message-queue", os.environ.get("HALL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
                  "--channel", f"flood-{uuid.uuid4().hex[:8]}")
        api, _ = stack.enter_context(served(tmp, config, *shared, "--role", "api"))
        sockets, _ = stack.enter_context(served(tmp, config, *shared, "--role", "sockets"))
        return stack.enter_context(proxied(tmp, api, sockets))
    if kind == "single-nginx":
        port, _ = stack.enter_context(served(tmp, hall_config(tmp, 'trusted_proxies = ["127.0.0.1"]')))
        return stack.enter_context(proxied(tmp, port))
    port, _ = stack.enter_context(served(tmp, hall_config(tmp)))
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deployment", choices=("single", "single-nginx", "split"), default="single")
    ap.add_argument("--sockets", type=int, default=1000)
    ap.add_argument("--addresses", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()
    raise_open_files(8192)
    load = os.getloadavg()[0]
    print(f"deployment {args.deployment}; machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, load average at start {load:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        port = deployment(stack, Path(tmp), args.deployment)
        catalogue = call(port, "GET", "/api/v1/matters")[1]
        hall_round(port, catalogue, args.rounds, "no flood")
        context = multiprocessing.get_context("spawn")
        stop_flag, report = context.Event(), context.Queue()
        addresses = [f"127.0.4.{i}" for i in range(1, args.addresses + 1)]
        attacker = context.Process(target=_attack, args=(port, addresses, args.sockets // args.addresses,
                                                         stop_flag, report), daemon=True)
        attacker.start()
        time.sleep(8)    # the flood at full strength: caps full, the first round of closes done
        tally = _latest(report, {})
        print(f"  flood of {args.sockets} sockets, 8 s in: {tally}", flush=True)
        hall_round(port, catalogue, args.rounds, "under flood")
        print(f"  flood, end of the round: {_latest(report, tally)}", flush=True)
        stop_flag.set()
        attacker.join(timeout=30)
        print(f"  load average at the end {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
