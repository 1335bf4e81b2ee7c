"""Today, live: what the supervisor's first screen shows and refreshes on every hall event."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import schemas
from ..clock import iso
from ..models import Case, Ticket, Window
from ..staffing import shown_state
from .models import SupervisionWarning


def today(s: Session, hall_id: int, now: datetime) -> schemas.Live:
    day = now.date()
    waiting = s.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.hall_id == hall_id, Ticket.day == day, Ticket.status == "waiting")) or 0
    oldest = s.execute(select(Ticket.number, Ticket.issued_at).where(
        Ticket.hall_id == hall_id, Ticket.day == day, Ticket.status == "waiting")
        .order_by(Ticket.issued_at).limit(1)).first()
    windows = s.scalars(select(Window).where(Window.hall_id == hall_id, Window.active.is_(True))
                        .order_by(Window.number)).all()
    current = {t.id: t for t in s.scalars(select(Ticket).where(
        Ticket.id.in_([w.current_ticket_id for w in windows if w.current_ticket_id])))}
    warnings = dict(s.execute(select(SupervisionWarning.level, func.count()).where(
        SupervisionWarning.hall_id == hall_id, SupervisionWarning.resolved_at.is_(None))
        .group_by(SupervisionWarning.level)).all())
    by_status = dict(s.execute(select(Ticket.status, func.count()).where(Ticket.hall_id == hall_id, Ticket.day == day)
                               .group_by(Ticket.status)).all())
    issued = sum(by_status.values())
    accepted = s.scalar(select(func.count()).select_from(Case).where(
        Case.hall_id == hall_id, Case.accepted_at >= datetime.combine(day, datetime.min.time()))) or 0
    finished = s.scalar(select(func.count()).select_from(Case).where(
        Case.hall_id == hall_id, Case.finished_at >= datetime.combine(day, datetime.min.time()))) or 0
    rows = []
    for w in windows:
        t = current.get(w.current_ticket_id) if w.current_ticket_id else None
        rows.append(schemas.LiveWindow(id=w.id, number=w.number, name=w.name, state=shown_state(w),
                                       ticket=t.number if t else None, ticket_status=t.status if t else None,
                                       since=iso(t.called_at) if t else None))
    return schemas.Live(
        at=iso(now), waiting=waiting, issued=issued, finished=finished, accepted=accepted,
        # the day's visits by how they ended; 未办理: still waiting or called when the day closed
        skipped=by_status.get("skipped", 0), unserved=by_status.get("unserved", 0),
        serving=sum(1 for r in rows if r["ticket_status"] == "serving"),
        called=sum(1 for r in rows if r["ticket_status"] == "called"),
        paused=[r["number"] for r in rows if r["state"] == "paused"],
        closed=[r["number"] for r in rows if r["state"] == "closed"],   # nobody signed in (未开放)
        longest_wait=None if oldest is None else schemas.LongestWait(
            ticket=oldest[0], issued_at=iso(oldest[1]), seconds=int((now - oldest[1]).total_seconds())),
        warnings=schemas.WarningCounts(yellow=warnings.get("yellow", 0), red=warnings.get("red", 0)),
        windows=rows,
    )
