"""不计时环节: time the law does not count (听证, 专家评审, 现场勘验, 检验检测 … 行政许可法 §45)
stops the case's clock. On resume the due time moves by the office time that passed while it was
stopped, and both the reason and the old and new due times are kept."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .. import lifecycle, schemas
from ..auth import Principal
from ..cases import locked_case
from ..changes import change
from ..clock import iso
from ..deadlines import count_due, office_hours
from ..errors import bad_request, conflict, forbidden
from ..models import Case
from ..runtime import Runtime
from ..shapes import case_dict
from .models import Suspension
from .worktime import add_working_seconds, working_seconds
from ..scoping import in_hall

MAX_REASON = 300


def suspension_dict(x: Suspension) -> schemas.Suspension:
    return schemas.Suspension(id=x.id, case_id=x.case_id, reason=x.reason, started_at=iso(x.started_at),
                              started_by=x.started_by, ended_at=iso(x.ended_at), ended_by=x.ended_by,
                              stopped_seconds=x.stopped_seconds, due_before=iso(x.due_before),
                              due_after=iso(x.due_after))


def _case(s, case_id: int, principal: Principal, op: str) -> Case:
    """The case, locked, if this principal works it (the case desk's rule: its hall, its
    department) and `op` is allowed now."""
    if principal.role not in ("clerk", "supervisor", "admin"):
        raise forbidden("forbidden_role", "当前账号无权暂停计时")
    case = locked_case(s, principal, case_id)
    lifecycle.require(lifecycle.CASE, case.status, op, f"办件 {case.number}",
                      code="case_finished" if case.status == "finished" else "wrong_state")
    return case


def _open(s, case_id: int) -> Suspension | None:
    return s.scalar(select(Suspension).where(Suspension.case_id == case_id, Suspension.ended_at.is_(None)))


def suspend(rt: Runtime, hall_id: int, case_id: int, reason: str, principal: Principal,
            origin: str | None = None) -> dict[str, Any]:
    reason = (reason or "").strip()
    if not reason:
        raise bad_request("missing_field", "请写明暂停计时的原因（如专家评审、现场勘验）", field="reason")
    if len(reason) > MAX_REASON:
        raise bad_request("field_too_long", f"原因最多 {MAX_REASON} 个字")
    with change(rt, hall_id, principal.actor, origin) as ch:
        s = ch.session
        case = _case(s, case_id, principal, "suspend")
        if _open(s, case.id) is not None:
            raise conflict("already_suspended", f"办件 {case.number} 已在暂停计时中")
        x = Suspension(hall_id=hall_id, case_id=case.id, reason=reason, started_at=ch.now,
                       started_by=principal.actor, due_before=case.due_at)
        s.add(x)
        s.flush()
        body = {"case": case_dict(s, case) | {"suspended": True}, "suspension": suspension_dict(x)}
        ch.emit("case.suspended", ticket_id=case.ticket_id, case_id=case.id, window_id=case.window_id, **body)
        return body


def resume(rt: Runtime, hall_id: int, case_id: int, principal: Principal,
           origin: str | None = None) -> dict[str, Any]:
    with change(rt, hall_id, principal.actor, origin) as ch:
        s = ch.session
        case = _case(s, case_id, principal, "resume_clock")
        x = _open(s, case.id)
        if x is None:
            raise conflict("not_suspended", f"办件 {case.number} 没有在暂停计时")
        cfg = rt.hall_config(hall_id)
        opens, closes = office_hours(cfg)
        x.ended_at, x.ended_by = ch.now, principal.actor
        x.stopped_seconds = working_seconds(rt.calendar, x.started_at, ch.now, opens, closes)
        if case.due_at is not None and case.status == "accepted" and case.promised_days is not None:
            # Counted from 受理 with every finished stop, as the recount at start-up counts it.
            s.flush()
            stops = s.execute(select(Suspension.started_at, Suspension.ended_at).where(
                Suspension.case_id == case.id, Suspension.ended_at.is_not(None))
                .order_by(Suspension.ended_at, Suspension.id)).all()
            due = count_due(rt.calendar, cfg, case.accepted_at, case.promised_days, stops)
            case.due_at, case.due_guessed = due.at, due.guessed
        elif case.due_at is not None and case.status == "accepted":   # a case from before days were kept
            case.due_at = add_working_seconds(rt.calendar, case.due_at, x.stopped_seconds, opens, closes)
        x.due_after = case.due_at
        s.flush()
        body = {"case": case_dict(s, case) | {"suspended": False}, "suspension": suspension_dict(x)}
        ch.emit("case.clock_resumed", ticket_id=case.ticket_id, case_id=case.id, window_id=case.window_id, **body)
        return body


def suspensions_of(rt: Runtime, hall_id: int, case_id: int) -> list[dict[str, Any]]:
    with rt.read() as s:
        in_hall(s, Case, case_id, hall_id)   # another hall's case: as if there were none
        return [suspension_dict(x) for x in s.scalars(select(Suspension).where(
            Suspension.hall_id == hall_id, Suspension.case_id == case_id).order_by(Suspension.id))]
