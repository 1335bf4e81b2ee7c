"""A change to the hall: one transaction, then one event.

Every state change (issue, call, accept, …) runs inside `change()`. The event that announces it
is numbered (`seq`) and stored in the same transaction, so the stream and the database can
never disagree: a rolled-back change has no event, a committed one always has exactly one.
The numbering, commit and broadcast happen under a per-hall lock, so within one process
clients receive events in `seq` order; across processes (Redis) a client that sees a gap asks
for a snapshot.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from .clock import iso
from .models import Event, Hall
from .runtime import Runtime


@dataclass
class Change:
    session: Session
    hall_id: int
    actor: str
    now: datetime
    _event: dict[str, Any] | None = field(default=None, init=False)

    def emit(self, type: str, *, ticket_id: int | None = None, case_id: int | None = None,
             window_id: int | None = None, **data: Any) -> None:
        if self._event is not None:
            raise RuntimeError("one change announces one event")
        self._event = {"type": type, "ticket_id": ticket_id, "case_id": case_id,
                       "window_id": window_id, "data": data}


def _record(change: Change) -> dict[str, Any]:
    pending = change._event
    seq = change.session.execute(
        update(Hall).where(Hall.id == change.hall_id)
        .values(event_seq=Hall.event_seq + 1).returning(Hall.event_seq)).scalar_one()
    change.session.add(Event(hall_id=change.hall_id, seq=seq, type=pending["type"], at=change.now,
                             ticket_id=pending["ticket_id"], case_id=pending["case_id"],
                             window_id=pending["window_id"], actor=change.actor,
                             data=pending["data"]))
    return {"type": pending["type"], "seq": seq, "at": iso(change.now), **pending["data"]}


@contextmanager
def change(rt: Runtime, hall_id: int, actor: str = "") -> Iterator[Change]:
    with rt.writing() as session:
        current = Change(session, hall_id, actor, rt.clock.now())
        try:
            yield current
            if current._event is None:
                session.commit()
                return
            with rt.emit_lock(hall_id):
                event = _record(current)
                session.commit()
                rt.publish(hall_id, event)
        except BaseException:
            session.rollback()
            raise
