"""The case desk (办件台): a case after its visit, worked for days by the window's department.

A 承诺件 accepted on Monday is examined in the back office and finished (办结) on Thursday by
whoever holds it; its result is then picked up at a window or mailed (出件). A case waiting for
materials (补正) is accepted here when they arrive by post, or at a window when the citizen
brings them (windows.accept with its case); it may still be refused (不予受理). Each operation is
one transition of lifecycle.CASE in one change. Desk events carry no window: the window's LED
strip and rating device hear only the visits at their window, not a case finished days later.

Who: a clerk works the cases of the departments of their windows; supervisors and admins the
whole hall's.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, lazyload

from . import lifecycle
from .auth import Principal
from .changes import change
from .clock import iso
from .deadlines import count_due
from .errors import bad_request, conflict, forbidden
from .models import Case, Event, Matter, Ticket, Window
from .runtime import Runtime
from .supervision.alerts import level_for
from .supervision.models import Suspension, SupervisionWarning
from .shapes import case_dict, matter_info
from .scoping import in_hall, of_hall

MAX_REASON = 300
MAX_NOTE = 200
DELIVERY_WORDS = {"window": "窗口领取", "mail": "邮寄送达"}
SCOPES = ("window", "department", "hall")


def check_missing(s: Session, matter_id: int, missing: Any) -> list[str]:
    """The materials a 补正 notice lists: at least one, each one of the matter's own (一次性告知
    names exactly what is missing and nothing unrelated)."""
    if not isinstance(missing, list) or not missing or not all(isinstance(m, str) for m in missing):
        raise bad_request("missing_materials", "请勾选缺少的材料（至少一项）", field="missing")
    known = list(matter_info(s, matter_id).materials)
    unknown = [m for m in missing if m not in known]
    if unknown:
        raise bad_request("unknown_material", f"“{unknown[0][:40]}”不是本事项的申请材料", field="missing")
    return [m for m in known if m in set(missing)]     # in the matter's own order, each once


def check_reason(reason: Any) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise bad_request("missing_field", "请写明不予受理的理由（将告知申请人）", field="reason")
    if len(reason) > MAX_REASON:
        raise bad_request("field_too_long", f"理由最多 {MAX_REASON} 个字", field="reason")
    return reason


def _departments(s: Session, principal: Principal) -> set[int] | None:
    """The departments whose cases this principal works; None: all of the hall's."""
    if principal.role in ("supervisor", "admin"):
        return None
    if principal.role != "clerk":
        raise forbidden("forbidden_role", "当前账号无权查看办件")
    if not principal.window_ids:
        return set()
    return {d for d in s.scalars(select(Window.department_id).where(Window.id.in_(principal.window_ids)))
            if d is not None}


def locked_case(s: Session, principal: Principal, case_id: int) -> Case:
    locked = s.scalar(select(Case).where(Case.id == case_id).with_for_update(of=Case))
    the_case = of_hall(locked, principal.hall_id, Case)
    departments = _departments(s, principal)
    if departments is not None and the_case.department_id not in departments:
        raise forbidden("not_your_department", "只能办理本部门窗口受理的办件")
    return the_case


def _suspended(s: Session, case_id: int) -> bool:
    return s.scalar(select(Suspension.id).where(Suspension.case_id == case_id, Suspension.ended_at.is_(None))
                    .limit(1)) is not None


def _stopped(s: Session, case_ids: list[int]) -> dict[int, int]:
    """Seconds each case's clock stood still in finished suspensions (one query for a page)."""
    if not case_ids:
        return {}
    return dict(s.execute(select(Suspension.case_id, func.sum(Suspension.stopped_seconds))
                          .where(Suspension.case_id.in_(case_ids)).group_by(Suspension.case_id)).all())


def desk_case(rt: Runtime, s: Session, the_case: Case, now: datetime, suspended: bool | None = None,
              stopped: int | None = None) -> dict[str, Any]:
    """A case as the desk shows it: what it is, its light, and what may be done with it now."""
    if suspended is None:
        suspended = _suspended(s, the_case.id)
    if stopped is None:
        stopped = _stopped(s, [the_case.id]).get(the_case.id, 0)
    return case_dict(s, the_case) | {
        "suspended": suspended,
        "light": light(rt, the_case, now, suspended=suspended, stopped=stopped or 0),
        "actions": lifecycle.case_actions(the_case.status, suspended=suspended,
                                          delivered=the_case.delivered_at is not None),
    }


def light(rt: Runtime, the_case: Case, now: datetime, *, suspended: bool = False, stopped: int = 0) -> str | None:
    """红黄灯 by the warning checker's own rule (alerts.level_for: working time left, the hall's
    yellow_days and yellow_share), so the desk and the dashboard's warnings never disagree. A
    suspended case's clock stands still: it is not yellow while it waits (past due is still red)."""
    if the_case.status != "accepted" or the_case.due_at is None:
        return None
    if now > the_case.due_at:
        return "red"
    if suspended or the_case.accepted_at is None:
        return "green"
    level = level_for(rt, the_case.hall_id, the_case.accepted_at, the_case.due_at, now, stopped)
    return "yellow" if level == "yellow" else "green"


def _run(rt: Runtime, principal: Principal, case_id: int, op: str, origin: str | None, apply) -> dict[str, Any]:
    with change(rt, principal.hall_id, principal.actor, origin) as ch:
        s = ch.session
        the_case = locked_case(s, principal, case_id)
        target = lifecycle.require(lifecycle.CASE, the_case.status, op, f"办件 {the_case.number}")
        apply(ch, the_case, target)
        s.flush()
        body = desk_case(rt, s, the_case, ch.now)
        ch.emit(_EVENTS[op], ticket_id=the_case.ticket_id, case_id=the_case.id, case=body,
                case_window_id=the_case.window_id)
        return body


_EVENTS = {"finish": "case.finished", "accept": "case.accepted", "refuse": "case.refused",
           "deliver": "case.delivered"}


def finish(rt: Runtime, principal: Principal, case_id: int, origin: str | None = None) -> dict[str, Any]:
    """办结 from the desk, by whoever holds the case; the SMS rating invitation follows (invitations.py)."""
    def apply(ch, the_case, target):
        if _suspended(ch.session, the_case.id):
            raise conflict("case_suspended", f"办件 {the_case.number} 正在暂停计时，请先恢复计时再办结")
        ticket = ch.session.get(Ticket, the_case.ticket_id)
        if ticket is not None and ticket.status == "serving":
            raise conflict("at_the_window", f"办件 {the_case.number} 的申请人还在窗口，请在窗口办结")
        the_case.status, the_case.finished_at = target, ch.now
    return _run(rt, principal, case_id, "finish", origin, apply)


def start_clock(rt: Runtime, s: Session, the_case: Case, now: datetime) -> None:
    """受理: the case's time limit starts now (电子监察 starts here), at a window or at the desk."""
    matter = matter_info(s, the_case.matter_id)
    days = 0 if matter.kind == lifecycle.IMMEDIATE else matter.promised_days
    due = count_due(rt.calendar, rt.hall_config(the_case.hall_id), now, days)
    the_case.status, the_case.accepted_at, the_case.promised_days = "accepted", now, days
    the_case.due_at, the_case.due_guessed = due.at, due.guessed


def accept(rt: Runtime, principal: Principal, case_id: int, origin: str | None = None) -> dict[str, Any]:
    """The missing materials arrived (e.g. by post): 受理 now, and the clock starts now."""
    return _run(rt, principal, case_id, "accept", origin,
                lambda ch, the_case, _: start_clock(rt, ch.session, the_case, ch.now))


def refuse(rt: Runtime, principal: Principal, case_id: int, reason: Any, origin: str | None = None) -> dict[str, Any]:
    reason = check_reason(reason)

    def apply(ch, the_case, target):
        the_case.status, the_case.reason = target, reason
    return _run(rt, principal, case_id, "refuse", origin, apply)


def deliver(rt: Runtime, principal: Principal, case_id: int, how: Any, note: Any = "",
            origin: str | None = None) -> dict[str, Any]:
    """出件: the result was picked up at a window or mailed (with its tracking number)."""
    if how not in DELIVERY_WORDS:
        raise bad_request("invalid_delivery", "出件方式应为 window（窗口领取）或 mail（邮寄送达）", field="how")
    note = note.strip() if isinstance(note, str) else ""
    if len(note) > MAX_NOTE:
        raise bad_request("field_too_long", f"备注最多 {MAX_NOTE} 个字", field="note")
    if how == "mail" and not note:
        raise bad_request("missing_field", "邮寄送达请填写快递单号", field="note")

    def apply(ch, the_case, target):
        if the_case.delivered_at is not None:
            raise conflict("already_delivered", f"办件 {the_case.number} 已于 {iso(the_case.delivered_at)} 出件")
        the_case.delivered_at, the_case.delivery, the_case.delivery_note = ch.now, how, note
    return _run(rt, principal, case_id, "deliver", origin, apply)


# ---------------------------------------------------------------- reading

@dataclass
class DeskQuery:
    scope: str = "department"         # window | department | hall
    status: str = "open"              # open (correction + accepted) | finished | refused | all
    light: str | None = None          # red | yellow
    matter_id: int | None = None
    q: str = ""                       # case number or matter name
    limit: int = 100
    offset: int = 0


OPEN = ("correction", "accepted")


def _desk_select(s: Session, principal: Principal, query: DeskQuery, now: datetime) -> Select:
    # Not the matter joined in (Case.matter): the page takes it from the catalogue in memory, and
    # sorting thousands of joined rows was most of a list's time.
    stmt = select(Case).options(lazyload(Case.matter)).where(Case.hall_id == principal.hall_id)
    departments = _departments(s, principal)
    if query.scope == "window":
        stmt = stmt.where(Case.window_id.in_(principal.window_ids or {-1}))
    elif departments is not None:   # a clerk's "hall" is their departments' (supervisors': all of it)
        stmt = stmt.where(Case.department_id.in_(departments or {-1}))
    if query.status == "open":
        stmt = stmt.where(Case.status.in_(OPEN))
    elif query.status != "all":
        stmt = stmt.where(Case.status == query.status)
    if query.light == "red":
        stmt = stmt.where(Case.status == "accepted", Case.due_at < now)
    elif query.light == "yellow":
        # The cases the warning checker has found yellow for their present deadline (alerts.py).
        stmt = stmt.where(Case.status == "accepted", Case.due_at >= now, select(SupervisionWarning.id).where(
            SupervisionWarning.case_id == Case.id, SupervisionWarning.kind == "case",
            SupervisionWarning.level == "yellow", SupervisionWarning.due_at == Case.due_at,
            SupervisionWarning.resolved_at.is_(None)).exists())
    if query.matter_id is not None:
        stmt = stmt.where(Case.matter_id == query.matter_id)
    if query.q:
        like = f"%{query.q}%"
        stmt = stmt.where(or_(Case.number.like(like),
                              Case.matter_id.in_(select(Matter.id).where(Matter.hall_id == principal.hall_id,
                                                                          Matter.name.like(like)))))
    return stmt


def desk_list(rt: Runtime, principal: Principal, query: DeskQuery) -> dict[str, Any]:
    """Open cases first by due time (the most urgent on top; waiting-for-materials ones, which have
    no due time, after them by receipt)."""
    if query.scope not in SCOPES:
        raise bad_request("invalid_scope", "范围应为 window（本窗口）、department（本部门）或 hall（全厅）")
    if query.status not in ("open", "finished", "refused", "all", *lifecycle.CASE):
        raise bad_request("invalid_status", "状态应为 open、finished、refused、correction、accepted 或 all")
    if query.light not in (None, "red", "yellow"):
        raise bad_request("invalid_light", "预警应为 red（红灯）或 yellow（黄灯）")
    now = rt.clock.now()
    with rt.read() as s:
        stmt = _desk_select(s, principal, query, now)
        total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        rows = s.scalars(stmt.order_by(Case.due_at.is_(None), Case.due_at, Case.received_at, Case.id)
                         .limit(query.limit).offset(query.offset)).all()
        suspended = set(s.scalars(select(Suspension.case_id).where(
            Suspension.case_id.in_([c.id for c in rows]), Suspension.ended_at.is_(None)))) if rows else set()
        stopped = _stopped(s, [c.id for c in rows])
        return {"cases": [desk_case(rt, s, c, now, c.id in suspended, stopped.get(c.id, 0)) for c in rows],
                "total": total, "now": iso(now)}


def desk_detail(rt: Runtime, principal: Principal, case_id: int) -> dict[str, Any]:
    """One case with its history: every event that named it or its visits' tickets."""
    with rt.read() as s:
        the_case = in_hall(s, Case, case_id, principal.hall_id)
        departments = _departments(s, principal)
        if departments is not None and the_case.department_id not in departments:
            raise forbidden("not_your_department", "只能查看本部门窗口受理的办件")
        events = s.scalars(select(Event).where(Event.hall_id == the_case.hall_id, or_(
            Event.case_id == the_case.id,
            and_(Event.ticket_id == the_case.ticket_id, Event.case_id.is_(None)))).order_by(Event.seq)).all()
        history = [{"seq": e.seq, "type": e.type, "at": iso(e.at), "actor": e.actor,
                    "window": (e.data.get("window") or {}).get("number") if isinstance(e.data, dict) else None,
                    "note": _event_note(e)} for e in events]
        suspensions = [{"reason": x.reason, "started_at": iso(x.started_at), "ended_at": iso(x.ended_at)}
                       for x in s.scalars(select(Suspension).where(Suspension.case_id == the_case.id)
                                          .order_by(Suspension.id))]
        return {"case": desk_case(rt, s, the_case, rt.clock.now()), "history": history, "suspensions": suspensions}


EVENT_WORDS = {
    "ticket.issued": "取号", "ticket.called": "叫号", "ticket.recalled": "重呼", "ticket.skipped": "过号",
    "ticket.requeued": "重新排队", "ticket.transferred": "转移", "case.accepted": "受理",
    "case.correction": "补正告知", "case.refused": "不予受理", "case.finished": "办结",
    "case.delivered": "出件", "case.suspended": "暂停计时", "case.clock_resumed": "恢复计时",
    "rating.received": "收到评价", "rating.defaulted": "默认评价", "day.closed": "日终关闭",
}


def _event_note(e: Event) -> str:
    word = EVENT_WORDS.get(e.type, e.type)
    data = e.data if isinstance(e.data, dict) else {}
    case = data.get("case") or {}
    if e.type == "case.correction" and case.get("missing"):
        return f"{word}：缺 {'、'.join(case['missing'])}"
    if e.type == "case.refused" and case.get("reason"):
        return f"{word}：{case['reason']}"
    if e.type == "case.delivered" and case.get("delivery"):
        return f"{word}：{DELIVERY_WORDS.get(case['delivery'], '')} {case.get('delivery_note') or ''}".rstrip()
    if e.type == "case.suspended":
        return f"{word}：{(data.get('suspension') or {}).get('reason', '')}"
    return word
