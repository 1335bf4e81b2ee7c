"""What the running server holds: engine, sessions, clock, calendar, the halls, the publisher.

One object, created by the app factory and kept in `app.extensions["hall"]`, so that the
service functions get everything explicitly and tests can build one without Flask.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock
from .config import HallConfig
from .outbox import Outbox
from .workdays import WorkCalendar

Publisher = Callable[[int, dict], None]


@dataclass
class Runtime:
    engine: Engine
    write: sessionmaker[Session]
    read: sessionmaker[Session]
    lookup: sessionmaker[Session]   # reads outside a transaction (db.session_factories)
    clock: Clock
    calendar: WorkCalendar
    secret: bytes
    halls: dict[int, HallConfig] = field(default_factory=dict)
    hall_codes: dict[str, int] = field(default_factory=dict)
    publish: Publisher = lambda hall_id, event: None
    # token digest -> (principal, cached until (monotonic), login expiry); see auth.authenticate
    principals: dict = field(default_factory=dict)
    login_guard: Any = None  # auth.LoginGuard, set by the app factory
    # Called with (hall_id, event) after each change is committed, outside every lock
    # (SMS invitations on case.finished, …).
    subscribers: list[Callable[[int, dict], None]] = field(default_factory=list)
    # Only `hall demo` sets this: its hall takes tickets at any hour for people trying it.
    ignore_hours: bool = False
    demo: bool = False  # `hall demo`: the front page links the demo's device tokens
    audit_writer: Any = None  # supervision.audit.AuditWriter, made with the first audited request
    _outboxes: dict[int, Outbox] = field(default_factory=dict)
    _outboxes_guard: threading.Lock = field(default_factory=threading.Lock)
    _sqlite_writer: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction. SQLite has one writer: threads queue here, in order, instead of
        in SQLite's busy handler, which sleeps and retries and gives long tail latencies."""
        gate = self._sqlite_writer if self.engine.dialect.name == "sqlite" else nullcontext()
        with gate, self.write() as session:
            session.begin()
            yield session

    def outbox(self, hall_id: int) -> Outbox:
        """The hall's line of events to send, so one process sends in `seq` order (outbox.py)."""
        with self._outboxes_guard:
            box = self._outboxes.get(hall_id)
            if box is None:
                box = self._outboxes[hall_id] = Outbox(lambda event: self.publish(hall_id, event))
            return box

    def hall_config(self, hall_id: int) -> HallConfig:
        return self.halls[hall_id]
