"""SMS rating invitations follow `case.finished`: the case's committed event reaches this
subscriber (Runtime.subscribers) and the invitation and its outbox message are written in their
own transaction. If the process dies between the two commits, `invite_missed` (run by the
background worker) finds finished cases with a phone and no invitation and invites them late."""
from __future__ import annotations

import logging
from typing import Protocol
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from ..models import Case, Ticket
from ..runtime import Runtime
from .links import invite
from .models import SmsInvitation

log = logging.getLogger("hall.sms")
CATCH_UP = timedelta(days=1)


class Wakes(Protocol):
    """What on_event wakes after an invitation: the SMS sender's event, or whatever sets it."""

    def set(self) -> None: ...


def on_event(rt: Runtime, wake: Wakes | None = None):
    def handle(hall_id: int, event: dict) -> None:
        if event.get("type") != "case.finished":
            return
        case_id = (event.get("case") or {}).get("id")
        if case_id is None:
            return
        if "ticket" in event and not (event.get("ticket") or {}).get("phone"):
            return  # no phone left at the kiosk: nothing to invite, no write transaction to queue for
        if invite_case(rt, case_id) and wake is not None:
            wake.set()
    return handle


def invite_case(rt: Runtime, case_id: int) -> bool:
    with rt.writing() as s:
        case = s.get(Case, case_id)
        message = invite(rt, s, case, rt.clock.now()) if case is not None and case.status == "finished" else None
        s.commit()
        return message is not None


def invite_missed(rt: Runtime, now: datetime | None = None) -> int:
    now = now or rt.clock.now()
    with rt.read() as s:
        ids = list(s.scalars(select(Case.id).join(Ticket, Ticket.id == Case.ticket_id)
                             .where(Case.status == "finished", Case.finished_at >= now - CATCH_UP,
                                    Ticket.phone.is_not(None),
                                    ~exists().where(SmsInvitation.case_id == Case.id))))
    return sum(invite_case(rt, case_id) for case_id in ids)
