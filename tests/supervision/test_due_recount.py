"""December: limits run into 2027 before its holiday notice is in the calendar. The windows work
on, counting 2027 Monday–Friday; when the server starts with the notice added, every due date
counted that way is counted again, the record says what moved, and warnings follow the new date."""
from __future__ import annotations

from datetime import datetime

import pytest

from conftest import SMALL_HALL, HallDriver, migrated_postgres_url
from queue_server.app import create_app
from queue_server.config import DEFAULT_CALENDAR, load_hall_config
from queue_server.supervision.alerts import check_warnings

from ratings.helpers import accept_only, rate, serve

# Not the real 2027 notice (not out when this was written): one holiday is enough to move a date.
NOTICE_2027 = '\n[2027]\nsource = "测试用"\nholidays = ["2027-01-01"]\nworkdays = []\n'


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path, sqlite_db):
    return sqlite_db(tmp_path / "hall.db") if request.param == "sqlite" else migrated_postgres_url()


@pytest.fixture
def restarted(db_url, clock):
    """The same database, a server started again (as after updating config/calendar/cn.toml)."""
    started = []

    def start(calendar=None):
        cfg = load_hall_config(SMALL_HALL)
        if calendar is not None:
            cfg.calendar = calendar
        started.append(create_app([cfg], db_url, secret=b"test-secret", clock=clock))
        return started[-1], HallDriver(started[-1].test_client())
    yield start
    for app in started:
        app.extensions["hall"].engine.dispose()


@pytest.fixture
def with_2027(tmp_path):
    path = tmp_path / "cn.toml"
    path.write_text(DEFAULT_CALENDAR.read_text(encoding="utf-8") + NOTICE_2027, encoding="utf-8")
    return path


def case_of(hall, case_id: int) -> dict:
    r = hall.c.get("/api/v1/supervision/cases?from=2026-12-01&to=2026-12-31", headers=hall.headers("supervisor"))
    assert r.status_code == 200, r.get_json()
    return next(c for c in r.get_json()["cases"] if c["id"] == case_id)


def test_guessed_due_dates_are_counted_again_when_the_year_is_added(hall, clock, restarted, with_2027):
    # Tue 2026-12-29 10:00, 3 working days counted Mon–Fri: 12-30, 12-31, 2027-01-01 (a guess).
    clock.set(datetime(2026, 12, 29, 10, 0))
    plain = accept_only(hall)["case"]
    assert plain["due_at"] == "2027-01-01T17:30:00+08:00" and plain["due_guessed"] is True

    # A second one, its clock stopped Wed 09:00–13:00 (4 office hours): moved past the guess.
    clock.set(datetime(2026, 12, 29, 10, 30))
    stopped = accept_only(hall, window=2)["case"]
    clock.set(datetime(2026, 12, 30, 9, 0))
    sup = hall.headers("supervisor")
    assert hall.c.post(f"/api/v1/cases/{stopped['id']}/suspend", json={"reason": "现场勘验"}, headers=sup).status_code == 200
    clock.set(datetime(2026, 12, 30, 13, 0))
    resumed = hall.c.post(f"/api/v1/cases/{stopped['id']}/resume-clock", headers=sup).get_json()
    assert resumed["case"]["due_at"] == "2027-01-04T12:30:00+08:00" and resumed["case"]["due_guessed"] is True

    # A 即办件 due the same day in 2026 is no guess; a 差评 on it opens a follow-up that is one.
    clock.set(datetime(2026, 12, 30, 14, 0))
    hall.tokens.clear()
    served = serve(hall, clock, code="QR00201001", window=3)
    assert served["case"]["due_guessed"] is False
    rating = rate(hall, {"level": 1, "channel": "web", "query_code": served["ticket"]["query_code"]}).get_json()["rating"]
    follow_up = f"/api/v1/follow-ups/{rating['follow_up_id']}"
    f = hall.c.get(follow_up, headers=hall.headers("supervisor")).get_json()["follow_up"]
    assert f["due_at"] == "2027-01-06T17:30:00+08:00" and f["due_guessed"] is True  # 12-31, 1-1, 1-4, 1-5, 1-6

    # Friday 2027-01-01 17:31 on the guessed calendar: the first case is already red.
    rt = hall.c.application.extensions["hall"]
    clock.set(datetime(2027, 1, 1, 17, 31))
    assert ("red", plain["id"]) in {(w["level"], w["case_id"]) for w in check_warnings(rt)}

    # The notice is published, the calendar updated, the server started again.
    app, hall = restarted(with_2027)
    assert case_of(hall, plain["id"])["due_at"] == "2027-01-04T17:30:00+08:00"      # 12-30, 12-31, 1-4
    assert case_of(hall, plain["id"])["due_guessed"] is False
    # 1-4 17:30 plus the 4 stopped hours: Tue 1-5 12:30.
    assert case_of(hall, stopped["id"])["due_at"] == "2027-01-05T12:30:00+08:00"
    assert case_of(hall, served["case"]["id"])["due_at"] == served["case"]["due_at"]  # untouched
    f = hall.c.get(follow_up, headers=hall.headers("supervisor")).get_json()["follow_up"]
    assert f["due_at"] == "2027-01-07T17:30:00+08:00" and f["due_guessed"] is False

    # What moved is on the record, each with its old and new date.
    audit = hall.c.get("/api/v1/supervision/audit?from=2027-01-01&to=2027-01-01",
                       headers=hall.headers("supervisor")).get_json()["entries"]
    moved = {e["target"]: e["detail"] for e in audit if e["action"].endswith(".due_recounted")}
    assert moved == {
        f"case {plain['number']}": {"before": "2027-01-01T17:30:00+08:00", "after": "2027-01-04T17:30:00+08:00",
                                    "working_days": 3},
        f"case {stopped['number']}": {"before": "2027-01-04T12:30:00+08:00", "after": "2027-01-05T12:30:00+08:00",
                                      "working_days": 3},
        f"follow_up {rating['follow_up_id']}": {"before": "2027-01-06T17:30:00+08:00",
                                               "after": "2027-01-07T17:30:00+08:00", "working_days": 5},
    }
    assert all(e["actor"] == "system" for e in audit if e["action"].endswith(".due_recounted"))

    # The red against the guessed date is cleared: on the real calendar the case is not late,
    # it has Monday left (a yellow).
    rt = app.extensions["hall"]
    assert [(w["level"], w["case_id"]) for w in check_warnings(rt)] == [("yellow", plain["id"])]
    warnings = hall.c.get("/api/v1/supervision/warnings", headers=hall.headers("supervisor")).get_json()["warnings"]
    assert [(w["level"], w["due_at"]) for w in warnings if w.get("case_id") == plain["id"]] == [
        ("yellow", "2027-01-04T17:30:00+08:00")]

    # Started again on the same calendar: nothing more moves, nothing more is recorded.
    app, hall = restarted(with_2027)
    again = hall.c.get("/api/v1/supervision/audit?from=2027-01-01&to=2027-01-01",
                       headers=hall.headers("supervisor")).get_json()["entries"]
    assert len([e for e in again if e["action"].endswith(".due_recounted")]) == 3
    assert case_of(hall, plain["id"])["due_at"] == "2027-01-04T17:30:00+08:00"


def test_a_guess_the_calendar_still_cannot_settle_is_kept(hall, clock, restarted):
    clock.set(datetime(2026, 12, 29, 10, 0))
    case = accept_only(hall)["case"]
    _, hall = restarted()              # started again, 2027 still missing
    again = case_of(hall, case["id"])
    assert again["due_at"] == case["due_at"] and again["due_guessed"] is True


def test_a_limit_inside_the_calendar_is_no_guess(hall, clock):
    case = accept_only(hall)["case"]                # March 2026
    assert case["due_guessed"] is False
