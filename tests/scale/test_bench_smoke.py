"""The benchmark suite's building blocks on tiny sizes, so the bench code cannot rot unnoticed.

Only correctness is asserted (every ticket issued and called, every event delivered, the report
says what it measured); never speed: speed figures live in bench/README.md.
"""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest

from conftest import PG_URL, REDIS_URL, service_missing

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import fanout, http_bench, run_all  # noqa: E402
from bench.servers import postgres_database, redis_channel  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _require_services() -> None:
    try:
        with postgres_database(PG_URL):   # the benches make a database per run: that must work
            pass
    except Exception as exc:  # noqa: BLE001 - any failure to reach it
        service_missing("PostgreSQL at " + PG_URL, exc)
    try:
        redis_channel(REDIS_URL)
    except Exception as exc:  # noqa: BLE001
        service_missing("Redis at " + REDIS_URL, exc)


def test_the_bench_pieces_measure_what_they_say():
    _require_services()

    sqlite = http_bench.run(None, 1, 20, 4, "closed")
    issue, call = sqlite["rows"]
    assert (issue["op"], issue["requests"], issue["errors"]) == ("issue", 20, 0)
    assert (call["op"], call["requests"], call["errors"]) == ("call-next", 20, 0)
    assert call["called_all"] and call["statuses"]["skip 200"] == 20

    closed = http_bench.run(PG_URL, 2, 20, 4, "closed", redis_url=REDIS_URL)
    assert [(r["op"], r["requests"], r["errors"]) for r in closed["rows"]] == [("issue", 20, 0), ("call-next", 20, 0)]
    assert closed["rows"][1]["called_all"]
    assert closed["rows"][0]["cpu_s"] > 0 and all(m > 0 for m in closed["rows"][0]["peak_rss_mb"])

    paced = http_bench.run(PG_URL, 2, 0, 4, "paced", rates=(10,), seconds=1.0, redis_url=REDIS_URL)
    assert [(r["op"], r["rate"]) for r in paced["rows"]] == [("issue", 10), ("call-next", 10)]
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in paced["rows"]), [r["statuses"] for r in paced["rows"]]

    fan = fanout.run(PG_URL, 2, clients=10, rate=5, seconds=2, windows=3, client_procs=2, redis_url=REDIS_URL)
    assert fan["connected"] == 10 and fan["calls"] == 10 and fan["events"] == 20   # each call, then a skip
    # 2 displays hear all 20 events; of the 8 window devices (LED strip, rater), window 1's four
    # hear its 4 calls (8 events) and windows 2 and 3's two each hear 3 calls (6 events).
    assert fan["expected"] == 2 * 20 + 4 * 8 + 4 * 6 and fan["delivered"] == fan["expected"] and fan["lost"] == 0
    assert fan["duplicates"] == 0 and fan["p99_ms"] is not None

    text = run_all.block("python bench/run_all.py --quick", datetime(2026, 3, 10, 9), 0.5,
                         {"commit": "abc1234", "dirty": False, "cores": 2, "cpu": "cpu", "ram_gib": 1.0,
                          "os": "Linux", "load": "0 0 0", "python": "3.11", "postgresql": "15", "redis": "7"},
                         [sqlite, closed, paced], [fan], "a city day\n", None, None, [], quick=True)
    readme = run_all.replace_block("# Benchmarks\n\nhand-written\n", text)
    again = run_all.replace_block(readme + "\nmore hand-written\n", text)
    assert again.count(run_all.BEGIN) == 1 and "hand-written" in again and "more hand-written" in again
    assert "FQM was not measured in this run" in text and "96 of 96 delivered, 0 lost" in text


def test_a_paced_step_has_tickets_enough_for_its_busiest_second():
    """A step's calls are a Poisson count; the bench issues beforehand what even a busy draw takes
    (a 1 s step at 10/s once ran dry in CI with 17 waiting: a 404 counted as an error)."""
    import math

    def tail(mean: float, n: int) -> float:   # P(count > n)
        return 1 - sum(math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1)) for k in range(n + 1))

    for rate, seconds in ((10, 1.0), (20, 10.0), (100, 10.0), (800, 10.0)):
        assert tail(rate * seconds, http_bench.enough_waiting(rate, seconds)) < 1e-5
    # and a slow step lasts long enough for its p99 to mean something
    assert [http_bench.step_seconds(r, 10.0, 600) for r in (20, 50, 100)] == [30.0, 12.0, 10.0]
    assert http_bench.step_seconds(10, 1.0, 0) == 1.0


def test_a_missing_event_counts_as_lost():
    """The fan-out's loss count is not a formality: one screen missing one event is one lost."""
    ops = [{"type": "ticket.called", "ticket_id": 7, "status": 200, "start": 100.0, "late": 0.0, "answered": 100.01},
           {"type": "ticket.skipped", "ticket_id": 7, "status": 200, "start": 100.1, "late": 0.0, "answered": 100.11}]
    whole = {"kind": "display", "snapshot_seq": 5, "scope": None, "disconnected": False,
             "events": [(6, 11, "ticket.called", 7, 100.02), (7, 12, "ticket.skipped", 7, 100.12)]}
    holed = dict(whole, events=[(7, 12, "ticket.skipped", 7, 100.13)])
    rater = {"kind": "rater", "snapshot_seq": 5, "scope": {"window_id": 3, "window_seq": 10}, "disconnected": False,
             "events": [(6, 11, "ticket.called", 7, 100.02)]}
    r = fanout._figures(None, 1, 3, 3, [], 0.1, 1, 1, ops, [whole, holed, rater], 5, 7, {3: 12},
                        {"cpu_s": 0, "peak_rss_mb": []}, 1)
    assert (r["expected"], r["delivered"], r["lost"]) == (6, 4, 2)
    assert r["max_ms"] == pytest.approx(30, abs=0.01)
