"""Issue and call-next over HTTP against a real `hall serve` process (SQLite by default).

    python bench/http_bench.py [--tickets 3000] [--clients 8] [--database-url URL]

Starts the server on the demo hall in a temporary data directory, issues tickets from
`--clients` kiosk threads (keep-alive connections), then lets every window call-next and skip
until the queue is empty. Prints a markdown table: requests per second and p50/p99/max latency.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo" / "hall.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port: int, token: str | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, float]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        start = time.perf_counter()
        self.conn.request(method, path, body=json.dumps(body or {}) if method == "POST" else None, headers=headers)
        response = self.conn.getresponse()
        data = json.loads(response.read() or b"{}")
        return response.status, data, time.perf_counter() - start


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def row(name: str, latencies: list[float], seconds: float) -> str:
    ms = [v * 1000 for v in latencies]
    return (f"| {name} | {len(ms)} | {len(ms) / seconds:,.0f} | {statistics.median(ms):.1f} | "
            f"{percentile(ms, 99):.1f} | {max(ms):.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="hall-bench-")
    port = free_port()
    cmd = [sys.executable, "-m", "queue_server.cli", "serve", "--config", str(DEMO), "--data-dir", data_dir,
           "--port", str(port), "--ignore-hours"]
    if args.database_url:
        cmd += ["--database-url", args.database_url]
    log = open(Path(data_dir) / "server.log", "wb")
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                              env=os.environ | {"HALL_SECRET": "bench"})
    try:
        deadline = time.time() + 60
        while True:
            try:
                catalogue = Client(port).call("GET", "/api/v1/matters")[1]
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start: " + (Path(data_dir) / "server.log").read_text()[-2000:])
                time.sleep(0.2)
        matters = [m["id"] for m in catalogue["matters"]]
        windows = catalogue["windows"]

        # Phase 1: kiosks issue.
        issue_lat: list[float] = []
        lock = threading.Lock()

        def kiosk(n: int, seed: int):
            rng, c, mine = random.Random(seed), Client(port, "demo-kiosk"), []
            for _ in range(n):
                status, body, dt = c.call("POST", "/api/v1/tickets", {"matter_id": rng.choice(matters)})
                assert status == 201, body
                mine.append(dt)
            with lock:
                issue_lat.extend(mine)

        per = args.tickets // args.clients
        threads = [threading.Thread(target=kiosk, args=(per, i)) for i in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        issue_s = time.perf_counter() - t0

        # Phase 2: every window calls next and marks a no-show until its queue is empty.
        call_lat: list[float] = []
        tokens = {}
        for w in windows:
            login = Client(port).call("POST", "/api/v1/auth/login",
                                      {"username": f"clerk{w['number']:02d}", "password": "demo1234"})[1]
            tokens[w["id"]] = login["token"]

        def window(wid: int):
            c, mine = Client(port, tokens[wid]), []
            while True:
                status, body, dt = c.call("POST", f"/api/v1/windows/{wid}/call-next")
                if status == 404:
                    break
                assert status == 200, body
                mine.append(dt)
                assert c.call("POST", f"/api/v1/windows/{wid}/skip")[0] == 200
            with lock:
                call_lat.extend(mine)

        threads = [threading.Thread(target=window, args=(w["id"],)) for w in windows]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        call_s = time.perf_counter() - t0
        assert len(call_lat) == len(issue_lat), (len(call_lat), len(issue_lat))
    finally:
        server.terminate()
        server.wait(timeout=10)

    db = "PostgreSQL" if args.database_url else "SQLite (WAL)"
    print(f"hall serve, one process, {db}; {args.clients} kiosk clients then {len(windows)} windows; "
          f"{os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| operation | requests | per second | p50 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(row(f"issue ticket ({args.clients} clients)", issue_lat, issue_s))
    print(row(f"call-next ({len(windows)} windows, each call followed by a skip)", call_lat, call_s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
