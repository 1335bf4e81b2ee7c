"""红黄灯预警: yellow when little of a time limit is left, red when it has run out.

`check_warnings(rt, now)` looks at every accepted case (the clock runs from 受理 to `due_at`) and
every open 差评 follow-up, and raises each warning once — one change, one `supervision.warning`
event, one row. Yellow: at most `yellow_days` working days left (only for limits longer than
that, or a 即办件 would be born yellow) or at most `yellow_share` of the limit left. Red: past
`due_at`. Time is office time on working days (worktime.py). A suspended case's clock is stopped
and raises nothing until it resumes. The background worker calls this every minute; tests call
it with their FrozenClock.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import schemas
from ..changes import change
from ..clock import iso
from ..deadlines import office_hours
from ..models import Case, Department, Window
from ..ratings.models import FollowUp
from ..runtime import Runtime
from .models import Suspension, SupervisionWarning
from .settings import supervision_settings
from .worktime import day_seconds, working_seconds

LEVEL_WORDS = {"yellow": "黄色预警", "red": "红色预警"}


def level_for(rt: Runtime, hall_id: int, start: datetime, due: datetime, now: datetime,
              stopped_seconds: int = 0) -> str | None:
    if now > due:
        return "red"
    cfg = rt.hall_config(hall_id)
    settings = supervision_settings(rt, hall_id)
    opens, closes = office_hours(cfg)
    limit = max(0, working_seconds(rt.calendar, start, due, opens, closes) - stopped_seconds)
    left = working_seconds(rt.calendar, now, due, opens, closes)
    days = settings.yellow_days * day_seconds(opens, closes)
    if (limit > days and left <= days) or left <= settings.yellow_share * limit:
        return "yellow"
    return None


def _subjects(s: Session, hall_id: int) -> list[dict[str, Any]]:
    """Everything whose clock is running now: cases not suspended, open follow-ups."""
    suspended = select(Suspension.case_id).where(Suspension.hall_id == hall_id, Suspension.ended_at.is_(None))
    out = []
    for case in s.scalars(select(Case).where(Case.hall_id == hall_id, Case.status == "accepted",
                                             Case.due_at.is_not(None), Case.id.not_in(suspended))):
        stopped = sum(s.scalars(select(Suspension.stopped_seconds).where(Suspension.case_id == case.id)))
        out.append({"subject": f"case:{case.id}", "kind": "case", "case": case, "follow_up": None,
                    "start": case.accepted_at, "due": case.due_at, "stopped": stopped})
    for f in s.scalars(select(FollowUp).where(FollowUp.hall_id == hall_id,
                                              FollowUp.stage.in_(("verify", "fix", "callback")))):
        out.append({"subject": f"follow_up:{f.id}", "kind": "follow_up", "case": s.get(Case, f.case_id),
                    "follow_up": f, "start": f.opened_at, "due": f.due_at, "stopped": 0})
    return out


def _message(s: Session, item: dict, level: str) -> str:
    case = item["case"]
    window = s.get(Window, case.window_id)
    what = f"办件 {case.number}（{case.matter.name}，{window.number if window else '?'}号窗口）"
    if item["kind"] == "follow_up":
        return f"差评整改{'即将到期' if level == 'yellow' else '已超期'}：{what}，整改期限 {item['due']:%Y-%m-%d %H:%M}"
    return f"{what}{'即将超过承诺时限' if level == 'yellow' else '已超过承诺时限'}，期限 {item['due']:%Y-%m-%d %H:%M}"


def warning_dict(s: Session, w: SupervisionWarning) -> schemas.Warning:
    case = s.get(Case, w.case_id)
    window = s.get(Window, case.window_id) if case else None
    department = s.get(Department, case.department_id) if case else None
    return schemas.Warning(
        id=w.id, kind=w.kind, level=cast(schemas.WarningLevel, w.level), level_word=LEVEL_WORDS.get(w.level, w.level),
        case_id=w.case_id, case_number=case.number if case else None,
        case_status=case.status if case else None,
        matter_name=case.matter.name if case else None,
        window=schemas.WindowBrief(id=window.id, number=window.number, name=window.name) if window else None,
        department=department.name if department else None,
        follow_up_id=w.follow_up_id, due_at=iso(w.due_at), raised_at=iso(w.raised_at),
        resolved_at=iso(w.resolved_at), open=w.resolved_at is None, message=w.message)


def check_warnings(rt: Runtime, now: datetime | None = None) -> list[schemas.Warning]:
    """Raise the warnings that are due now; returns the new ones."""
    now = now or rt.clock.now()
    raised: list[schemas.Warning] = []
    for hall_id in list(rt.halls):
        _resolve(rt, hall_id, now)
        with rt.read() as s:
            wanted = []
            for item in _subjects(s, hall_id):
                level = level_for(rt, hall_id, item["start"], item["due"], now, item["stopped"])
                if level is None:
                    continue
                exists = s.scalar(select(SupervisionWarning.id).where(
                    SupervisionWarning.hall_id == hall_id, SupervisionWarning.subject == item["subject"],
                    SupervisionWarning.level == level, SupervisionWarning.due_at == item["due"]))
                if exists is None:
                    wanted.append((item["subject"], item["kind"], item["case"].id,
                                   item["follow_up"].id if item["follow_up"] else None,
                                   level, item["due"], _message(s, item, level)))
        for subject, kind, case_id, follow_up_id, level, due, message in wanted:
            try:
                raised.append(_raise(rt, hall_id, now, subject, kind, case_id, follow_up_id, level, due, message))
            except IntegrityError:
                continue  # another process raised it first
    return raised


def _raise(rt: Runtime, hall_id: int, now: datetime, subject: str, kind: str, case_id: int,
           follow_up_id: int | None, level: str, due: datetime, message: str) -> schemas.Warning:
    with change(rt, hall_id, "system:电子监察") as ch:
        s = ch.session
        w = SupervisionWarning(hall_id=hall_id, subject=subject, kind=kind, case_id=case_id,
                               follow_up_id=follow_up_id, level=level, due_at=due, raised_at=now,
                               message=message)
        s.add(w)
        s.flush()
        if level == "red":  # the yellow of the same deadline is superseded
            for older in s.scalars(select(SupervisionWarning).where(
                    SupervisionWarning.subject == subject, SupervisionWarning.level == "yellow",
                    SupervisionWarning.resolved_at.is_(None))):
                older.resolved_at = now
        body = warning_dict(s, w)
        case = s.get(Case, case_id)
        ch.emit("supervision.warning", case_id=case_id, window_id=case.window_id if case else None,
                warning=body)
        return body


def _resolve(rt: Runtime, hall_id: int, now: datetime) -> None:
    """Close warnings whose subject is done or whose deadline has moved (no event: nothing new)."""
    with rt.writing() as s:
        for w in s.scalars(select(SupervisionWarning).where(SupervisionWarning.hall_id == hall_id,
                                                            SupervisionWarning.resolved_at.is_(None))):
            if w.kind == "case":
                case = s.get(Case, w.case_id)
                done = case is None or case.status != "accepted" or case.due_at != w.due_at
            else:
                f = s.get(FollowUp, w.follow_up_id)
                done = f is None or f.stage in ("closed", "voided") or f.due_at != w.due_at
            if done:
                w.resolved_at = now
        s.commit()
