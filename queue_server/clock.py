"""Hall time.

Every instant the hall stores is naive local time in China Standard Time (UTC+8, no DST), the
time printed on slips and read by supervisors. One clock object is handed to the app so that
tests can move time forward (deadlines, warnings, the next day's numbering) without sleeping.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


class Clock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(CST).replace(tzinfo=None)


class FrozenClock(Clock):
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime):
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when

    def advance(self, **delta) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


def iso(when: datetime | None) -> str | None:
    """ISO 8601 with the +08:00 offset, so programs elsewhere read the instant right."""
    if when is None:
        return None
    return when.replace(tzinfo=CST).isoformat(timespec="seconds")
