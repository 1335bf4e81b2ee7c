"""When a limit runs out: the one count of a due date, for 受理, 差评 follow-ups, suspensions and the
recount at start-up alike.

A limit of N working days starts the day after its start (开始的当日不计入) and ends at the hall's
deadline time on the N-th working day. 0 days (即办件) ends the same working day; one accepted
after that day's deadline time, or on a day off, ends at the next working day's deadline, so it is
never due before it was accepted. Every finished suspension (不计时环节) then moves the date by the
office time the clock was stopped. `guessed`: the count ran through a year the calendar lacks yet
(counted Monday–Friday, and counted again when the year is added: supervision/due_dates.py).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import NamedTuple

from .supervision.worktime import add_working_seconds, working_seconds
from .workdays import WorkCalendar


class Due(NamedTuple):
    at: datetime
    guessed: bool


def office_hours(cfg) -> tuple[time, time]:
    """A working day runs from the hall's opening to its deadline time (17:30 by default)."""
    end = cfg.deadline_time if cfg.deadline_time > cfg.open_time else cfg.close_time
    return cfg.open_time, end


def count_due(cal: WorkCalendar, cfg, start: datetime, days: int,
              stops: Iterable[tuple[datetime, datetime]] = ()) -> Due:
    """The due date of a limit of `days` working days from `start`, with the clock stopped for
    each (began, ended) in `stops`."""
    due = cal.due_at(start, days, cfg.deadline_time)
    if due < start:     # 即办件 after the day's deadline, or on a day off: the next working day's
        due = datetime.combine(cal.add_working_days(start.date(), 1), cfg.deadline_time)
    opens, closes = office_hours(cfg)
    for began, ended in stops:
        due = add_working_seconds(cal, due, working_seconds(cal, began, ended, opens, closes), opens, closes)
    return Due(due, not cal.covers(start.date(), due.date()))
