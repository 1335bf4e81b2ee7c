"""A new demo hall's past: last month's finished and rated cases, a 差评 in follow-up, and a few
open 承诺件 close to their limits, so the warnings, the case desk and the monthly report have
something to show on first start.

Everything goes through the hall's own operations (issue, call, accept, finish, rate, follow-up)
on a clock set back in time, so the history obeys the same invariants as a real day. Run once,
by `hall demo`, when its database is new (`seed_if_new`).
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from .auth import Principal
from .clock import CST, FrozenClock
from .models import Case, Matter, Staff, StaffWindow, Ticket, Window, WindowMatter
from .ratings.followups import advance
from .ratings.models import FollowUp, Rating
from .ratings.service import RatingRequest, submit_rating
from .runtime import Runtime
from .staffing import sign_in_assigned
from .tickets import issue_ticket
from .cases import finish as finish_case
from .windows import accept, call_next, correct, finish, refuse

CASES_PER_DAY = 6
BAD_COMMENT = "等了一个多小时，窗口中途没人，材料也没有一次性说清楚。"


def seed_if_new(rt: Runtime, hall_id: int, clock: FrozenClock) -> bool:
    """Write the history unless the hall already has a case; True when written."""
    with rt.read() as s:
        if s.scalar(select(func.count(Case.id)).where(Case.hall_id == hall_id)):
            return False
    today = datetime.now(CST).date()
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    clock.set(datetime.combine(first, time(8, 0)))
    sign_in_assigned(rt, hall_id, actor="demo:history")   # the clerks at their windows (staffing.py)
    last_month(rt, hall_id, clock, today)
    promised_last_month(rt, hall_id, clock, today)
    open_promised(rt, hall_id, clock, today)
    return True


def _windows_for(rt: Runtime, hall_id: int) -> dict[int, list[tuple[int, int, int | None]]]:
    """matter id -> [(window id, window number, its clerk's staff id)] in routing order."""
    with rt.read() as s:
        clerks = dict(s.execute(select(StaffWindow.window_id, Staff.id).join(Staff, Staff.id == StaffWindow.staff_id)
                                .where(Staff.hall_id == hall_id, Staff.role == "clerk")).all())
        rows = s.execute(select(WindowMatter.matter_id, Window.id, Window.number)
                         .join(Window, Window.id == WindowMatter.window_id)
                         .where(Window.hall_id == hall_id, Window.active.is_(True))
                         .order_by(WindowMatter.rank)).all()
    out: dict[int, list[tuple[int, int, int | None]]] = {}
    for matter_id, window_id, number in rows:
        out.setdefault(matter_id, []).append((window_id, number, clerks.get(window_id)))
    return out


def _matters(rt: Runtime, hall_id: int, kind: str | None = None) -> list[Matter]:
    with rt.read() as s:
        q = select(Matter).where(Matter.hall_id == hall_id, Matter.active.is_(True)).order_by(Matter.id)
        if kind:
            q = q.where(Matter.kind == kind)
        return list(s.scalars(q))


def _serve(rt: Runtime, hall_id: int, clock: FrozenClock, matter: Matter, place, minutes: int) -> dict:
    """One person's visit: ticket, call, 受理, and after `minutes` 办结. The finished case."""
    window_id, _, staff_id = place
    issue_ticket(rt, hall_id, matter_id=matter.id, actor="demo:history")
    clock.advance(minutes=3)
    call_next(rt, hall_id, window_id, actor="demo:history", staff_id=staff_id)
    clock.advance(minutes=1)
    accept(rt, hall_id, window_id, actor="demo:history", staff_id=staff_id)
    clock.advance(minutes=minutes)
    return finish(rt, hall_id, window_id, actor="demo:history")["case"]


def _query_code(rt: Runtime, case_id: int) -> str:
    with rt.read() as s:
        return s.scalar(select(Ticket.query_code).join(Case, Case.ticket_id == Ticket.id).where(Case.id == case_id))


def last_month(rt: Runtime, hall_id: int, clock: FrozenClock, today: date) -> int:
    """Every working day of last month: a few 即办件 visits, nearly all rated 满意 on the QR page,
    and one 差评 whose follow-up is verified and waiting for its 整改. Returns the cases made."""
    rng = random.Random(today.year * 12 + today.month)
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    routes = _windows_for(rt, hall_id)
    quick = [m for m in _matters(rt, hall_id, "即办件") if routes.get(m.id)]
    made, bad_case = 0, None
    day = first
    while day.month == first.month:
        if rt.calendar.is_workday(day):
            clock.set(datetime.combine(day, time(9, 0)))
            for _ in range(CASES_PER_DAY):
                matter = rng.choice(quick)
                case = _serve(rt, hall_id, clock, matter, routes[matter.id][0], rng.randint(4, 15))
                made += 1
                level = 2 if bad_case is None and day.day >= 20 else rng.choice((5, 5, 5, 5, 4, 4, 3))
                tags = ["等候时间长", "一次性告知不清"] if level == 2 else []
                submit_rating(rt, RatingRequest(level=level, channel="web", query_code=_query_code(rt, case["id"]),
                                                tags=tags, comment=BAD_COMMENT if level == 2 else ""))
                if level == 2:
                    bad_case = case
                clock.advance(minutes=rng.randint(5, 40))
        day += timedelta(days=1)
    if bad_case is not None:
        _verify_bad_rating(rt, hall_id, clock, bad_case["id"])
    return made


def _verify_bad_rating(rt: Runtime, hall_id: int, clock: FrozenClock, case_id: int) -> None:
    """The supervisor has checked the 差评 (核实); its 整改 is still to do."""
    with rt.read() as s:
        follow_up_id = s.scalar(select(FollowUp.id).join(Rating, Rating.id == FollowUp.rating_id)
                                .where(Rating.case_id == case_id))
        supervisor = s.scalar(select(Staff).where(Staff.hall_id == hall_id, Staff.role == "supervisor"))
    clock.advance(hours=20)
    who = Principal(kind="staff", role="supervisor", hall_id=hall_id, name=supervisor.username,
                    staff_id=supervisor.id)
    advance(rt, hall_id, follow_up_id, "verify", "已调取窗口录像并与当事窗口人员谈话，情况属实：当时窗口人员离岗未放置暂停牌。", who)


def open_promised(rt: Runtime, hall_id: int, clock: FrozenClock, today: date, left=(0, 0, -1)) -> int:
    """A few 承诺件 accepted days ago and not yet finished, due `left` working days from today
    (two 黄色预警 and one just past its limit, 红色): the warnings and the case desk have work."""
    routes = _windows_for(rt, hall_id)
    promised = [m for m in _matters(rt, hall_id, "承诺件") if routes.get(m.id) and m.promised_days >= 2]
    made = 0
    for n, (days_left, matter) in enumerate(zip(left, promised)):
        day = _working_days_before(rt, today, matter.promised_days - days_left)
        if day >= today:
            continue
        clock.set(datetime.combine(day, time(10, 0)) + timedelta(minutes=17 * n))
        place = routes[matter.id][0]
        issue_ticket(rt, hall_id, matter_id=matter.id, actor="demo:history")
        clock.advance(minutes=4)
        call_next(rt, hall_id, place[0], actor="demo:history", staff_id=place[2])
        clock.advance(minutes=2)
        accept(rt, hall_id, place[0], actor="demo:history", staff_id=place[2])   # the visit ends here
        made += 1
    return made


def promised_last_month(rt: Runtime, hall_id: int, clock: FrozenClock, today: date) -> int:
    """Last month's 承诺件: accepted at a window, finished at the case desk days later (one of them a
    day late, so 按时办结率 is not a flat 100 %), one refused (不予受理), and one 补正 from two working
    days ago still waiting for its materials. Returns the cases made."""
    routes = _windows_for(rt, hall_id)
    promised = [m for m in _matters(rt, hall_id, "承诺件") if routes.get(m.id) and m.materials]
    if not promised:
        return 0
    with rt.read() as s:
        supervisor = s.scalar(select(Staff).where(Staff.hall_id == hall_id, Staff.role == "supervisor"))
    desk = Principal(kind="staff", role="supervisor", hall_id=hall_id, name=supervisor.username,
                     staff_id=supervisor.id)
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    made, day, n = 0, first, 0
    accepted: list[tuple[dict, date]] = []
    while day.month == first.month:
        if rt.calendar.is_workday(day) and day.weekday() in (1, 3):      # Tuesdays and Thursdays
            matter = promised[n % len(promised)]
            window_id, _, staff_id = routes[matter.id][0]
            clock.set(datetime.combine(day, time(14, 0)))
            issue_ticket(rt, hall_id, matter_id=matter.id, actor="demo:history")
            clock.advance(minutes=2)
            call_next(rt, hall_id, window_id, actor="demo:history", staff_id=staff_id)
            clock.advance(minutes=9)
            if n == 2:
                refuse(rt, hall_id, window_id, "申请事项依法不需要取得行政许可，已告知申请人办理途径",
                       actor="demo:history", staff_id=staff_id)
            else:
                accepted.append((accept(rt, hall_id, window_id, actor="demo:history", staff_id=staff_id)["case"],
                                 day))
            made, n = made + 1, n + 1
        day += timedelta(days=1)
    for i, (case, accepted_on) in enumerate(accepted):
        due = datetime.fromisoformat(case["due_at"]).replace(tzinfo=None)
        late = i == 1
        done_on = rt.calendar.add_working_days(due.date(), 1) if late else max(
            accepted_on + timedelta(days=1), due.date() - timedelta(days=1))
        if done_on >= today:
            continue
        clock.set(datetime.combine(done_on, time(15, 30)))
        finish_case(rt, desk, case["id"])
    # Two working days ago a citizen came without two of the materials: the desk waits for them.
    matter = promised[0]
    window_id, _, staff_id = routes[matter.id][0]
    clock.set(datetime.combine(_working_days_before(rt, today, 2), time(10, 30)))
    issue_ticket(rt, hall_id, matter_id=matter.id, actor="demo:history")
    call_next(rt, hall_id, window_id, actor="demo:history", staff_id=staff_id)
    correct(rt, hall_id, window_id, list(matter.materials[-2:]), actor="demo:history", staff_id=staff_id)
    return made + 1


def _working_days_before(rt: Runtime, today: date, days: int) -> date:
    day = today
    while days > 0:
        day -= timedelta(days=1)
        if rt.calendar.is_workday(day):
            days -= 1
    return day
