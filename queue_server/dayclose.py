"""日终: the day closes, and what is left of it closes with it.

At the hall's `day_close_time` (its closing time unless configured later; at the latest at
midnight) tickets still waiting or called are closed as 未办理 (lifecycle.TICKET `close_day`):
their citizen's progress page says so instead of "前面还有 0 人", the day's figures count them,
and the next morning's queue starts empty. A 即办件 still being served is closed as a visit; its
case stays open on the case desk (and turns red if it is not finished). One change, one event
(`day.closed`) per hall and day. A server that was down at closing time closes the earlier days
when it next checks, so nothing waits for ever.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, or_, select, update

from . import lifecycle
from .changes import change
from .models import Ticket, Window
from .runtime import Runtime
from .shapes import waiting_counts

log = logging.getLogger("hall")
OPEN = lifecycle.sources(lifecycle.TICKET, "close_day")      # waiting, called, serving


def closing_time(cfg) -> time:
    return cfg.day_close_time or cfg.close_time


def _last_open_day(rt: Runtime, hall_id: int, now: datetime) -> date | None:
    """The latest day whose leftovers are due to close now, or None."""
    today = now.date()
    if now.time() >= closing_time(rt.hall_config(hall_id)):
        return today
    return date.fromordinal(today.toordinal() - 1)


def close_day(rt: Runtime, hall_id: int) -> dict[str, Any] | None:
    """Close every day up to the one due now; the `day.closed` event's body, or None when there
    was nothing left open."""
    now = rt.clock.now()
    upto = _last_open_day(rt, hall_id, now)
    with rt.read() as s:
        left = s.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.hall_id == hall_id, Ticket.day <= upto, Ticket.status.in_(OPEN)))
    if not left:
        return None
    with change(rt, hall_id, "system:day-close") as ch:
        s = ch.session
        rows = s.execute(select(Ticket.id, Ticket.status, Ticket.day).where(
            Ticket.hall_id == hall_id, Ticket.day <= upto, Ticket.status.in_(OPEN))
            .with_for_update(of=Ticket)).all()
        if not rows:
            return None
        by_status = {st: [r.id for r in rows if r.status == st] for st in OPEN}
        for status, ids in by_status.items():
            if ids:
                target = lifecycle.next_state(lifecycle.TICKET, status, "close_day")
                s.execute(update(Ticket).where(Ticket.id.in_(ids)).values(status=target, closed_at=ch.now))
        s.execute(update(Window).where(Window.hall_id == hall_id, or_(
            *[Window.current_ticket_id.in_(ids) for ids in by_status.values() if ids]))
            .values(current_ticket_id=None))
        unserved = len(by_status["waiting"]) + len(by_status["called"])
        days = sorted({r.day for r in rows})
        body = {"days": [d.isoformat() for d in days], "unserved": unserved,
                "closed_serving": len(by_status["serving"]), "waiting": waiting_counts(s, hall_id, ch.now.date())}
        ch.emit("day.closed", **body)
    log.info("日终：%s 关闭 %d 张未办理的号", "、".join(body["days"]), unserved)
    return body


def close_days(rt: Runtime) -> None:
    """Every hall's (the supervision worker calls this each round)."""
    for hall_id in rt.halls:
        close_day(rt, hall_id)
