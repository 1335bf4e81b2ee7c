"""Due dates counted through a year the calendar lacked are counted again once it has that year.

Every December cases are accepted whose limits run into a year whose holiday notice is not out
yet; those years count Monday–Friday (workdays.py), so New Year's Day and the Spring Festival
count as working days and the guessed due date is too early. Each case and 差评 follow-up keeps
its days and whether its count was such a guess. When the server starts with the year added to
the calendar, this counts those due dates again from the start, with the office time of every
finished suspension added back, and writes one audit row per date it moved. Red and yellow
warnings raised against the old date are cleared by the next check (alerts.py: a warning whose
due date is no longer the case's is done).

Finished and closed ones are counted too: 按期办结率 compares the finish with the due date.
"""
from __future__ import annotations

import logging
from datetime import datetime
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import iso
from ..config import HallConfig
from ..deadlines import count_due, office_hours
from ..models import Case
from ..ratings.models import FollowUp
from ..workdays import WorkCalendar
from .audit import record_in
from .models import Suspension
from .worktime import working_seconds

log = logging.getLogger("hall")


def recount_guessed(s: Session, cal: WorkCalendar, halls: dict[int, HallConfig], now: datetime) -> int:
    """Count again every guessed due date the calendar now covers; returns how many moved.
    Runs in the start-up transaction, under the start-up lock, so processes do it once."""
    moved = 0
    for case in s.scalars(select(Case).where(Case.due_guessed, Case.hall_id.in_(list(halls)))
                          .order_by(Case.id).with_for_update(of=Case)):
        if case.promised_days is None or case.due_at is None or case.accepted_at is None:
            continue
        cfg = halls[case.hall_id]
        opens, closes = office_hours(cfg)
        stops = s.scalars(select(Suspension).where(Suspension.case_id == case.id, Suspension.ended_at.is_not(None))
                          .order_by(Suspension.ended_at, Suspension.id)).all()
        for x in stops:     # what each stop was worth, by the calendar as it now is
            x.stopped_seconds = working_seconds(cal, x.started_at, x.ended_at, opens, closes)
        due = count_due(cal, cfg, case.accepted_at, case.promised_days, ((x.started_at, x.ended_at) for x in stops))
        moved += _settle(s, cal, case, case.accepted_at, due.at, now, "case.due_recounted", f"case {case.number}",
                         case.promised_days)

    for f in s.scalars(select(FollowUp).where(FollowUp.due_guessed, FollowUp.hall_id.in_(list(halls)))
                       .order_by(FollowUp.id).with_for_update(of=FollowUp)):
        if f.due_days is None:
            continue
        due = count_due(cal, halls[f.hall_id], f.opened_at, f.due_days)
        moved += _settle(s, cal, f, f.opened_at, due.at, now, "follow_up.due_recounted", f"follow_up {f.id}", f.due_days)
    if moved:
        log.warning("工作日历已补充：%d 个承诺期限按法定工作日重新计算（见审计记录）", moved)
    return moved


def _settle(s: Session, cal: WorkCalendar, row: Case | FollowUp, start: datetime, due: datetime, now: datetime,
            action: str, target: str, days: int) -> bool:
    """Take the new count if the calendar covers all of it (else keep the guess, and its flag);
    record the move if the date changed. True when it moved."""
    if not cal.covers(start.date(), due.date()):
        return False
    moved = due != row.due_at
    if moved:
        record_in(s, hall_id=row.hall_id, at=now, actor="system", action=action, target=target,
                  detail={"before": iso(row.due_at), "after": iso(due), "working_days": days},
                  note="工作日历补充了节假日安排：原先按周一至周五推算的期限，已按法定工作日重新计算")
    row.due_at, row.due_guessed = due, False
    return moved
