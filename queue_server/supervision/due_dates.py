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
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import iso
from ..config import HallConfig
from ..models import Case
from ..ratings.models import FollowUp
from ..workdays import WorkCalendar
from .alerts import office_hours
from .audit import record_in
from .models import Suspension
from .worktime import add_working_seconds, working_seconds

log = logging.getLogger("hall")


def recount_guessed(s: Session, cal: WorkCalendar, halls: dict[int, HallConfig], now: datetime) -> int:
    """Count again every guessed due date the calendar now covers; returns how many moved.
    Runs in the start-up transaction, under the start-up lock, so processes do it once."""
    moved = 0
    for case in s.scalars(select(Case).where(Case.due_guessed, Case.hall_id.in_(list(halls)))
                          .order_by(Case.id).with_for_update(of=Case)):
        if case.promised_days is None or case.due_at is None:
            continue
        cfg = halls[case.hall_id]
        opens, closes = office_hours(cfg)
        due = cal.due_at(case.accepted_at, case.promised_days, cfg.deadline_time)
        for x in s.scalars(select(Suspension).where(Suspension.case_id == case.id, Suspension.ended_at.is_not(None))
                           .order_by(Suspension.ended_at, Suspension.id)):
            x.stopped_seconds = working_seconds(cal, x.started_at, x.ended_at, opens, closes)
            due = add_working_seconds(cal, due, x.stopped_seconds, opens, closes)
        if not cal.covers(case.accepted_at.date(), due.date()):
            continue                    # still a year short: keep the guess, and its flag
        if due != case.due_at:
            moved += 1
            _record(s, case.hall_id, now, "case.due_recounted", f"case {case.number}",
                    case.due_at, due, case.promised_days)
        case.due_at, case.due_guessed = due, False

    for f in s.scalars(select(FollowUp).where(FollowUp.due_guessed, FollowUp.hall_id.in_(list(halls)))
                       .order_by(FollowUp.id).with_for_update(of=FollowUp)):
        if f.due_days is None:
            continue
        due = cal.due_at(f.opened_at, f.due_days, halls[f.hall_id].deadline_time)
        if not cal.covers(f.opened_at.date(), due.date()):
            continue
        if due != f.due_at:
            moved += 1
            _record(s, f.hall_id, now, "follow_up.due_recounted", f"follow_up {f.id}", f.due_at, due, f.due_days)
        f.due_at, f.due_guessed = due, False
    if moved:
        log.warning("工作日历已补充：%d 个承诺期限按法定工作日重新计算（见审计记录）", moved)
    return moved


def _record(s: Session, hall_id: int, now: datetime, action: str, target: str, before: datetime,
            after: datetime, days: int) -> None:
    detail: dict[str, Any] = {"before": iso(before), "after": iso(after), "working_days": days}
    record_in(s, hall_id=hall_id, at=now, actor="system", action=action, target=target, detail=detail,
              note="工作日历补充了节假日安排：原先按周一至周五推算的期限，已按法定工作日重新计算")
