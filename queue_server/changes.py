"""A change to the hall: one transaction, then one event.

Every state change (issue, call, accept, …) runs inside `change()`. The event that announces it
is numbered (`seq`) and stored in the same transaction, so the stream and the database can
never disagree: a rolled-back change has no event, a committed one always has exactly one.
The numbering takes the hall row's lock until the commit, so events commit in `seq` order; the
hall's outbox (outbox.py) sends them in that order, so within one process clients receive
events in `seq` order; across processes (Redis) a client that sees a gap asks for a snapshot.

An event about a window also gets that window's own number (`window_seq`), so a device that
hears only its window (an LED strip, a rating device: stream.py) can see a gap the same way.
A window's own operations (windows.py) take the number in the statement that locks the window
(`window_numbered`); other changes bump it after their writes. Either way it is bumped before
the hall row is locked: the window row stays locked to the commit, so two
events of one window are numbered and sent in order, and no transaction ever holds the hall's
row while waiting for a window row that a transaction queued on the hall row holds.

`origin` is where the change came from (the client address), kept with the stored event for the
audit trail and not broadcast. After the transaction is over, the event goes to the runtime's
`subscribers` (e.g. the SMS invitation on `case.finished`), outside any lock, so they may start
their own changes; a failing subscriber is logged and never undoes the committed change.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from .clock import iso
from .models import Event, Hall, Window
from .runtime import Runtime

log = logging.getLogger("hall")


@dataclass
class Change:
    session: Session
    hall_id: int
    actor: str
    now: datetime
    origin: str | None = None
    _event: dict[str, Any] | None = field(default=None, init=False)
    # (window id, its new event number) when the change numbered the window as it locked it
    window_numbered: tuple[int, int] | None = field(default=None, init=False)

    def emit(self, type: str, *, ticket_id: int | None = None, case_id: int | None = None,
             window_id: int | None = None, **data: Any) -> None:
        if self._event is not None:
            raise RuntimeError("one change announces one event")
        self._event = {"type": type, "ticket_id": ticket_id, "case_id": case_id,
                       "window_id": window_id, "data": data}


_BUMP = (update(Hall).where(Hall.id == bindparam("hall_id")).values(event_seq=Hall.event_seq + 1)
         .returning(Hall.event_seq))
_BUMP_WINDOW = (update(Window).where(Window.id == bindparam("window"))
                .values(event_seq=Window.event_seq + 1).returning(Window.event_seq))
_STORE = insert(Event)
_STORED = ("hall_id", "type", "at", "ticket_id", "case_id", "window_id", "actor", "data")


def _numbered_store_statement():
    """PostgreSQL: the hall's number and the stored event in one statement, so the hall row is
    locked for one round trip and the commit instead of two and the commit."""
    bumped = _BUMP.cte("bumped")
    values = [bindparam(name, type_=Event.__table__.c[name].type) for name in _STORED]
    return (insert(Event).from_select([*_STORED, "seq"], select(*values, bumped.c.event_seq))
            .returning(Event.seq))


_NUMBERED_STORE = _numbered_store_statement()


def _number_for_window(change: Change) -> int | None:
    window_id = change._event["window_id"]
    if window_id is None:
        return None
    if change.window_numbered is not None and change.window_numbered[0] == window_id:
        return change.window_numbered[1]
    return change.session.connection().execute(_BUMP_WINDOW, {"window": window_id}).scalar_one_or_none()


def _record(change: Change, window_seq: int | None) -> dict[str, Any]:
    pending = change._event
    stored = pending["data"] if not change.origin else {**pending["data"], "origin": change.origin}
    conn = change.session.connection()
    row = {"hall_id": change.hall_id, "type": pending["type"], "at": change.now,
           "ticket_id": pending["ticket_id"], "case_id": pending["case_id"],
           "window_id": pending["window_id"], "actor": change.actor, "data": stored}
    if conn.dialect.name == "postgresql":
        seq = conn.execute(_NUMBERED_STORE, row).scalar_one()
    else:
        seq = conn.execute(_BUMP, {"hall_id": change.hall_id}).scalar_one()
        conn.execute(_STORE, {**row, "seq": seq})
    event = {"type": pending["type"], "seq": seq, "at": iso(change.now), **pending["data"]}
    if window_seq is not None:
        event["window_id"], event["window_seq"] = pending["window_id"], window_seq
    return event


@contextmanager
def change(rt: Runtime, hall_id: int, actor: str = "", origin: str | None = None) -> Iterator[Change]:
    outbox = rt.outbox(hall_id)
    place = event = None
    committed = False
    try:
        with rt.writing() as session:
            current = Change(session, hall_id, actor, rt.clock.now(), origin)
            try:
                yield current
                if current._event is None:
                    session.commit()
                    return
                session.flush()   # the ORM's row writes (and their locks) come before the numbering
                window_seq = _number_for_window(current)
                event = _record(current, window_seq)   # the hall row is locked from here to the commit
                place = outbox.take_place()
                session.commit()
                committed = True
            except BaseException:
                session.rollback()
                raise
    finally:
        if place is not None:   # sent after the session is back in the pool, outside every lock
            outbox.settle(place, event if committed else None)
    _notify(rt, hall_id, event)


def _notify(rt: Runtime, hall_id: int, event: dict[str, Any]) -> None:
    for subscriber in list(getattr(rt, "subscribers", None) or ()):
        try:
            subscriber(hall_id, event)
        except Exception:  # noqa: BLE001 - the change is committed; a subscriber cannot undo it
            log.exception("subscriber %r failed on %s", subscriber, event.get("type"))
