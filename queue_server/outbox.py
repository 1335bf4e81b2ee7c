"""A hall's events leave the process in `seq` order, with no lock held across a commit.

The hall row's lock numbers the events and makes them commit in `seq` order (changes.py): a
second change of the hall gets its number only once the first has committed or rolled back.
So a change takes its place in the hall's line as soon as it has its number, before it
commits, and places are taken in `seq` order. When its commit is over it settles the place
(the event, or nothing if it rolled back) and sends whatever is settled at the head of the line.
A change still committing holds back those behind it; its own thread sends them when it
settles. One sender at a time, so the sends themselves are in order.

Before this, one lock per hall was held from the numbering through the commit to the publish:
every change of a hall waited for the one before it to get the GIL back three times and to
publish to Redis, which queued a busy hall's changes behind each other on PostgreSQL.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("hall")


class Place:
    __slots__ = ("event", "settled")

    def __init__(self) -> None:
        self.event: dict[str, Any] | None = None
        self.settled = False


class Outbox:
    def __init__(self, send: Callable[[dict], None]):
        self._send_one = send
        self._line: deque[Place] = deque()
        self._guard = threading.Lock()      # the line (memory only)
        self._sending = threading.Lock()    # one sender at a time

    def take_place(self) -> Place:
        """Called with the event's number known and the hall row still locked."""
        place = Place()
        with self._guard:
            self._line.append(place)
        return place

    def settle(self, place: Place, event: dict[str, Any] | None) -> None:
        """The commit is over: send `event` (None: it rolled back) once those before it are."""
        with self._guard:
            place.event, place.settled = event, True
        with self._sending:
            while ready := self._take_ready():
                for ready_event in ready:
                    try:
                        self._send_one(ready_event)
                    except Exception:  # noqa: BLE001 - committed; screens resync on the gap
                        log.exception("sending %s %s failed", ready_event.get("type"), ready_event.get("seq"))

    def _take_ready(self) -> list[dict[str, Any]]:
        """The events of the settled places at the head of the line, taken off it."""
        with self._guard:
            ready = []
            while self._line and self._line[0].settled:
                event = self._line.popleft().event
                if event is not None:
                    ready.append(event)
            return ready

    def waiting(self) -> int:
        with self._guard:
            return len(self._line)
