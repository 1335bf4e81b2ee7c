"""Issue and call-next over HTTP against real `hall serve` processes.

    python bench/http_bench.py [--tickets 3000] [--clients 8] [--database-url URL]
                               [--processes N] [--mode closed|paced|both] [--rates 50,100,…] [--seconds 10]

Without `--database-url`: one process on SQLite. With it (a PostgreSQL server URL): a fresh
database is created on that server for the run and dropped after, and `--processes` servers
share events through a fresh Redis channel. Clients are spread round-robin over the processes and
each keeps to its own (as nginx ip_hash does), with one keep-alive connection each; the clients
run as threads in a few client processes so one GIL does not become the bottleneck.

Two modes:
- closed: each client sends its next request as soon as the last is answered (the most the
  servers can do). Kiosks issue `--tickets`, then every window's clerk calls next and skips
  (marks a no-show, so the window may call again) until the queue is empty.
- paced: the clients send at a fixed total rate with random (Poisson) gaps; for each rate in
  `--rates`, issue for `--seconds`, then call-next (each followed by a skip) for `--seconds`,
  each step longer where its rate needs it to send `--min-requests` (600: p99 is the 6th slowest).
  The answer: latency at a stated load, and the highest tested rate whose p99 stays under 20 ms.

Latency is per request at the client: from just before the request is written to the whole
answer read. The hall is generated (bench/hall_config.py): one 综合窗口 per call-next client,
every window serving every matter.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import queue
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hall_config import BenchHall, write_bench_hall  # noqa: E402
from bench.servers import PG_SERVER, REDIS_URL, Cluster, api, deployment, exit_cleanly_on_sigterm  # noqa: E402

RATES = (20, 50, 100, 200, 400, 800)
P99_TARGET_MS = 20.0
SUSTAINED = 0.9      # a paced step counts only if the servers kept up with 90 % of the asked rate
MAX_FAILURES_IN_A_ROW = 50   # a closed-loop client stops after this many failed requests in a row


class Client:
    """One keep-alive connection, as a kiosk or a window's caller holds it."""

    def __init__(self, port: int, token: str | None = None):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, float, float]:
        """(status, json, sent, answered) with perf_counter times; status 0 = connection failed."""
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body or {}) if method == "POST" else None
        sent = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()   # the next call opens a new connection
            return 0, {}, sent, time.perf_counter()
        done = time.perf_counter()
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError:
            parsed = {}
        return response.status, parsed, sent, done


# --- one client's work (runs in a client process, one thread per client) ---------------------

def _issue(client: Client, rng: random.Random, matters: list[int]):
    return client.call("POST", "/api/v1/tickets",
                       {"matter_id": rng.choice(matters), "request_id": uuid.uuid4().hex})


def _call_and_skip(client: Client, window_id: int, record: dict):
    """Call next; if a ticket came, skip it so the window is free again (the skip is timed apart).
    A window still busy (an earlier skip failed) is freed by skipping, and the call counts as failed."""
    status, body, sent, done = client.call("POST", f"/api/v1/windows/{window_id}/call-next")
    if status == 200 or (status == 409 and body.get("error", {}).get("code") == "window_busy"):
        s2, _, sent2, done2 = client.call("POST", f"/api/v1/windows/{window_id}/skip")
        record["statuses"][f"skip {s2}"] += 1
        if s2 == 200:
            record["skip_ms"].append((done2 - sent2) * 1000)
    return status, body, sent, done


def _client(spec: dict, job: dict) -> dict:
    client = Client(spec["port"], spec["token"])
    rng = random.Random(spec["seed"])
    rec = {"op": spec["op"], "ms": [], "late_ms": [], "skip_ms": [], "statuses": Counter(),
           "first": None, "last": None, "t0": None, "scheduled": 0}
    try:
        client.conn.connect()
    except OSError:
        pass
    start = job["start_at"]
    time.sleep(max(0.0, start - time.time()))
    t0 = rec["t0"] = time.perf_counter()

    def once():
        if spec["op"] == "issue":
            return _issue(client, rng, job["matters"])
        return _call_and_skip(client, spec["window_id"], rec)

    if job["mode"] == "closed":
        n = failed_in_a_row = 0
        while spec["count"] is None or n < spec["count"]:
            status, _, sent, done = once()
            rec["statuses"][str(status)] += 1
            n += 1
            if status == 404 and spec["op"] == "call":
                break                       # this window's queue is empty: done
            if status in (200, 201):
                rec["ms"].append((done - sent) * 1000)
                failed_in_a_row = 0
            else:                           # counted as an error; never spin on a broken server
                failed_in_a_row += 1
                if failed_in_a_row >= MAX_FAILURES_IN_A_ROW:
                    rec["statuses"]["gave up"] = 1
                    break
                time.sleep(0.05)
            rec["first"] = sent if rec["first"] is None else rec["first"]
            rec["last"] = done
    else:
        rate, end = spec["rate"], t0 + job["seconds"]
        due = t0
        while True:
            due += rng.expovariate(rate)
            if due >= end:
                break
            rec["scheduled"] += 1
            time.sleep(max(0.0, due - time.perf_counter()))
            status, _, sent, done = once()
            rec["statuses"][str(status)] += 1
            if status in (200, 201):
                rec["ms"].append((done - sent) * 1000)
                rec["late_ms"].append(max(0.0, sent - due) * 1000)
            rec["first"] = sent if rec["first"] is None else rec["first"]
            rec["last"] = done
    client.conn.close()
    rec["statuses"] = dict(rec["statuses"])
    return rec


def _client_process(specs: list[dict], job: dict, out) -> None:
    with ThreadPoolExecutor(max_workers=len(specs)) as pool:
        out.put(list(pool.map(lambda s: _client(s, job), specs)))


def load(specs: list[dict], job: dict, client_procs: int) -> list[dict]:
    """Run the clients, spread over `client_procs` processes, all starting at one moment."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    groups = [specs[i::client_procs] for i in range(client_procs) if specs[i::client_procs]]
    job = dict(job, start_at=time.time() + 0.5 + 0.1 * len(specs) / 50)
    procs = [ctx.Process(target=_client_process, args=(g, job, out), daemon=True) for g in groups]
    for p in procs:
        p.start()
    results, waiting_for = [], len(procs)
    while waiting_for:
        try:
            results += out.get(timeout=1)
            waiting_for -= 1
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in procs):
                raise RuntimeError("a client process failed; see its traceback above") from None
    for p in procs:
        p.join()
    return results


# --- figures --------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def row(name: str, latencies: list[float], seconds: float) -> str:
    """A markdown row from latencies in seconds (bench/peer_fqm.py prints its tables with it)."""
    ms = [v * 1000 for v in latencies]
    return (f"| {name} | {len(ms)} | {len(ms) / seconds:,.0f} | {statistics.median(ms):.1f} | "
            f"{percentile(ms, 99):.1f} | {max(ms):.1f} |")


def summary(records: list[dict], seconds: float | None = None) -> dict:
    """Closed runs (`seconds` None) last from the first send to the last answer; a call-next's
    404 there is a window finding the queue empty, its way to stop. Paced runs last `seconds`,
    and a 404 means the bench let the queue run dry: an error."""
    ms = [v for r in records for v in r["ms"]]
    statuses = Counter()
    for r in records:
        statuses.update(r["statuses"])
    firsts = [r["first"] for r in records if r["first"] is not None]
    lasts = [r["last"] for r in records if r["last"] is not None]
    if seconds is None:
        wall = (max(lasts) - min(firsts)) if firsts else 0.0
    else:   # a paced step lasts its seconds, or longer when the answers fell behind the schedule
        wall = max([seconds] + [r["last"] - r["t0"] for r in records if r["last"] is not None])
    ok = {"201", "200", "skip 200"} | ({"404"} if seconds is None else set())
    return {"requests": len(ms), "seconds": round(wall, 2), "per_s": round(len(ms) / wall, 1) if wall else 0.0,
            "asked_per_s": round(sum(r["scheduled"] for r in records) / seconds, 1) if seconds else None,
            "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "max_ms": max(ms) if ms else None,
            "skip_p99_ms": percentile([v for r in records for v in r["skip_ms"]], 99),
            "late_p99_ms": percentile([v for r in records for v in r["late_ms"]], 99),
            "statuses": dict(statuses), "errors": sum(n for k, n in statuses.items() if k not in ok)}


# --- the run --------------------------------------------------------------------------------

def _logins(cluster: Cluster, hall: BenchHall, windows: int) -> dict[int, str]:
    """window number -> its clerk's session token (logged in on the process it will use)."""
    def one(n: int) -> tuple[int, str]:
        status, body = api(cluster.port_for(n - 1), "POST", "/api/v1/auth/login",
                           {"username": hall.clerk(n), "password": hall.password})
        if status != 200:
            raise RuntimeError(f"login {hall.clerk(n)}: {status} {body}")
        return n, body["token"]
    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(one, range(1, windows + 1)))


def _specs(cluster: Cluster, hall: BenchHall, op: str, clients: int, window_ids: dict[int, int],
           tokens: dict[int, str], *, counts: list | None = None, rate: float | None = None) -> list[dict]:
    specs = []
    for i in range(clients):
        spec = {"op": op, "port": cluster.port_for(i), "seed": random.randrange(1 << 30),
                "count": counts[i] if counts else None, "rate": rate / clients if rate else None}
        if op == "issue":
            spec["token"] = hall.kiosks[i % len(hall.kiosks)]
        else:
            spec["token"], spec["window_id"] = tokens[i + 1], window_ids[i + 1]
        specs.append(spec)
    return specs


def step_seconds(rate: float, seconds: float, min_requests: int) -> float:
    """A paced step lasts `seconds`, or long enough for `min_requests` at its rate: a p99 of 200
    answers is their second slowest and moved by half between two runs of the same code (10 s
    at 20/s); of 600 it is the sixth slowest."""
    return max(seconds, min_requests / rate) if min_requests else seconds


def enough_waiting(rate: float, seconds: float) -> int:
    """Tickets a paced call-next step may take. Its count is Poisson, and a short step's count
    spreads wide: at 10/s for 1 s, 1.3 × the mean (13) ran dry one step in seventy; mean +
    5.3 standard deviations (27) runs dry about one in half a million."""
    mean = rate * seconds
    return math.ceil(max(1.3 * mean, mean + 5.3 * math.sqrt(mean)))


def split_evenly(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _waiting(cluster: Cluster, hall: BenchHall) -> int:
    status, body = api(cluster.ports[0], "GET", "/api/v1/queue", token=hall.displays[0])
    if status != 200:
        raise RuntimeError(f"GET /queue: {status} {body}")
    return body["waiting"]["total"]


def run(database_url: str | None, processes: int, tickets: int, clients: int, mode: str, *,
        rates: tuple[int, ...] = RATES, seconds: float = 10.0, min_requests: int = 0, redis_url: str = REDIS_URL,
        client_procs: int | None = None, log=lambda line: None) -> dict:
    """One deployment (SQLite: `database_url` None; else a fresh database on that PostgreSQL
    server) measured in one mode. Returns the figures as a dict (see `tables`)."""
    if mode not in ("closed", "paced"):
        raise ValueError("mode is closed or paced")
    client_procs = client_procs or max(1, min(2, clients))
    result = {"database": "PostgreSQL" if database_url else "SQLite", "processes": processes,
              "mode": mode, "clients": clients, "rows": []}
    with tempfile.TemporaryDirectory(prefix="hall-http-bench-") as tmp:
        hall = write_bench_hall(Path(tmp) / "hall.toml", windows=max(clients, 1), kiosks=max(clients, 10))
        with deployment(hall.path, processes, postgres=database_url, redis_url=redis_url,
                        data_dir=Path(tmp) / "run") as cluster:
            catalogue = api(cluster.ports[0], "GET", "/api/v1/matters")[1]
            matters = [m["id"] for m in catalogue["matters"]]
            window_ids = {w["number"]: w["id"] for w in catalogue["windows"]}
            tokens = _logins(cluster, hall, clients)
            job = {"mode": mode, "matters": matters, "seconds": seconds}

            def measure(op: str, name: str, specs: list[dict], job: dict, seconds: float | None = None,
                        **extra) -> dict:
                cluster.mark()
                row = {"op": op, "name": name, **extra, **summary(load(specs, job, client_procs), seconds),
                       **cluster.usage()}
                cluster.check_alive()
                result["rows"].append(row)
                log(f"  {result['database']} ×{processes} {mode} {name}: {_brief(row)}")
                return row

            if mode == "closed":
                measure("issue", f"issue ticket ({clients} kiosk clients)",
                        _specs(cluster, hall, "issue", clients, window_ids, tokens, counts=split_evenly(tickets, clients)),
                        job)
                waiting_before = _waiting(cluster, hall)
                row = measure("call-next", f"call-next ({clients} windows, each call then a skip)",
                              _specs(cluster, hall, "call", clients, window_ids, tokens), job)
                row["called_all"] = row["requests"] == waiting_before and _waiting(cluster, hall) == 0
            else:
                # Each rate: issue, then call-next, so the calls take away what the kiosks added
                # and the waiting queue stays the size of one step, not of the whole ladder.
                going = {"issue": True, "call-next": True}
                for rate in rates:
                    step = step_seconds(rate, seconds, min_requests)
                    paced = dict(job, seconds=step)
                    if going["issue"]:
                        row = measure("issue", f"issue at {rate}/s", _specs(cluster, hall, "issue", clients,
                                                                            window_ids, tokens, rate=rate),
                                      paced, step, rate=rate)
                        going["issue"] = not _saturated(row)
                    if going["call-next"]:
                        need = enough_waiting(rate, step) + clients - _waiting(cluster, hall)
                        if need > 0:    # enough waiting tickets for this step, issued untimed
                            issuers = min(clients, 20)
                            load(_specs(cluster, hall, "issue", issuers, window_ids, tokens,
                                        counts=split_evenly(need, issuers)), dict(job, mode="closed"), client_procs)
                        row = measure("call-next", f"call-next at {rate}/s (each then a skip)",
                                      _specs(cluster, hall, "call", clients, window_ids, tokens, rate=rate),
                                      paced, step, rate=rate)
                        going["call-next"] = not _saturated(row)
                    if not any(going.values()):
                        break
                for op in ("issue", "call-next"):
                    ok = [r["rate"] for r in result["rows"] if r["op"] == op and passes(r)]
                    result[f"best_{op}"] = max(ok) if ok else None
    return result


def _saturated(row: dict) -> bool:
    """Far past what the servers can do (under half the asked rate): higher rates only take longer."""
    return row["per_s"] < 0.5 * row["asked_per_s"]


def passes(row: dict) -> bool:
    """A paced step meets the latency target: p99 under 20 ms, the rate sustained, no errors."""
    return (row["p99_ms"] is not None and row["p99_ms"] < P99_TARGET_MS and row["errors"] == 0
            and row["per_s"] >= SUSTAINED * row["asked_per_s"])


def _fmt(v, digits=1) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def _brief(row: dict) -> str:
    return (f"{row['requests']} req, {row['per_s']}/s, p50 {_fmt(row['p50_ms'])} ms, p99 {_fmt(row['p99_ms'])} ms, "
            f"errors {row['errors']}, server CPU {row['cpu_s']} s, answers {row['statuses']}")


def _deploy(r: dict) -> str:
    return f"{r['database']}, {r['processes']} process{'es' if r['processes'] > 1 else ''}"


def tables(results: list[dict]) -> str:
    """Markdown: one table for the closed runs, one for the paced runs."""
    closed = [r for r in results if r["mode"] == "closed"]
    paced = [r for r in results if r["mode"] == "paced"]
    out = []
    if closed:
        out += ["| deployment | operation | requests | per second | p50 ms | p99 ms | max ms | errors | server CPU s | peak RSS MiB |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for r in closed:
            for row in r["rows"]:
                out.append(f"| {_deploy(r)} | {row['name']} | {row['requests']} | {_fmt(row['per_s'], 0)} | "
                           f"{_fmt(row['p50_ms'])} | {_fmt(row['p99_ms'])} | {_fmt(row['max_ms'])} | "
                           f"{row['errors']} | {row['cpu_s']} | {' + '.join(str(m) for m in row['peak_rss_mb'])} |")
        out.append("")
    if paced:
        out += ["| deployment | operation | rate /s | done /s | p50 ms | p99 ms | max ms | client lateness p99 ms | errors | p99 < 20 ms |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for r in paced:
            for row in r["rows"]:
                out.append(f"| {_deploy(r)} | {row['op']} | {row['rate']} | {_fmt(row['per_s'], 0)} | "
                           f"{_fmt(row['p50_ms'])} | {_fmt(row['p99_ms'])} | {_fmt(row['max_ms'])} | "
                           f"{_fmt(row['late_p99_ms'])} | {row['errors']} | {'yes' if passes(row) else 'no'} |")
        out.append("")
        out += ["| deployment | highest tested issue rate with p99 < 20 ms | highest tested call-next rate with p99 < 20 ms |",
                "| --- | ---: | ---: |"]
        for r in paced:
            out.append(f"| {_deploy(r)}, {r['clients']} clients | {_fmt(r.get('best_issue'), 0)}/s | "
                       f"{_fmt(r.get('best_call-next'), 0)}/s |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database-url", help="a PostgreSQL server (a fresh database is made on it); "
                                               f"e.g. {PG_SERVER}; default: SQLite")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--mode", choices=("closed", "paced", "both"), default="closed")
    parser.add_argument("--rates", default=",".join(map(str, RATES)))
    parser.add_argument("--seconds", type=float, default=10.0, help="per paced step")
    parser.add_argument("--min-requests", type=int, default=600,
                        help="a paced step lasts long enough for this many requests at its rate")
    parser.add_argument("--client-procs", type=int)
    args = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    results = []
    for mode in (("closed", "paced") if args.mode == "both" else (args.mode,)):
        results.append(run(args.database_url, args.processes, args.tickets, args.clients, mode,
                           rates=tuple(int(x) for x in args.rates.split(",")), seconds=args.seconds,
                           min_requests=args.min_requests,
                           client_procs=args.client_procs, log=lambda line: print(line, file=sys.stderr)))
    print(tables(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
