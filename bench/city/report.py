"""The day as markdown tables: the citizens' side (waits, service, windows) and the cost side
(wall time, requests, CPU and memory of every process, PostgreSQL), plus the growth table."""
from __future__ import annotations

import os
import platform
from collections import defaultdict

from .arrivals import CLOSE, OPEN, clock
from .halls import TIER_NAMES
from .matters import SKIP_SECONDS, WALK_SECONDS
from .simulate import DayResult, disagreements

TIERS = ("city", "county", "township")
MINUTE = 60.0


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def _m(seconds: float) -> str:
    return f"{seconds / MINUTE:.1f}"


def _mb(kb: float) -> str:
    return f"{kb / 1024:,.0f}"


def table(head: list[str], rows: list[list[str]], right_from: int = 1) -> str:
    align = ["---" if i < right_from else "---:" for i in range(len(head))]
    return "\n".join(["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
                     + ["| " + " | ".join(r) + " |" for r in rows])


def check_lines(r: DayResult) -> list[str]:
    """The correctness facts, each with ✓ or ✗."""
    served = sum(t.outcome == "done" for t in r.tickets.values())
    skipped = sum(t.outcome == "skipped" for t in r.tickets.values())
    waiting = sum(t.called_at is None for t in r.tickets.values())
    stuck = len(r.tickets) - served - skipped - waiting
    db = r.check["statuses"]
    db_total = sum(db.values())
    ok_sum = (stuck == 0 and db_total == len(r.tickets) and set(db) <= {"done", "skipped", "waiting"}
              and r.check["windows_holding_ticket"] == 0)
    wrong = disagreements(r.tickets, r.check["tickets"])
    ok_db = wrong == 0
    ok_once = not r.double_calls and r.check["called_twice"] == 0
    mark = lambda ok: "✓" if ok else "✗"  # noqa: E731
    return [
        f"- {mark(ok_sum)} every issued ticket is served, skipped or still waiting: {served:,} + {skipped:,} + "
        f"{waiting:,} = {len(r.tickets):,} issued (database: {db_total:,} tickets, by status {dict(sorted(db.items()))})",
        f"- {mark(ok_db)} the database agrees with the simulator ticket by ticket (status and window): "
        f"{wrong} differ; {r.check['finished_cases']:,} finished cases; "
        f"{r.check['windows_holding_ticket']} windows holding a ticket at the end",
        f"- {mark(ok_once)} no ticket called twice: {len(r.double_calls)} in the call-next answers, "
        f"{r.check['called_twice']} in the event log",
    ]


def correct(r: DayResult) -> bool:
    return all(line.startswith("- ✓") for line in check_lines(r))


def day_tables(r: DayResult) -> str:
    tier_of = [p.tier for p in r.plans]
    windows = defaultdict(int)
    halls = defaultdict(int)
    for p in r.plans:
        windows[p.tier] += p.windows
        halls[p.tier] += 1
    busy = defaultdict(float)
    for d in r.desks:
        busy[tier_of[d.hall]] += d.busy
    groups: dict[str, list] = defaultdict(list)
    for t in r.tickets.values():
        groups[tier_of[t.arrival.hall]].append(t)
    rows = []
    for tier in [t for t in TIERS if groups.get(t)] + ["all"]:
        ts = [t for k in TIERS for t in groups.get(k, [])] if tier == "all" else groups[tier]
        w = sum(windows.values()) if tier == "all" else windows[tier]
        h = len(r.plans) if tier == "all" else halls[tier]
        b = sum(busy.values()) if tier == "all" else busy[tier]
        waits = [t.called_at - t.issued_at for t in ts if t.called_at is not None]
        left = [t for t in ts if t.called_at is None]
        long = sum(x > 30 * MINUTE for x in waits) + sum(CLOSE - t.issued_at > 30 * MINUTE for t in left)
        service = [t.arrival.service for t in ts if t.outcome == "done"]
        offered = sum(SKIP_SECONDS if t.arrival.no_show else WALK_SECONDS + t.arrival.service for t in ts)
        name = "全市 all" if tier == "all" else TIER_NAMES[tier]
        rows.append([name, str(h), str(w), f"{len(ts):,}", f"{sum(t.outcome == 'done' for t in ts):,}",
                     f"{sum(t.outcome == 'skipped' for t in ts):,}", f"{len(left):,}",
                     _m(pct(waits, 50)), _m(pct(waits, 90)), _m(pct(waits, 99)), _m(max(waits, default=0)),
                     f"{100 * long / max(len(ts), 1):.1f} %", _m(pct(service, 50)), _m(pct(service, 90)),
                     f"{100 * offered / (w * (CLOSE - OPEN)):.0f} %", f"{100 * b / (w * (CLOSE - OPEN)):.0f} %"])
    out = [table(["tier", "halls", "windows", "issued", "served", "no-show (skipped)", "waiting at close",
                  "wait p50 min", "p90", "p99", "max", "waited > 30 min", "service p50 min", "p90",
                  "offered load", "window busy"], rows, right_from=1)]
    out.append("\nwait = sim time of the call that returned the ticket − its issue (one tick's precision); "
               "“waited > 30 min” counts tickets still waiting at close that had waited that long; "
               "offered load = the drawn hold times (walk + service, or the no-show's wait) ÷ window-hours "
               "open; window busy = call to finish/skip ÷ window-hours open (calls stop at 17:30, "
               "called citizens are still served).")
    # The day hour by hour.
    hours = defaultdict(lambda: {"issued": 0, "called": 0, "waits": []})
    for t in r.tickets.values():
        hours[int(t.issued_at // 3600)]["issued"] += 1
        if t.called_at is not None:
            hours[int(t.called_at // 3600)]["called"] += 1
            hours[int(t.issued_at // 3600)]["waits"].append(t.called_at - t.issued_at)
    rows = []
    for hour in sorted(hours):
        end = min((hour + 1) * 3600, CLOSE)
        queue = sum(1 for t in r.tickets.values() if t.issued_at < end and (t.called_at is None or t.called_at >= end))
        hw = hours[hour]["waits"]
        rows.append([f"{clock(max(hour * 3600, OPEN))}–{clock(end)}", f"{hours[hour]['issued']:,}",
                     f"{hours[hour]['called']:,}", _m(pct(hw, 50)), _m(pct(hw, 90)), f"{queue:,}"])
    out.append("\nHour by hour (all halls):\n")
    out.append(table(["hour", "issued", "called", "wait p50 min (issued this hour)", "p90",
                      "waiting at the hour's end"], rows))
    return "\n".join(out)


def cost_tables(r: DayResult) -> str:
    issued = max(len(r.tickets), 1)
    ops = [op for op in ("issue", "call-next", "accept", "finish", "recall", "skip") if op in r.latency]
    rows = []
    for op in ops:
        ms = [x * 1000 for x in r.latency[op]]
        statuses = ", ".join(f"{s}×{n:,}" for (o, s), n in sorted(r.statuses.items()) if o == op)
        rows.append([op, f"{len(ms):,}", statuses, f"{pct(ms, 50):.1f}", f"{pct(ms, 99):.1f}", f"{max(ms):.1f}"])
    out = [f"Day: {r.wall['day']:,.0f} s wall for {r.requests:,} requests = **{r.requests / r.wall['day']:,.0f} req/s**; "
           f"start-up {r.wall['start']:,.1f} s (migrations, {len(r.plans)} halls' config sync), "
           f"catalogue and {len(r.desks)} clerk logins {r.wall['setup']:,.1f} s.\n",
           table(["request", "count", "answers", "p50 ms", "p99 ms", "max ms"], rows), ""]
    rows = []
    for i, s in enumerate(r.servers):
        rows.append([f"hall serve #{i + 1} (pid {s['pid']})", f"{s['cpu_start']:.1f}", f"{s['cpu_setup']:.1f}",
                     f"{s['cpu_day']:.1f}", f"{1000 * s['cpu_day'] / issued:.1f}", _mb(s["rss_start_kb"]),
                     _mb(s["peak_setup_kb"]), _mb(s["peak_kb"]), _mb(s["rss_kb"])])
    day_cpu = sum(s["cpu_day"] for s in r.servers)
    rows.append(["servers, total", f"{sum(s['cpu_start'] for s in r.servers):.1f}",
                 f"{sum(s['cpu_setup'] for s in r.servers):.1f}", f"{day_cpu:.1f}",
                 f"{1000 * day_cpu / issued:.1f}", _mb(sum(s["rss_start_kb"] for s in r.servers)),
                 _mb(sum(s["peak_setup_kb"] for s in r.servers)), _mb(sum(s["peak_kb"] for s in r.servers)),
                 _mb(sum(s["rss_kb"] for s in r.servers))])
    pg = r.postgres
    rows.append(["PostgreSQL backends of this run", "", "", f"{pg['backends_day']:.1f}",
                 f"{1000 * pg['backends_day'] / issued:.1f}", "", "", "", ""])
    rows.append(["all PostgreSQL processes (Δ, includes others' use)", "", "", f"{pg['all_day']:.1f}",
                 f"{1000 * pg['all_day'] / issued:.1f}", "", "", "", ""])
    rows.append(["the simulator (client)", "", "", f"{r.client_cpu:.1f}", f"{1000 * r.client_cpu / issued:.1f}",
                 "", "", "", ""])
    out.append(table(["process", "CPU s start-up", "CPU s logins", "CPU s day", "CPU ms / ticket",
                      "RSS MiB after start", "peak RSS MiB logins", "peak RSS MiB day", "RSS MiB end"], rows))
    out.append(f"\nDatabase after the day: {pg['db_bytes'] / 2**20:,.1f} MiB (tables, indexes, TOAST). "
               "Peak RSS of the logins is the password check's memory (Argon2id: 19 MiB) per concurrent check; the day's peak "
               "is measured from a reset after them (/proc/PID/clear_refs).")
    return "\n".join(out)


def headline(r: DayResult, tickets: int, clients: int, seed: int) -> str:
    tiers = defaultdict(int)
    for p in r.plans:
        tiers[p.tier] += 1
    mix = ", ".join(f"{tiers[t]} {TIER_NAMES[t]}" for t in TIERS if tiers[t])
    return (f"{len(r.plans)} halls ({mix}), {sum(p.windows for p in r.plans)} windows, {tickets:,} tickets "
            f"08:30–17:30; {r.processes} `hall serve` process(es) on one PostgreSQL + Redis; tick "
            f"{r.tick:g} s of sim time; {clients} client threads; seed {seed}; {os.cpu_count()} cores, "
            f"Python {platform.python_version()}.")


def growth_table(rows: list[tuple[int, DayResult]]) -> str:
    out = []
    for halls, r in rows:
        issued = max(len(r.tickets), 1)
        cpu = sum(s["cpu_day"] for s in r.servers)
        out.append([str(halls), str(sum(p.windows for p in r.plans)), f"{len(r.tickets):,}",
                    f"{r.wall['start']:.1f}", f"{sum(s['cpu_start'] for s in r.servers):.1f}",
                    f"{r.wall['day']:.0f}", f"{r.requests / r.wall['day']:,.0f}", f"{cpu:.1f}",
                    f"{1000 * cpu / issued:.1f}", f"{1000 * r.postgres['backends_day'] / issued:.1f}",
                    _mb(max(s["rss_start_kb"] for s in r.servers)), _mb(max(s["peak_kb"] for s in r.servers)),
                    f"{r.postgres['db_bytes'] / 2**20:,.1f}", "✓" if correct(r) else "✗"])
    return table(["halls", "windows", "tickets", "start-up s", "start-up CPU s", "day wall s", "req/s",
                  "server CPU s (day)", "server CPU ms / ticket", "PostgreSQL CPU ms / ticket",
                  "RSS MiB after start (per process)", "peak RSS MiB day (per process)", "DB MiB", "checks"], out)
