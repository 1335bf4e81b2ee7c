"""The whole benchmark suite in one command; writes its tables into bench/README.md.

    python bench/run_all.py [--peer-url http://127.0.0.1:5050] [--quick] [--readme PATH]

Runs: issue and call-next over HTTP (SQLite one process; PostgreSQL + Redis with 1, 2 and 4
processes), closed loop and paced; websocket fan-out (500 screens, 20 calls/s) on the same
deployments; the simulated city day (bench/city_day.py) when that module is there; and FQM
side by side (bench/peer_fqm.py) when `--peer-url` is given, else it says plainly that FQM was
not measured. Then it rewrites only the generated block of bench/README.md between
`<!-- bench:run_all:begin -->` and `<!-- bench:run_all:end -->`, and says of each target of
issue 7 whether the measured numbers meet it.

`--quick` is a smoke run on tiny sizes (minutes, SQLite and PostgreSQL × 2 only): its
figures mean nothing, so it writes bench/_out/run_all-quick.md instead of the README.
A piece that fails is reported in the block with its error; the rest still runs.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import platform
import re
import shlex
import subprocess
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import fanout, http_bench  # noqa: E402
from bench.servers import PG_SERVER, REDIS_URL, exit_cleanly_on_sigterm  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- bench:run_all:begin -->", "<!-- bench:run_all:end -->"
P99_MS = http_bench.P99_TARGET_MS
PEER_FACTOR = 10
TARGET_CLIENTS = 100

FULL = dict(deployments=[None, 1, 2, 4], tickets=5000, clients=100, rates=http_bench.RATES, seconds=10.0, min_requests=600,
            fanout_deployments=[None, 1, 2, 4], fanout_clients=500, fanout_rate=20.0, fanout_seconds=30.0,
            fanout_windows=20, fanout_client_procs=4, peer_tickets=2000)
QUICK = dict(deployments=[None, 2], tickets=60, clients=10, rates=(20, 40), seconds=1.0, min_requests=0,
             fanout_deployments=[None, 2], fanout_clients=20, fanout_rate=10.0, fanout_seconds=2.0,
             fanout_windows=5, fanout_client_procs=2, peer_tickets=60)


# --- where and on what ------------------------------------------------------------------------

def _sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(postgres: str, redis_url: str) -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    out = {"cores": os.cpu_count(), "cpu": model.group(1).strip() if model else "unknown",
           "ram_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
           "python": platform.python_version(), "os": platform.platform(terse=True),
           "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
           "commit": _sh("git", "rev-parse", "--short", "HEAD") or "unknown",
           "dirty": bool(_sh("git", "status", "--porcelain", "--untracked-files=no"))}
    try:
        import psycopg
        from sqlalchemy.engine import make_url
        u = make_url(postgres)
        with psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                             dbname=u.database or "postgres", connect_timeout=5) as conn:
            out["postgresql"] = (conn.execute("SHOW server_version").fetchone()[0] + ", max_connections "
                                 + conn.execute("SHOW max_connections").fetchone()[0])
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        out["postgresql"] = f"not reachable ({type(exc).__name__})"
    try:
        import redis
        out["redis"] = redis.Redis.from_url(redis_url, socket_timeout=3).info("server")["redis_version"]
    except Exception as exc:  # noqa: BLE001
        out["redis"] = f"not reachable ({type(exc).__name__})"
    return out


# --- the pieces -------------------------------------------------------------------------------

def _label(processes: int | None) -> str:
    return "SQLite, 1 process" if processes is None else f"PostgreSQL, {processes} process{'es' if processes > 1 else ''}"


def _attempt(failures: list[str], what: str, fn, log):
    """Run one piece; a failure is kept for the report (with its reason) and the suite goes on."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - any failure is reported in the README block
        log(f"FAILED {what}: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
        failures.append(f"{what}: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
        return None


def http_results(size: dict, postgres: str, redis_url: str, failures: list[str], log) -> list[dict]:
    out = []
    for processes in size["deployments"]:
        for mode in ("closed", "paced"):
            log(f"http {_label(processes)} {mode}")
            r = _attempt(failures, f"HTTP bench, {_label(processes)}, {mode}",
                         lambda: http_bench.run(postgres if processes else None, processes or 1, size["tickets"],
                                                size["clients"], mode, rates=size["rates"], seconds=size["seconds"],
                                                min_requests=size["min_requests"],
                                                redis_url=redis_url, log=log), log)
            if r is not None:
                out.append(r)
    return out


def fanout_results(size: dict, postgres: str, redis_url: str, failures: list[str], log) -> list[dict]:
    out = []
    for processes in size["fanout_deployments"]:
        log(f"fan-out {_label(processes)}")
        r = _attempt(failures, f"fan-out, {_label(processes)}",
                     lambda: fanout.run(postgres if processes else None, processes or 1, size["fanout_clients"],
                                        size["fanout_rate"], size["fanout_seconds"], windows=size["fanout_windows"],
                                        client_procs=size["fanout_client_procs"], redis_url=redis_url, log=log), log)
        if r is not None:
            out.append(r)
    return out


def city_day(quick: bool, postgres: str, failures: list[str], log, **sizes) -> str:
    if importlib.util.find_spec("bench.city_day") is None:
        return "bench/city_day.py is not there yet: the city day was not measured in this run.\n"
    module = importlib.import_module("bench.city_day")
    params = inspect.signature(module.run).parameters
    given = {"quick": quick, "database_url": postgres, "log": log, **sizes}
    kwargs = {k: v for k, v in given.items() if k in params}
    log("city day")
    text = _attempt(failures, "city day", lambda: module.run(**kwargs), log)
    return text if isinstance(text, str) else "The city day failed in this run (see the failures above).\n"


def peer(peer_url: str | None, size: dict, failures: list[str], log) -> dict | None:
    if not peer_url:
        return None
    from bench import peer_fqm
    log(f"peer FQM at {peer_url}")
    r = _attempt(failures, f"FQM at {peer_url}",
                 lambda: peer_fqm.run(peer_url, size["peer_tickets"], size["clients"]), log)
    if r is None:
        return None
    rows = {row["op"]: row for row in r["rows"]}

    def part(op: str) -> dict:
        row = rows.get(op) or {}
        return {k: row.get(k) for k in ("requests", "per_s", "p50_ms", "p99_ms")}
    return {"url": peer_url, "clients": r["clients"], "windows": r["clients"], "offices": r["offices"],
            "failures": sum(row["errors"] for row in r["rows"]), "issue": part("issue"),
            "call": part("call-next"), "check": r["check"]}


# --- the verdicts -----------------------------------------------------------------------------

def _deploy(r: dict) -> str:
    return _label(None if r["database"] == "SQLite" else r["processes"])


def _closed_row(r: dict, op: str) -> dict | None:
    return next((row for row in r["rows"] if row["op"] == op), None)


def targets(http: list[dict], fan: list[dict], peer_result: dict | None, peer_url: str | None = None) -> list[str]:
    """One line per target of issue 7: met / NOT met / not judged, and the numbers behind it."""
    lines = []
    closed = [r for r in http if r["mode"] == "closed"]
    paced = [r for r in http if r["mode"] == "paced" and r["clients"] >= TARGET_CLIENTS]
    best_issue = max(((row["per_s"], _deploy(r)) for r in closed if (row := _closed_row(r, "issue"))), default=None)

    if peer_result is None and peer_url:
        lines.append(f"- Ticket throughput ≥ {PEER_FACTOR}× FQM's: **not judged** — FQM at {peer_url} was given "
                     "but its run failed (see the failures).")
    elif peer_result is None:
        lines.append(f"- Ticket throughput ≥ {PEER_FACTOR}× FQM's: **not judged** — no peer URL given: FQM was "
                     "not measured in this run.")
    elif best_issue is None or not peer_result["issue"]["per_s"]:
        lines.append(f"- Ticket throughput ≥ {PEER_FACTOR}× FQM's: **not judged** — a throughput is missing "
                     "(see the failures).")
    else:
        factor = best_issue[0] / peer_result["issue"]["per_s"]
        verdict = "met" if factor >= PEER_FACTOR else "NOT met"
        lines.append(f"- Ticket throughput ≥ {PEER_FACTOR}× FQM's: **{verdict}** — {best_issue[0]:,.0f}/s "
                     f"({best_issue[1]}) vs FQM {peer_result['issue']['per_s']:,.0f}/s: {factor:.1f}×.")

    for op, word in (("issue", "issue"), ("call-next", "call-next")):
        if not paced:
            lines.append(f"- {word} p99 < {P99_MS:g} ms at {TARGET_CLIENTS} concurrent clients: **not judged** — "
                         f"no paced run with {TARGET_CLIENTS} clients.")
        else:
            best = max(((r.get(f"best_{op}") or 0, _deploy(r)) for r in paced), default=(0, ""))
            rates = sorted({row["rate"] for r in paced for row in r["rows"] if row["op"] == op})
            if best[0]:
                per = "; ".join(f"{_deploy(r)} {r.get(f'best_{op}') or 'none'}" for r in paced)
                need = ""
                if peer_result and peer_result["issue"]["per_s"]:
                    at = PEER_FACTOR * peer_result["issue"]["per_s"]
                    need = (f"; at {PEER_FACTOR}× FQM's ticket throughput ({at:,.0f}/s): "
                            f"**{'met' if best[0] >= at else 'NOT met'}**")
                lines.append(f"- {word} p99 < {P99_MS:g} ms with {TARGET_CLIENTS} connected clients at a paced load: "
                             f"**met** up to {best[0]}/s ({best[1]}) — highest passing tested rate per deployment: "
                             f"{per}{need}.")
            else:
                lines.append(f"- {word} p99 < {P99_MS:g} ms with {TARGET_CLIENTS} connected clients at a paced load: "
                             f"**NOT met** at any tested rate ({', '.join(f'{r}/s' for r in rates)}).")
        loaded = [(row["p99_ms"], _deploy(r)) for r in closed if r["clients"] >= TARGET_CLIENTS
                  and (row := _closed_row(r, op)) and row["p99_ms"] is not None]
        if loaded:
            best_p99 = min(loaded)
            verdict = "met" if best_p99[0] < P99_MS else "NOT met"
            lines.append(f"  - with all {TARGET_CLIENTS} clients sending back-to-back (closed loop, the servers "
                         f"saturated): **{verdict}** — best p99 {best_p99[0]:.1f} ms ({best_p99[1]}).")

    if not fan:
        lines.append("- Websocket fan-out, 0 messages lost: **not judged** — no fan-out run finished.")
    for r in fan:
        achieved = r.get("calls_per_s") or 0.0
        kept_up = achieved >= 0.9 * r["rate"]
        verdict = ("met" if r["lost"] == 0 and r["connected"] == r["clients"] and r["expected"] > 0 and kept_up
                   else "NOT met")
        lines.append(f"- Fan-out, {r['clients']} clients, {r['rate']:g} calls/s, {_deploy(r)}: 0 lost **{verdict}** — "
                     f"{r['delivered']:,} of {r['expected']:,} delivered, {r['lost']} lost, "
                     f"{r['connected']}/{r['clients']} connected, {achieved:.1f} calls/s made"
                     f"{'' if kept_up else ' (the servers did not keep up with the asked rate)'}; "
                     f"delivery p50 {fanout._fmt(r['p50_ms'])} ms, p99 {fanout._fmt(r['p99_ms'])} ms.")
    return lines


# --- the block --------------------------------------------------------------------------------

def block(command: str, started: datetime, minutes: float, m: dict, http: list[dict], fan: list[dict],
          city: str, peer_result: dict | None, peer_url: str | None, failures: list[str], quick: bool,
          peer_pending: bool = False) -> str:
    size = QUICK if quick else FULL
    out = [BEGIN, "",
           "_Generated by `bench/run_all.py`: do not edit by hand, re-run it._" + (" **QUICK SMOKE RUN: tiny sizes, "
                                                                                 "the figures mean nothing.**" if quick else ""),
           "",
           f"- command: `{command}`",
           f"- date: {started:%Y-%m-%d %H:%M} (local), {minutes:.1f} minutes",
           f"- commit: {m['commit']}{' with uncommitted changes' if m['dirty'] else ''}",
           f"- machine: {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['os']}, load average "
           f"at the start {m['load']}; Python {m['python']}, PostgreSQL {m['postgresql']}, Redis {m['redis']}",
           "- servers and clients share this machine; server CPU is user+system seconds of all `hall serve` "
           "processes during the measured phase; peak RSS is each process's VmHWM.",
           "", "### Targets (issue 7)", "", *targets(http, fan, peer_result, peer_url), ""]
    if failures:
        out += ["### Failures in this run", "", *[f"- {f}" for f in failures], ""]
    out += ["### Issue and call-next over HTTP, closed loop (maximum throughput)", "",
            f"{size['clients']} clients, each sending its next request as soon as the last is answered: "
            f"{size['tickets']} tickets issued by kiosk clients, then {size['clients']} windows' clerks call next "
            "and skip until the queue is empty.", "",
            http_bench.tables([r for r in http if r["mode"] == "closed"]) or "(no closed-loop run finished)\n",
            "### Issue and call-next over HTTP, paced (latency at a stated load)", "",
            f"{size['clients']} connected clients sending at a fixed total rate with Poisson gaps, "
            f"{size['seconds']:g} s per rate" + (f", longer where the rate needs it for {size['min_requests']} requests"
                                                 if size["min_requests"] else "")
            + "; latency from the request's send. \"client lateness\" is how late "
            "the client sent behind its schedule (a busy machine or a slow previous answer).", "",
            http_bench.tables([r for r in http if r["mode"] == "paced"]) or "(no paced run finished)\n",
            "### Websocket fan-out", "",
            f"{size['fanout_clients']} Socket.IO screens (displays, LED strips, rating devices) on /hall spread over "
            f"the server processes, in {size['fanout_client_procs']} client processes; {size['fanout_rate']:g} "
            f"call-next per second for {size['fanout_seconds']:g} s over {size['fanout_windows']} windows, each "
            "followed by a skip (two events per call). Latency: arrival at the screen minus the start of the "
            "request that caused the event.", "",
            fanout.table(fan) if fan else "(no fan-out run finished)\n",
            "### Simulated city day", "", city.rstrip() + "\n",
            "### FQM side by side", ""]
    if peer_pending:
        out.append("Not measured yet: the run had not got this far.\n")
    elif peer_result is None and not peer_url:
        out.append("No peer URL given: FQM was not measured in this run (pass `--peer-url http://HOST:PORT` "
                   "with FQM started by hand).\n")
    elif peer_result is None:
        out.append(f"FQM at {peer_url} could not be measured (see the failures above).\n")
    else:
        p, c = peer_result, peer_result["check"]
        out += [f"FQM at {p['url']}: {p['clients']} kiosk clients, then {p['windows']} windows pulling through "
                f"FQM's REST API, on {p['offices']} FQM offices (its limit: one letter each) "
                f"(bench/peer_fqm.py); failed requests: {p['failures']}. FQM's own ticket list afterwards: "
                f"{c['fqm_tickets']} tickets, {c['fqm_pulled_at_end']} pulled, {c['fqm_waiting_at_end']} waiting; "
                f"faults seen in FQM: {c['fqm_duplicate_numbers']} tickets given a number already given out, "
                f"{c['pulled_twice']} pulls that handed out a ticket another window had already pulled.", "",
                "| system | operation | requests | per second | p50 ms | p99 ms |", "| --- | --- | ---: | ---: | ---: | ---: |"]
        for op, name in (("issue", "issue ticket"), ("call", "call-next / pull")):
            v = p[op]
            out.append(f"| FQM | {name} | {v['requests']} | {v['per_s']:,.0f} | {fanout._fmt(v['p50_ms'])} | "
                       f"{fanout._fmt(v['p99_ms'])} |")
        for r in http:
            if r["mode"] == "closed":
                for row in r["rows"]:
                    out.append(f"| ours, {_deploy(r)} | {row['op']} | {row['requests']} | {row['per_s']:,.0f} | "
                               f"{fanout._fmt(row['p50_ms'])} | {fanout._fmt(row['p99_ms'])} |")
        out.append("")
    out.append(END)
    return "\n".join(out)


def replace_block(readme: str, new_block: str) -> str:
    """The README with only the generated block replaced (appended, with a heading, if missing)."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start != -1 and end != -1 and end > start:
        return readme[:start] + new_block + readme[end + len(END):]
    return readme.rstrip("\n") + "\n\n## The whole suite, last run (bench/run_all.py)\n\n" + new_block + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer-url", help="a running FQM to measure side by side, e.g. http://127.0.0.1:5050")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, a smoke run (writes bench/_out/)")
    ap.add_argument("--readme", help="where to write the block (default bench/README.md, "
                                     "or bench/_out/run_all-quick.md with --quick)")
    ap.add_argument("--postgres", default=PG_SERVER, help="PostgreSQL server; a fresh database per run")
    ap.add_argument("--redis", default=REDIS_URL)
    ap.add_argument("--city-tickets", type=int, default=100_000, help="the simulated city day's tickets")
    ap.add_argument("--city-growth", action=argparse.BooleanOptionalAction, default=True,
                    help="the city day's 5/10/25/50-hall rows (how cost grows with halls)")
    args = ap.parse_args(argv)
    exit_cleanly_on_sigterm()
    size = QUICK if args.quick else FULL
    log = lambda line: print(f"[{datetime.now():%H:%M:%S}] {line}", file=sys.stderr, flush=True)  # noqa: E731
    command = "python bench/run_all.py" + ("".join(f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])))
    started, t0 = datetime.now(), time.time()
    m = machine(args.postgres, args.redis)
    if not args.peer_url:
        log("no peer URL given: FQM will not be measured in this run")
    failures: list[str] = []
    target = Path(args.readme) if args.readme else (ROOT / "bench" / "_out" / "run_all-quick.md" if args.quick else README)
    target.parent.mkdir(parents=True, exist_ok=True)

    def write(http, fan, city, peer_result, peer_url, peer_pending=False) -> str:
        """The block as far as the run has got: a run stopped half-way still leaves its figures."""
        text = block(command, started, (time.time() - t0) / 60, m, http, fan, city, peer_result, peer_url,
                     failures, args.quick, peer_pending)
        target.write_text(replace_block(target.read_text(encoding="utf-8") if target.exists() else "", text),
                          encoding="utf-8")
        return text

    pending = "Not measured yet: the run had not got this far.\n"
    http = http_results(size, args.postgres, args.redis, failures, log)
    fan = fanout_results(size, args.postgres, args.redis, failures, log)
    write(http, fan, pending, None, args.peer_url, peer_pending=bool(args.peer_url))
    peer_result = peer(args.peer_url, size, failures, log)   # before the city day, the longest part
    write(http, fan, pending, peer_result, args.peer_url)
    city = city_day(args.quick, args.postgres, failures, log, tickets=args.city_tickets, growth=args.city_growth)
    text = write(http, fan, city, peer_result, args.peer_url)
    print(text)
    log(f"written: {target}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
