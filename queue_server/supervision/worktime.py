"""Working time between two instants: only working days (法定工作日) count, and on them only the
office hours from the hall's opening to its deadline time.

Limits are promised in working days (行政许可法 §82); measuring what is left of them in working
seconds lets one rule warn a 即办件 (a few hours) and a 20-day 承诺件 alike, and lets a
suspension move a deadline by exactly the office time the clock was stopped.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from ..workdays import WorkCalendar


def day_seconds(open_time: time, close_time: time) -> int:
    """The length of one working day in seconds (e.g. 08:30–17:30 → 9 h)."""
    start = datetime.combine(datetime.min.date(), open_time)
    return max(0, int((datetime.combine(start.date(), close_time) - start).total_seconds()))


def working_seconds(cal: WorkCalendar, start: datetime, end: datetime, open_time: time,
                    close_time: time) -> int:
    """Office seconds on working days in [start, end); 0 when end <= start."""
    if end <= start:
        return 0
    total, day = 0, start.date()
    while day <= end.date():
        if cal.is_workday(day):
            lo = max(start, datetime.combine(day, open_time))
            hi = min(end, datetime.combine(day, close_time))
            if hi > lo:
                total += int((hi - lo).total_seconds())
        day += timedelta(days=1)
    return total


def add_working_seconds(cal: WorkCalendar, start: datetime, seconds: int, open_time: time,
                        close_time: time) -> datetime:
    """The instant `seconds` of office time after `start` (the deadline moved by a suspension)."""
    if seconds <= 0:
        return start
    left, day = seconds, start.date()
    while True:
        if cal.is_workday(day):
            lo = max(start, datetime.combine(day, open_time))
            hi = datetime.combine(day, close_time)
            if hi > lo:
                available = int((hi - lo).total_seconds())
                if left <= available:
                    return lo + timedelta(seconds=left)
                left -= available
        day += timedelta(days=1)
