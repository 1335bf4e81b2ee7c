"""What a window does: call-next, recall, skip, requeue, transfer, pause, resume, and what ends a
visit: accept (受理), correct (补正), refuse (不予受理), finish (办结 of a 即办件).

This module owns the ticket's life at the window. Each operation is one `change()`: it locks the
window row, checks the state, writes, and announces one event. Call-next is exactly-once because
the next ticket is chosen and claimed in one statement inside one write transaction: BEGIN
IMMEDIATE on SQLite, `FOR UPDATE SKIP LOCKED` on PostgreSQL (a second window skips a ticket
being claimed and takes the next one instead of waiting or taking the same).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, case, func, or_, select, update

from . import lifecycle
from .cases import check_missing, check_reason, start_clock
from .changes import Change, change
from .errors import bad_request, conflict, not_found
from .models import Case, Matter, Staff, Ticket, Window, WindowMatter
from .numbering import case_number, next_number
from .runtime import Runtime
from .staffing import open_window_ids, open_windows_serving, shown_state
from .shapes import case_dict, matter_info, ticket_dict, waiting_counts, window_brief, window_state, windows_by_matter
from .scoping import in_hall, of_hall

STATE_WORDS = lifecycle.TICKET_WORDS


# The window operations read and write the window and its ticket as plain rows (Core statements
# with RETURNING) rather than ORM objects: a change here is a handful of single-row writes, and
# loading objects to let the unit of work write them back was a third of call-next's CPU time.
_WINDOW = Window.__table__
_TICKET = Ticket.__table__

_LOCK_WINDOW = (update(Window)
                .where(Window.id == bindparam("window"), Window.hall_id == bindparam("hall"),
                       Window.active.is_(True))
                .values(event_seq=Window.event_seq + 1, active_at=bindparam("now"))
                .returning(*_WINDOW.c))


def lock_window(ch: Change, window_id: int) -> Row:
    """Lock the window and take its next event number in one statement (and note the activity
    the idle close counts from, staffing.py): every operation here
    announces one event about the window, so the number is due anyway, and a separate bump
    was one more round trip with the row already locked. PostgreSQL's row lock for an UPDATE
    (FOR NO KEY UPDATE) also lets other rows' foreign-key checks on the window go on."""
    window = ch.session.connection().execute(_LOCK_WINDOW, {"window": window_id, "hall": ch.hall_id,
                                                             "now": ch.now}).first()
    if window is None:
        raise not_found("unknown_window", "没有这个窗口")
    ch.window_numbered = (window.id, window.event_seq)
    return window


# Built once; the columns to SET are the keys of the parameters they run with.
_WRITE_WINDOW = update(Window).where(Window.id == bindparam("the_window")).returning(*_WINDOW.c)
_TAKE_TICKET = (update(Ticket).where(Ticket.id == bindparam("the_ticket"), Ticket.status == bindparam("wanted"))
                .returning(*_TICKET.c))
_RECALL_TICKET = _TAKE_TICKET.values(call_count=Ticket.call_count + 1)
_READ_TICKET = select(*_TICKET.c).where(Ticket.id == bindparam("the_ticket"))


def _set_window(ch: Change, window: Row, **values: Any) -> Row:
    """Write the locked window's columns; the window as it now is."""
    return ch.session.connection().execute(_WRITE_WINDOW, {"the_window": window.id, **values}).one()


def _ticket_row(ch: Change, ticket_id: int | None) -> Row | None:
    if ticket_id is None:
        return None
    return ch.session.connection().execute(_READ_TICKET, {"the_ticket": ticket_id}).first()


def _current(ch: Change, window: Row, wanted: str, hint: str = "") -> Row:
    """The window's current ticket, which must be in the `wanted` state."""
    ticket = _ticket_row(ch, window.current_ticket_id)
    if ticket is None:
        raise conflict("no_current_ticket", f"{window.number}号窗口当前没有号，请先叫号")
    if ticket.status != wanted:
        state = STATE_WORDS.get(ticket.status, ticket.status)
        raise conflict("wrong_state", f"{ticket.number}号当前{state}，{hint or '不能进行此操作'}",
                       ticket_status=ticket.status)
    return ticket


def _take_current(ch: Change, window: Row, wanted: str, hint: str = "", statement=_TAKE_TICKET,
                  **values: Any) -> Row:
    """Write the window's current ticket if it is in the `wanted` state, in one statement; the
    ticket as it now is. The statement's condition is the check: when it writes nothing the
    ticket is read again only to say why."""
    if window.current_ticket_id is not None:
        written = ch.session.connection().execute(
            statement, {"the_ticket": window.current_ticket_id, "wanted": wanted, **values}).first()
        if written is not None:
            return written
    _current(ch, window, wanted, hint)
    raise conflict("wrong_state", "号票状态刚刚改变，请刷新后重试")   # not while the window is locked


def _announce(ch: Change, type: str, window: Row, ticket: Row | Ticket | None, *, queue_changed: bool,
              **extra: Any) -> dict | None:
    """Emit the change's event; return the ticket as the event shows it (the API answers the same).

    Only a change to the waiting tickets (call-next, requeue, transfer) carries the waiting
    counts: recall, skip, accept, finish, pause and resume leave every count as the event
    before said, and the counts query was a fifth of a skip's time. Screens keep the counts of
    the last event that carried them."""
    s = ch.session
    body = ticket_dict(s, ticket) if ticket else None
    if queue_changed:
        extra["waiting"] = waiting_counts(s, window.hall_id, ch.now.date())
    ch.emit(type, ticket_id=ticket.id if ticket else None, window_id=window.id,
            case_id=extra.get("case", {}).get("id") if "case" in extra else None,
            window=window_state(window), ticket=body, **extra)
    return body


def _claim_statement(ranked: bool):
    """Claim the next ticket for a window: one UPDATE of the first waiting ticket the window
    serves, returning the claimed row, built once per window order (SQL built per call cost
    more than running it). FOR UPDATE SKIP LOCKED in the choice: a ticket another window is
    claiming is passed over, not waited for and not taken twice.

    The plain order is exactly ix_tickets_next's, so the database reads waiting tickets in that
    order and stops at the first this window serves; a ranked window's order depends on the
    window, so its waiting queue is sorted on each call."""
    window_id = bindparam("window")
    order = [Ticket.is_priority.desc(), Ticket.queue_since, Ticket.id]
    chosen = select(Ticket.id).outerjoin(WindowMatter, and_(WindowMatter.matter_id == Ticket.matter_id,
                                                            WindowMatter.window_id == window_id))
    if ranked:
        # A number series is ranked by its best-ranked matter at this window, and within a
        # series the order is the issue order: a window ranking 企业设立 (A) over 个体登记 (A)
        # never calls A005 before A003, so the slip's 前面还有 N 人 holds (README, 叫号顺序).
        series = (select(Matter.prefix, func.min(WindowMatter.rank).label("rank"))
                  .join(WindowMatter, WindowMatter.matter_id == Matter.id)
                  .where(WindowMatter.window_id == window_id)
                  .group_by(Matter.prefix).subquery("series"))
        chosen = (chosen.join(Matter, Matter.id == Ticket.matter_id)
                  .outerjoin(series, series.c.prefix == Matter.prefix))
        order.insert(1, case((Ticket.target_window_id == window_id, -1), else_=series.c.rank))
    chosen = (chosen
              .where(Ticket.hall_id == bindparam("hall"), Ticket.day == bindparam("today"),
                     Ticket.status == "waiting",
                     or_(Ticket.target_window_id == window_id,
                         and_(Ticket.target_window_id.is_(None), WindowMatter.window_id.is_not(None))))
              .order_by(*order)
              .limit(1)
              .with_for_update(skip_locked=True, of=Ticket)
              .correlate(None)
              .scalar_subquery())
    return (update(Ticket).where(Ticket.id == chosen)
            .values(status="called", window_id=window_id, called_at=bindparam("now"),
                    call_count=Ticket.call_count + 1)
            .returning(*_TICKET.c))


_CLAIM = {True: _claim_statement(True), False: _claim_statement(False)}


def call_next(rt: Runtime, hall_id: int, window_id: int, actor: str = "", staff_id: int | None = None) -> dict:
    with change(rt, hall_id, actor) as ch:
        window = lock_window(ch, window_id)
        if window.state == "paused":
            raise conflict("window_paused", f"{window.number}号窗口已暂停服务，请先恢复")
        if window.signed_in_at is None:   # the API signs the caller in and calls again
            raise conflict("window_closed", f"{window.number}号窗口未签到，请先签到")
        current = _ticket_row(ch, window.current_ticket_id)
        if current is not None and current.status in ("called", "serving"):
            raise conflict("window_busy", f"{current.number}号尚未处理完：请先受理、补正、过号或转移"
                           if current.status == "called" else f"{current.number}号正在办理：请先办结",
                           ticket_number=current.number)
        ticket = ch.session.connection().execute(_CLAIM[window.order == "ranked"], {
            "window": window.id, "hall": hall_id, "today": ch.now.date(), "now": ch.now}).first()
        if ticket is None:
            raise not_found("queue_empty", "当前没有等候的号")
        window = _set_window(ch, window, current_ticket_id=ticket.id,
                             **({"staff_id": staff_id} if staff_id is not None else {}))
        return _announce(ch, "ticket.called", window, ticket, queue_changed=True)


def recall(rt: Runtime, hall_id: int, window_id: int, actor: str = "") -> dict:
    with change(rt, hall_id, actor) as ch:
        window = lock_window(ch, window_id)
        ticket = _take_current(ch, window, "called", statement=_RECALL_TICKET)
        return _announce(ch, "ticket.recalled", window, ticket, queue_changed=False)


def skip(rt: Runtime, hall_id: int, window_id: int, actor: str = "") -> dict:
    with change(rt, hall_id, actor) as ch:
        window = lock_window(ch, window_id)
        ticket = _take_current(ch, window, "called", status="skipped", closed_at=ch.now)
        window = _set_window(ch, window, current_ticket_id=None)
        return _announce(ch, "ticket.skipped", window, ticket, queue_changed=False)


def requeue(rt: Runtime, hall_id: int, window_id: int, ticket_id: int, actor: str = "") -> dict:
    """A skipped citizen came back: once, the clerk puts the ticket back a few places behind."""
    with change(rt, hall_id, actor) as ch:
        s = ch.session
        window = lock_window(ch, window_id)
        ticket = in_hall(s, Ticket, ticket_id, hall_id)
        if ticket.status != "skipped":
            raise conflict("wrong_state", f"{ticket.number}号{STATE_WORDS.get(ticket.status, ticket.status)}，只有已过号的号可以重新排队")
        if ticket.requeued:
            raise conflict("already_requeued", f"{ticket.number}号已经重新排队过一次，请重新取号")
        if ticket.day != ch.now.date():
            raise conflict("ticket_expired", f"{ticket.number}号不是今天的号，请重新取号")
        serves = s.scalar(select(WindowMatter.window_id).where(
            WindowMatter.window_id == window.id, WindowMatter.matter_id == ticket.matter_id))
        if serves is None and ticket.window_id != window.id and ticket.target_window_id != window.id:
            raise conflict("not_this_window", f"{window.number}号窗口不办理{ticket.number}号的事项")
        behind = rt.hall_config(hall_id).requeue_behind
        ahead = s.scalars(select(Ticket.queue_since).where(
            Ticket.hall_id == hall_id, Ticket.day == ticket.day, Ticket.status == "waiting",
            Ticket.matter_id == ticket.matter_id, Ticket.is_priority == ticket.is_priority)
            .order_by(Ticket.queue_since, Ticket.id).offset(behind - 1).limit(1)).first() if behind else None
        ticket.queue_since = ahead + timedelta(microseconds=1) if ahead is not None else ch.now
        ticket.status, ticket.requeued, ticket.closed_at, ticket.window_id = "waiting", True, None, None
        s.flush()
        return _announce(ch, "ticket.requeued", window, ticket, queue_changed=True)


def transfer(rt: Runtime, hall_id: int, window_id: int, *, to_window: int | None = None,
             to_matter: int | None = None, actor: str = "") -> dict:
    """Send the citizen to another window or matter; the ticket keeps its place (issue time)."""
    if (to_window is None) == (to_matter is None):
        raise bad_request("invalid_transfer", "请指定 to_window（转到窗口）或 to_matter（转到事项）其中之一")
    with change(rt, hall_id, actor) as ch:
        s = ch.session
        window = lock_window(ch, window_id)
        called = _current(ch, window, "called")   # no ticket to move is said before a wrong target
        if to_window is not None:
            target = in_hall(s, Window, to_window, hall_id, active=True, message="要转到的窗口不存在")
            if target.id == window.id:
                raise bad_request("invalid_transfer", "不能转到本窗口")
            _check_window_target(s, target, called)
            moved = {"target_window_id": target.id}
            to = {"to_window": window_brief(target)}
        else:
            matter = in_hall(s, Matter, to_matter, hall_id, active=True, message="要转到的事项不存在")
            _check_matter_target(s, hall_id, matter, called)
            moved = {"matter_id": matter.id, "target_window_id": None}
            to = {"to_matter": {"id": matter.id, "name": matter.name}}
        ticket = _take_current(ch, window, "called", status="waiting", window_id=None, **moved)
        window = _set_window(ch, window, current_ticket_id=None)
        return _announce(ch, "ticket.transferred", window, ticket, **to, queue_changed=True)


def _serves(s, window_id: int, matter_id: int) -> bool:
    return s.scalar(select(WindowMatter.window_id).where(
        WindowMatter.window_id == window_id, WindowMatter.matter_id == matter_id)) is not None


def _check_window_target(s, target: Window, ticket: Row) -> None:
    """A ticket goes only to a window that serves its matter and is open now (staffing.py)."""
    matter = matter_info(s, ticket.matter_id)
    if not _serves(s, target.id, ticket.matter_id):
        raise conflict("window_not_serving", f"{target.number}号窗口不办理「{matter.name}」，不能转入；"
                       "如需改办其他事项，请选择“转到事项”", window_number=target.number)
    state = shown_state(target)
    if state == "closed":
        raise conflict("window_closed", f"{target.number}号窗口未开放（无人签到），不能转入",
                       window_number=target.number)
    if state == "paused":
        raise conflict("window_paused", f"{target.number}号窗口已暂停服务，不能转入", window_number=target.number)


def _check_matter_target(s, hall_id: int, matter: Matter, ticket: Row) -> None:
    """A matter change keeps the place; it needs a window open for the new matter."""
    if matter.id == ticket.matter_id:
        raise bad_request("same_matter", f"{ticket.number}号已是「{matter.name}」，无需转移")
    if not open_windows_serving(s, hall_id, matter.id):
        raise conflict("no_open_window", f"「{matter.name}」暂无窗口开放，不能转入；请稍后再转或请市民咨询导办台")


def transfer_targets(rt: Runtime, hall_id: int, window_id: int) -> dict:
    """Where the window's called ticket may go: the other open windows serving its matter (the
    ticket keeps its place there), and the matters it may change to (those with an open window)."""
    with rt.read() as s:
        window = in_hall(s, Window, window_id, hall_id, active=True)
        ticket = s.get(Ticket, window.current_ticket_id) if window.current_ticket_id else None
        if ticket is None or ticket.status != "called":
            raise conflict("no_current_ticket", f"{window.number}号窗口当前没有可转移的号（只有已叫号、未受理的号可以转移）")
        counts = waiting_counts(s, hall_id, rt.clock.now().date())["by_window"]
        windows = [window_brief(w) | {"state": shown_state(w), "waiting": counts.get(str(w.id), 0),
                                      "staff": _staff_name(s, w)}
                   for w in open_windows_serving(s, hall_id, ticket.matter_id) if w.id != window.id]
        open_ids = open_window_ids(s, hall_id)
        routes = windows_by_matter(s, hall_id)
        matters = []
        for m in s.scalars(select(Matter).where(Matter.hall_id == hall_id, Matter.active.is_(True),
                                                Matter.id != ticket.matter_id).order_by(Matter.id)):
            staffed = [w for w in routes.get(m.id, []) if w in open_ids]
            if staffed:
                matters.append({"id": m.id, "name": m.name, "kind": m.kind, "department_id": m.department_id,
                                "department_name": m.department.name, "pinyin": m.pinyin, "window_ids": staffed})
        return {"ticket": {"id": ticket.id, "number": ticket.number, "matter_id": ticket.matter_id,
                           "matter_name": matter_info(s, ticket.matter_id).name},
                "windows": windows, "matters": matters}


def _staff_name(s, window: Window) -> str | None:
    staff = s.get(Staff, window.staff_id) if window.staff_id else None
    return staff.name if staff else None


def set_paused(rt: Runtime, hall_id: int, window_id: int, paused: bool, actor: str = "") -> dict:
    with change(rt, hall_id, actor) as ch:
        window = lock_window(ch, window_id)
        want = "paused" if paused else "open"
        if window.state == want:
            raise conflict("wrong_state", f"{window.number}号窗口已经{'暂停' if paused else '在服务'}")
        window = _set_window(ch, window, state=want)
        _announce(ch, "window.paused" if paused else "window.resumed", window, None, queue_changed=False)
        return window_state(window)


def _receive(ch: Change, rt: Runtime, window: Row, ticket: Row, staff_id: int | None, **fields: Any) -> Case:
    """The case a visit hands in, numbered in the hall's case series."""
    s = ch.session
    matter = matter_info(s, ticket.matter_id)
    cfg = rt.hall_config(window.hall_id)
    n = next_number(s, window.hall_id, ch.now.date(), "#case")
    the_case = Case(hall_id=window.hall_id, number=case_number(cfg.code, ch.now.date(), n), ticket_id=ticket.id,
                    matter_id=matter.id, window_id=window.id, staff_id=staff_id or window.staff_id,
                    department_id=matter.department_id, kind=matter.kind, received_at=ch.now, **fields)
    s.add(the_case)
    return the_case


def _end_visit(ch: Change, window: Row, current: Row, op: str, kind: str, hint: str = "") -> tuple[Row, Row]:
    """Move the window's called ticket (`current`) on by `op`; when its visit is over, the window is free."""
    target = lifecycle.require(lifecycle.TICKET, current.status, op, f"{current.number}号", kind, hint)
    values = {"status": target} | ({"closed_at": ch.now} if target == "done" else {})
    ticket = _take_current(ch, window, "called", hint, **values)
    if target == "done":
        window = _set_window(ch, window, current_ticket_id=None)
    return window, ticket


def _correction_case(s, hall_id: int, case_id: int, matter_id: int) -> Case:
    """A case waiting for its materials, which the citizen has now brought (to any window of the matter)."""
    the_case = of_hall(s.scalar(select(Case).where(Case.id == case_id).with_for_update(of=Case)), hall_id, Case)
    lifecycle.require(lifecycle.CASE, the_case.status, "accept", f"办件 {the_case.number}")
    if the_case.matter_id != matter_id:
        raise conflict("wrong_matter", f"办件 {the_case.number} 与当前号票不是同一事项")
    return the_case


def accept(rt: Runtime, hall_id: int, window_id: int, actor: str = "", staff_id: int | None = None,
           *, case_id: int | None = None, finish_now: bool = False) -> dict:
    """受理 the called ticket's application; its clock starts now. A 承诺件's visit ends here and
    the window may call the next person at once (the case goes on at the case desk); a 即办件 is
    served on (办理中) until 办结 at the window, or accepted and finished in one step
    (`finish_now`). `case_id`: a case waiting for materials (补正) that the citizen now completes."""
    with change(rt, hall_id, actor) as ch:
        s = ch.session
        window = lock_window(ch, window_id)
        called = _current(ch, window, "called")
        kind = matter_info(s, called.matter_id).kind
        window, ticket = _end_visit(ch, window, called, "accept_finish" if finish_now else "accept", kind,
                                    "只有即办件可以受理并当场办结" if finish_now else "")
        if case_id is not None:
            the_case = _correction_case(s, hall_id, case_id, ticket.matter_id)
            the_case.ticket_id, the_case.window_id = ticket.id, window.id   # accepted at this visit
            the_case.staff_id = staff_id or window.staff_id or the_case.staff_id
        else:
            the_case = _receive(ch, rt, window, ticket, staff_id)
        start_clock(rt, ch.session, the_case, ch.now)
        if finish_now:
            the_case.status, the_case.finished_at = "finished", ch.now
        s.flush()
        body = case_dict(s, the_case)
        shown = _announce(ch, "case.finished" if finish_now else "case.accepted", window, ticket, case=body,
                          queue_changed=False)
        return {"case": body, "ticket": shown}


def correct(rt: Runtime, hall_id: int, window_id: int, missing: list[str], actor: str = "",
            staff_id: int | None = None) -> dict:
    """补正: the materials are incomplete. The citizen is told once, in writing, exactly which are
    missing (行政许可法 §32); the case waits without a clock until they are complete."""
    with change(rt, hall_id, actor) as ch:
        s = ch.session
        window = lock_window(ch, window_id)
        called = _current(ch, window, "called")
        matter = matter_info(s, called.matter_id)
        missing = check_missing(s, called.matter_id, missing)
        window, ticket = _end_visit(ch, window, called, "correct", matter.kind)
        the_case = _receive(ch, rt, window, ticket, staff_id, status="correction", missing=missing)
        s.flush()
        body = case_dict(s, the_case)
        shown = _announce(ch, "case.correction", window, ticket, case=body, queue_changed=False)
        return {"case": body, "ticket": shown}


def refuse(rt: Runtime, hall_id: int, window_id: int, reason: str, actor: str = "",
           staff_id: int | None = None) -> dict:
    """不予受理: the application is not for this hall or not admissible; the reason is kept and told."""
    reason = check_reason(reason)
    with change(rt, hall_id, actor) as ch:
        s = ch.session
        window = lock_window(ch, window_id)
        called = _current(ch, window, "called")
        window, ticket = _end_visit(ch, window, called, "refuse", matter_info(s, called.matter_id).kind)
        the_case = _receive(ch, rt, window, ticket, staff_id, status="refused", reason=reason)
        s.flush()
        body = case_dict(s, the_case)
        shown = _announce(ch, "case.refused", window, ticket, case=body, queue_changed=False)
        return {"case": body, "ticket": shown}


def finish(rt: Runtime, hall_id: int, window_id: int, actor: str = "") -> dict:
    """办结 at the window: the 即办件 being served is done; the citizen can now rate it."""
    with change(rt, hall_id, actor) as ch:
        s = ch.session
        window = lock_window(ch, window_id)
        ticket = _take_current(ch, window, "serving", "尚未受理的号不能办结：请先受理",
                               status="done", closed_at=ch.now)
        the_case = s.scalar(select(Case).where(Case.ticket_id == ticket.id))
        lifecycle.require(lifecycle.CASE, the_case.status, "finish", f"办件 {the_case.number}")
        the_case.status, the_case.finished_at = "finished", ch.now
        window = _set_window(ch, window, current_ticket_id=None)
        s.flush()
        body = case_dict(s, the_case)
        shown = _announce(ch, "case.finished", window, ticket, case=body, queue_changed=False)
        return {"case": body, "ticket": shown}
