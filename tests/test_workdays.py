"""Due dates in official working days, across Spring Festival and National Day with 调休 days."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, time

import pytest

from queue_server.config import DEFAULT_CALENDAR
from queue_server.workdays import CalendarError, WorkCalendar

CAL = WorkCalendar.load(DEFAULT_CALENDAR)
END = time(17, 30)


@pytest.mark.parametrize("start,days,due", [
    # 2025 春节: 1/28–2/4 off; Sunday 1/26 and Saturday 2/8 are working days.
    ("2025-01-24T10:00", 1, "2025-01-26"),   # Friday -> the make-up Sunday
    ("2025-01-26T10:00", 1, "2025-01-27"),
    ("2025-01-27T10:00", 1, "2025-02-05"),   # Monday before the holiday -> first day after
    ("2025-01-27T10:00", 4, "2025-02-08"),   # 2/5, 2/6, 2/7, then make-up Saturday 2/8
    # 2025 国庆+中秋: 10/1–10/8 off; Sunday 9/28 and Saturday 10/11 are working days.
    ("2025-09-26T09:00", 1, "2025-09-28"),
    ("2025-09-30T09:00", 1, "2025-10-09"),
    ("2025-09-30T09:00", 3, "2025-10-11"),
    # 2026 春节: 2/15–2/23 off; Saturday 2/14 and Saturday 2/28 are working days.
    ("2026-02-13T15:00", 1, "2026-02-14"),
    ("2026-02-14T09:00", 1, "2026-02-24"),
    ("2026-02-24T09:00", 4, "2026-02-28"),
    ("2026-02-12T09:00", 5, "2026-02-26"),
    # 2026 国庆: 10/1–10/7 off; Sunday 9/20 and Saturday 10/10 are working days.
    ("2026-09-18T09:00", 1, "2026-09-20"),
    ("2026-09-30T09:00", 1, "2026-10-08"),
    ("2026-09-30T09:00", 3, "2026-10-10"),
    ("2026-09-30T09:00", 20, "2026-11-03"),  # 10/8,9,10 then 17 more
])
def test_due_dates_across_holidays(start, days, due):
    assert CAL.due_at(datetime.fromisoformat(start), days, END) == datetime.combine(date.fromisoformat(due), END)


def test_same_day_limit_on_a_holiday_moves_to_next_working_day():
    assert CAL.due_at(datetime(2026, 2, 16, 10), 0, END) == datetime(2026, 2, 24, 17, 30)
    assert CAL.due_at(datetime(2026, 3, 10, 10), 0, END) == datetime(2026, 3, 10, 17, 30)


def test_year_outside_calendar_counts_weekdays_and_is_remembered_as_a_guess():
    cal = WorkCalendar.load(DEFAULT_CALENDAR)
    with pytest.raises(CalendarError, match="2031"):
        cal.is_workday(date(2031, 5, 1), strict=True)   # appointments: no guessing
    assert cal.guessed_years == set()
    assert cal.is_workday(date(2031, 5, 1)) is True      # a Thursday, counted Monday–Friday
    assert cal.is_workday(date(2031, 5, 3)) is False     # a Saturday
    assert cal.guessed_years == {2031}


def test_make_up_days_are_weekends_and_holidays_are_listed():
    for day in CAL.workdays:
        assert day.weekday() >= 5, day
    assert date(2026, 1, 1) in CAL.holidays and date(2025, 10, 8) in CAL.holidays


def test_bad_calendar_file(tmp_path):
    path = tmp_path / "cal.toml"
    path.write_text('[2026]\nholidays = ["2026-13-01"]\n', encoding="utf-8")
    with pytest.raises(CalendarError, match="2026-13-01"):
        WorkCalendar.load(path)


def test_hall_due_date_command():
    out = subprocess.run([sys.executable, "-m", "queue_server.cli", "due-date", "--start", "2026-02-13T10:00",
                          "--working-days", "2", "--config", "tests/halls/small.toml"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "2026-02-24T17:30"
