"""A simulated city day (issue 7): 50 halls, 600 windows, 100,000 tickets on a daily curve.

    python bench/city_day.py [--halls 50] [--tickets 100000] [--processes 2] [--tick 10]
                             [--clients 16] [--growth/--no-growth] [--growth-tickets 10000] [--quick]

Generates the city's hall configs (1 city centre, county centres, township 便民服务中心; see
bench/city/halls.py), starts `--processes` real `hall serve` processes on a fresh PostgreSQL
database and Redis channel, and drives them over HTTP through the whole day in compressed
simulated time (bench/city/simulate.py). Prints markdown: the waits and service the day
produced, per tier; what it cost (wall time, requests, CPU and memory of every server process
and of PostgreSQL); the database's own count of the day (every ticket served, skipped or
waiting, none called twice); and, with --growth, the same per-hall load on 5, 10, 25 and 50
halls, to show how the cost grows with halls. `run(...)` returns the same markdown.

PostgreSQL and Redis: HALL_BENCH_PG_URL / HALL_BENCH_REDIS_URL (else the local ones), as for
every bench (bench/servers.py). Progress goes to stderr (--quiet: none).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.city.halls import layout  # noqa: E402
from bench.city.report import cost_tables, day_tables, growth_table, headline, check_lines  # noqa: E402
from bench.city.processes import PG_SERVER  # noqa: E402
from bench.city.simulate import run_day  # noqa: E402

GROWTH_HALLS = (5, 10, 25, 50)
QUICK_SIZES = {"city": 16, "county": 14, "township": 6}   # --quick: small centres, few clerk logins


def growth_tickets(halls: int, tickets_at_50: int, sizes: dict[str, int] | None = None) -> int:
    """The same load per window as `tickets_at_50` gives the 50-hall city."""
    full = sum(p.windows for p in layout(50, sizes))
    return max(1, round(tickets_at_50 * sum(p.windows for p in layout(halls, sizes)) / full))


def run(halls: int = 50, tickets: int = 100_000, processes: int = 2, growth: bool = True, tick: float = 10.0,
        clients: int = 16, seed: int = 7, growth_tickets_at_50: int = 10_000,
        growth_halls: tuple[int, ...] = GROWTH_HALLS, service_scale: float = 1.0, *, quick: bool = False,
        database_url: str = PG_SERVER, log=None) -> str:
    """The markdown report. `database_url`: the PostgreSQL server each run makes its fresh database
    on. `quick`: tiny sizes (3 small halls, 300 tickets, growth on 1, 2 and 3) to check it works."""
    sizes = None
    if quick:
        halls, tickets, growth_halls, growth_tickets_at_50, sizes = 3, 300, (1, 2, 3), 2_000, QUICK_SIZES
    say = log or (lambda message: None)
    began = time.monotonic()
    say(f"city day: {halls} halls, {tickets:,} tickets, {processes} processes")
    result = run_day(halls, tickets, processes, tick, clients, seed, service_scale, pg_server=database_url, log=say,
                     sizes=sizes)
    command = ("--quick" if quick else f"--halls {halls} --tickets {tickets}") + \
        f" --processes {processes} --tick {tick:g} --clients {clients}" + ("" if growth else " --no-growth")
    parts = [f"    python bench/city_day.py {command}\n",
             headline(result, tickets, clients, seed) + "\n",
             "#### The day for citizens\n", day_tables(result) + "\n",
             "#### What it cost\n", cost_tables(result) + "\n",
             "#### Checked against the database\n", "\n".join(check_lines(result)) + "\n"]
    if growth:
        rows = []
        for n in growth_halls:
            count = growth_tickets(n, growth_tickets_at_50, sizes)
            say(f"city day, growth row: {n} halls, {count:,} tickets")
            rows.append((n, run_day(n, count, processes, tick, clients, seed, service_scale,
                                    pg_server=database_url, log=say, sizes=sizes)))
        parts += [f"#### How cost grows with halls (same load per window as {growth_tickets_at_50:,} tickets "
                  f"on the 50-hall city, {processes} processes)\n", growth_table(rows) + "\n",
                  "CPU ms per ticket is the servers' CPU during the day ÷ tickets issued; PostgreSQL's is its "
                  "backends for this run. Start-up is the processes' migration and config sync of every hall, "
                  "each process loading all halls.\n"]
    parts.append(f"Bench wall time, all runs: {time.monotonic() - began:,.0f} s.")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--halls", type=int, default=50)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2, help="hall serve processes")
    parser.add_argument("--tick", type=float, default=10.0, help="simulated seconds per tick")
    parser.add_argument("--clients", type=int, default=16, help="client threads")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--growth", action=argparse.BooleanOptionalAction, default=True,
                        help="also the 5/10/25/50-hall rows at the same load per window")
    parser.add_argument("--growth-tickets", type=int, default=10_000, help="tickets of the 50-hall growth row")
    parser.add_argument("--service-scale", type=float, default=1.0, help="multiply every service time")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: does it work")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    log = None if args.quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    print(run(args.halls, args.tickets, args.processes, args.growth, args.tick, args.clients, args.seed,
              args.growth_tickets, GROWTH_HALLS, args.service_scale, quick=args.quick, log=log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
