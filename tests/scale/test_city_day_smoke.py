"""The simulated city day (bench/city_day.py) on a tiny city: 3 halls, 300 tickets, 1 process.

Only correctness is asserted, read from the database the servers wrote: every issued ticket was
served, skipped or is still waiting, none is left half-way at a window, none was called twice,
and the database agrees with what the simulator saw. Never speed (figures: bench/README.md).
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import migrated_postgres_url
from hall_servers import require_redis

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.city.report import check_lines, day_tables  # noqa: E402
from bench.city.simulate import run_day  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_a_tiny_city_day_loses_no_ticket_and_calls_none_twice(tmp_path):
    require_redis()
    url = migrated_postgres_url()
    # Smaller centres than the real city's (16, 14, 6 windows): fewer clerks to log in.
    day = run_day(3, 300, processes=1, tick=30, clients=8, use_database=url, work_dir=tmp_path,
                  sizes={"city": 16, "county": 14, "township": 6})

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tickets = {i: (status, window) for i, status, window in
                       conn.execute(text("SELECT id, status, window_id FROM tickets"))}
            called = Counter(conn.execute(text("SELECT ticket_id FROM events WHERE type = 'ticket.called'")).scalars())
            cases = {t: (s, k) for t, s, k in conn.execute(text("SELECT ticket_id, status, kind FROM cases"))}
            holding = conn.execute(text("SELECT count(*) FROM windows WHERE current_ticket_id IS NOT NULL")).scalar()
            halls = conn.execute(text("SELECT count(*) FROM halls")).scalar()
    finally:
        engine.dispose()

    assert halls == 3 and len(tickets) == 300 == len(day.tickets)
    assert set(tickets) == set(day.tickets)
    statuses = Counter(status for status, _ in tickets.values())
    assert set(statuses) <= {"done", "skipped", "waiting"}, statuses   # nobody left half-way at a window
    assert holding == 0
    assert statuses["done"] > 0 and statuses["skipped"] > 0           # the day really served and skipped

    assert max(called.values()) == 1                                   # the event log: no ticket called twice
    assert not day.double_calls                                        # nor in the call-next answers
    assert {t for t, n in called.items() if n} == {i for i, (s, _) in tickets.items() if s != "waiting"}
    # Every served visit handed in a case: a 即办件 finished at the window, a 承诺件 accepted and
    # left for the case desk.
    assert set(cases) == {i for i, (s, _) in tickets.items() if s == "done"}
    assert {s for s, k in cases.values() if k == "即办件"} == {"finished"}
    assert {s for s, k in cases.values() if k != "即办件"} <= {"accepted"}

    for ticket_id, seen in day.tickets.items():                        # the database agrees with the simulator
        status, window = tickets[ticket_id]
        assert status == (seen.outcome or "waiting"), (ticket_id, status, seen)
        assert window == seen.window
        if seen.called_at is not None:
            assert seen.called_at >= seen.issued_at

    assert all(line.startswith("- ✓") for line in check_lines(day)), check_lines(day)
    assert "全市 all" in day_tables(day)
