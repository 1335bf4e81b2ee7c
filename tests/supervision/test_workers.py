"""The background jobs start with a real-clock app (not under a FrozenClock), do their rounds,
and stop on request; the monthly report renders as one standalone file."""
from __future__ import annotations

import time

import pytest
from datetime import timedelta

from sqlalchemy import select

from conftest import SMALL_HALL
from queue_server.app import create_app
from queue_server.config import load_hall_config
from queue_server.models import Case, Ticket
from queue_server.ratings.models import SmsMessage
from queue_server.supervision.models import SupervisionWarning
from queue_server.supervision.report import standalone_html


def test_no_workers_under_a_frozen_clock(app):
    assert "hall_workers" not in app.extensions


def test_workers_warn_and_send_then_stop(tmp_path, sqlite_db, monkeypatch):
    monkeypatch.delenv("HALL_WORKERS", raising=False)
    cfg = load_hall_config(SMALL_HALL)
    cfg.supervision = {"check_seconds": 0.2}
    app = create_app([cfg], sqlite_db(tmp_path / "hall.db"), secret=b"w")
    workers = app.extensions["hall_workers"]
    rt = app.extensions["hall"]
    if rt.clock.now().year not in rt.calendar.years:
        workers.stop()
        pytest.skip("SKIPPED LOUDLY: the working-day calendar does not cover this year; update config/calendar/cn.toml")
    try:
        now = rt.clock.now()
        hall_id = next(iter(rt.halls))
        with rt.writing() as s:  # an overdue case and a pending SMS, written as if by another process
            ticket = Ticket(hall_id=hall_id, day=now.date(), number="Z001", matter_id=3, status="serving",
                            issued_at=now - timedelta(days=3), queue_since=now - timedelta(days=3), query_code="WORKER01")
            s.add(ticket)
            s.flush()
            s.add(Case(hall_id=hall_id, number="W1", ticket_id=ticket.id, matter_id=3, window_id=3,
                       department_id=2, kind="即办件", status="accepted", accepted_at=now - timedelta(days=3),
                       due_at=now - timedelta(days=2)))
            s.add(SmsMessage(hall_id=hall_id, phone="13812345678", text="测试", created_at=now, next_attempt_at=now))
            s.commit()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with rt.read() as s:
                warned = s.scalars(select(SupervisionWarning)).all()
                sent = s.scalars(select(SmsMessage).where(SmsMessage.status == "sent")).all()
            if warned and sent:
                break
            time.sleep(0.1)
        assert [w.level for w in warned] == ["red"] and len(sent) == 1
    finally:
        workers.stop()
    assert not any(t.is_alive() for t in workers.threads)


def test_workers_can_be_switched_off(tmp_path, sqlite_db, monkeypatch):
    monkeypatch.setenv("HALL_WORKERS", "0")
    app = create_app([SMALL_HALL], sqlite_db(tmp_path / "hall.db"), secret=b"w")
    assert "hall_workers" not in app.extensions


def test_standalone_report_file(app, hall, clock):
    from ratings.helpers import serve
    serve(hall, clock)
    html = standalone_html(app, next(iter(app.extensions["hall"].halls)), "2026-03")
    assert html.startswith("<!doctype html>") and "<style>" in html and "2026年3月" in html
    assert "/static/" not in html  # nothing to fetch: it can be mailed or archived as it is
