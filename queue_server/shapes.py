"""Tickets, cases and windows built from the database in their one shape (`schemas.py`) for the
API, the events and the snapshot; and the waiting counts and 前面还有 N 人 that go with them."""
from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from . import schemas
from .clock import iso
from .identity import mask_phone
from .lifecycle import CASE_WORDS, TICKET_WORDS, ticket_actions
from .models import Case, Department, Event, Hall, Matter, Staff, StaffWindow, Ticket, Window, WindowMatter
from .staffing import shown_state

PRIORITY_LABELS = {"elderly": "老年人", "disabled": "残疾人", "military": "军人",
                   "pregnant": "孕妇", "appointment": "预约"}


@dataclass(frozen=True)
class MatterInfo:
    """What the hot path needs of a matter, kept in memory: the catalogue changes only when the
    config is synced at start, and a lookup per ticket was one statement in ten."""
    id: int
    hall_id: int
    name: str
    department_id: int
    prefix: str
    kind: str
    promised_days: int
    daily_quota: int
    last_ticket_time: str | None
    active: bool
    materials: tuple[str, ...] = ()

    @classmethod
    def of(cls, m: Matter) -> "MatterInfo":
        return cls(m.id, m.hall_id, m.name, m.department_id, m.prefix, m.kind, m.promised_days,
                   m.daily_quota, m.last_ticket_time, m.active, tuple(m.materials or ()))


def matter_info(session: Session, matter_id: int) -> MatterInfo | None:
    cached = session.info.get("matters")
    if cached is not None and matter_id in cached:
        return cached[matter_id]
    m = session.get(Matter, matter_id)
    return MatterInfo.of(m) if m is not None else None


def window_brief(window: Window | None) -> schemas.WindowBrief | None:
    if window is None:
        return None
    return schemas.WindowBrief(id=window.id, number=window.number, name=window.name)


def window_state(window) -> schemas.WindowState:
    """The window and its state, as every event about a window carries it."""
    return schemas.WindowState(id=window.id, number=window.number, name=window.name, state=shown_state(window))


def window_brief_by_id(session: Session, window_id: int | None) -> schemas.WindowBrief | None:
    if window_id is None:
        return None
    cached = session.info.get("windows")
    if cached is not None and window_id in cached:
        return dict(cached[window_id])
    return window_brief(session.get(Window, window_id))


def ticket_dict(session: Session, ticket: Ticket, *, waiting_ahead: int | None = None) -> schemas.Ticket:
    """The ticket as the hall sees it: events, snapshots, window answers. Without the slip's
    codes: the query code and the ballot code are the citizen's (see `slip_codes`)."""
    matter = matter_info(session, ticket.matter_id)
    out = schemas.Ticket(
        id=ticket.id,
        number=ticket.number,
        matter_id=ticket.matter_id,
        matter_name=matter.name,
        department_id=matter.department_id,
        status=ticket.status,
        status_text=TICKET_WORDS.get(ticket.status, ticket.status),
        actions=ticket_actions(ticket.status, matter.kind, requeued=ticket.requeued),
        kind=matter.kind,
        priority=ticket.priority,
        priority_label=PRIORITY_LABELS.get(ticket.priority or ""),
        issued_at=iso(ticket.issued_at),
        called_at=iso(ticket.called_at),
        closed_at=iso(ticket.closed_at),
        call_count=ticket.call_count,
        window=window_brief_by_id(session, ticket.window_id),
        target_window_id=ticket.target_window_id,
        window_ids=serving_window_ids(session, ticket),
        requeued=ticket.requeued,
        phone=mask_phone(ticket.phone),
        id_number=ticket.id_masked,
        appointment_code=ticket.appointment_code,
    )
    if ticket.priority == "elderly" and getattr(ticket, "age", None) is not None:
        out["age"] = ticket.age   # the clerk sees it (老年人 priority)
    if waiting_ahead is not None:
        out["waiting_ahead"] = waiting_ahead
    return out


def slip_codes(ticket: Ticket) -> schemas.SlipCodes:
    """What only the slip carries: the query code (progress page, web rating) and the ballot code
    (the barcode counted in 投箱评议). Given to the kiosk that prints the slip, in its issuing
    answer, and to whoever already holds the query code; never to displays, devices or windows."""
    return schemas.SlipCodes(query_code=ticket.query_code, ballot_code=ticket.ballot_code)


def case_dict(session: Session, case: Case) -> schemas.Case:
    """The one case shape: window answers, the case desk, events and the rating pages (the desk
    adds its light and actions, a rating device whether it may rate: `schemas.Case`)."""
    staff = session.get(Staff, case.staff_id) if case.staff_id else None
    window = window_brief_by_id(session, case.window_id)
    on_time = None
    if case.finished_at is not None and case.due_at is not None:
        on_time = case.finished_at <= case.due_at
    return schemas.Case(
        id=case.id,
        number=case.number,
        ticket_id=case.ticket_id,
        matter_id=case.matter_id,
        matter_name=matter_info(session, case.matter_id).name,
        kind=case.kind,
        department_id=case.department_id,
        window_id=case.window_id,
        window=window,
        window_number=window["number"] if window else None,
        staff=schemas.StaffBrief(id=staff.id, name=staff.name, staff_no=staff.staff_no) if staff else None,
        staff_name=staff.name if staff else None,
        status=case.status,
        status_text=CASE_WORDS.get(case.status, case.status),
        received_at=iso(case.received_at),
        accepted_at=iso(case.accepted_at),
        due_at=iso(case.due_at),
        due_guessed=case.due_guessed,
        finished_at=iso(case.finished_at),
        on_time=on_time,
        promised_days=case.promised_days,
        missing=case.missing or [],
        reason=case.reason,
        delivered_at=iso(case.delivered_at),
        delivery=case.delivery,
        delivery_note=case.delivery_note,
    )


def serving_window_ids(session: Session, ticket: Ticket) -> list[int]:
    if ticket.target_window_id is not None:
        return [ticket.target_window_id]
    return list(windows_by_matter(session, ticket.hall_id).get(ticket.matter_id, []))


def _ahead_statement(targeted: bool, priority: bool):
    """Built once per shape with bound parameters: building SQL expressions per request was most
    of the hot path's Python time (see bench/README.md)."""
    same_queue = (Ticket.target_window_id == bindparam("target") if targeted
                  else Ticket.matter_id.in_(bindparam("matters", expanding=True)) & Ticket.target_window_id.is_(None))
    earlier = Ticket.queue_since < bindparam("since")
    ahead = (Ticket.is_priority.is_(True) & earlier) if priority else (Ticket.is_priority.is_(True) | earlier)
    return select(func.count()).select_from(Ticket).where(
        Ticket.hall_id == bindparam("hall_id"), Ticket.day == bindparam("day"),
        Ticket.status == "waiting", Ticket.id != bindparam("ticket_id"), same_queue, ahead)


_AHEAD = {(t, p): _ahead_statement(t, p) for t in (False, True) for p in (False, True)}


def series_neighbours(session: Session, hall_id: int, matter_id: int) -> list[int]:
    """The matters whose tickets queue with this one's: the same number series (prefix) and at
    least one window serving both. Within a series the windows call in issue order (windows.py),
    so an earlier ticket of any of these is called first and is counted in 前面还有 N 人."""
    cache = session.info.setdefault("series_neighbours", {})
    key = (hall_id, matter_id)
    if key not in cache:
        routes = windows_by_matter(session, hall_id)
        mine = matter_info(session, matter_id)
        windows = set(routes.get(matter_id, []))
        cache[key] = sorted({matter_id} | {
            other for other, at in routes.items()
            if other != matter_id and windows & set(at)
            and (info := matter_info(session, other)) is not None and mine is not None and info.prefix == mine.prefix})
    return cache[key]


def waiting_ahead(session: Session, ticket: Ticket) -> int:
    """Tickets that will be called before this one: priority ones, then earlier ones of the same
    number series at the windows that serve it (or of the same window, for a transferred one)."""
    stmt = _AHEAD[(ticket.target_window_id is not None, bool(ticket.is_priority))]
    matters = series_neighbours(session, ticket.hall_id, ticket.matter_id) if ticket.target_window_id is None else []
    return session.connection().execute(stmt, {
        "target": ticket.target_window_id, "matters": matters, "since": ticket.queue_since,
        "hall_id": ticket.hall_id, "day": ticket.day, "ticket_id": ticket.id}).scalar() or 0


_WAITING = (select(Ticket.matter_id, Ticket.target_window_id, func.count())
            .where(Ticket.hall_id == bindparam("hall_id"), Ticket.day == bindparam("day"),
                   Ticket.status == "waiting")
            .group_by(Ticket.matter_id, Ticket.target_window_id))


def waiting_counts(session: Session, hall_id: int, day: date) -> schemas.Waiting:
    """Waiting tickets by prefix, matter, department and window: what every screen shows."""
    rows = session.connection().execute(_WAITING, {"hall_id": hall_id, "day": day}).all()
    by_prefix, by_matter, by_department, untargeted, targeted = Tally(), Tally(), Tally(), Tally(), Tally()
    total = 0
    for matter_id, target, n in rows:
        matter = matter_info(session, matter_id)
        total += n
        by_prefix[matter.prefix] += n
        by_matter[str(matter_id)] += n
        by_department[str(matter.department_id)] += n
        if target is None:
            untargeted[matter_id] += n
        else:
            targeted[str(target)] += n
    by_window: dict[str, int] = {}
    for matters, keys in window_groups(session, hall_id):
        n = sum(untargeted[m] for m in matters)
        if n:
            by_window.update(dict.fromkeys(keys, n))
    for key, n in targeted.items():
        by_window[key] = by_window.get(key, 0) + n
    return schemas.Waiting(total=total, by_prefix=dict(sorted(by_prefix.items())), by_matter=dict(by_matter),
                           by_department=dict(by_department), by_window=by_window)


def windows_by_matter(session: Session, hall_id: int) -> dict[int, list[int]]:
    """Which active windows serve each matter. The catalogue changes only when the config is
    synced at start, so the server keeps this map in the sessions' `info["routes"]`."""
    cached = session.info.get("routes", {}).get(hall_id)
    if cached is not None:
        return cached
    return load_routes(session, hall_id)


def window_groups(session: Session, hall_id: int) -> list[tuple[tuple[int, ...], list[str]]]:
    """The hall's active windows grouped by the matters they serve, as (matters, window keys).
    Windows serving the same matters wait on the same tickets, and a hall's windows are a few
    such groups (一窗通办: often one), so counting per group instead of per window and matter
    took waiting_counts, which every change to the queue carries, from 0.39 to 0.21 ms (its query included)
    in a hall of 100 windows."""
    cached = session.info.get("window_groups", {}).get(hall_id)
    if cached is not None:
        return cached
    return group_windows(windows_by_matter(session, hall_id))


def group_windows(routes: dict[int, list[int]]) -> list[tuple[tuple[int, ...], list[str]]]:
    served: dict[int, list[int]] = {}
    for matter_id, window_ids in routes.items():
        for window_id in window_ids:
            served.setdefault(window_id, []).append(matter_id)
    groups: dict[tuple[int, ...], list[str]] = {}
    for window_id, matters in sorted(served.items()):
        groups.setdefault(tuple(sorted(matters)), []).append(str(window_id))
    return list(groups.items())


def load_catalogue(session: Session, info: dict) -> None:
    """Fill the sessions' shared `info` with every hall's routes, matters and window names."""
    hall_ids = session.scalars(select(Hall.id)).all()
    info["routes"] = {h: load_routes(session, h) for h in hall_ids}
    info["window_groups"] = {h: group_windows(info["routes"][h]) for h in hall_ids}
    info["matters"] = {m.id: MatterInfo.of(m) for m in session.scalars(select(Matter))}
    info["windows"] = {w.id: window_brief(w) for w in session.scalars(select(Window))}
    info["series_neighbours"] = {}   # filled as asked (series_neighbours)


def load_routes(session: Session, hall_id: int) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for window_id, matter_id in session.execute(
            select(WindowMatter.window_id, WindowMatter.matter_id)
            .join(Window, Window.id == WindowMatter.window_id)
            .where(Window.hall_id == hall_id, Window.active.is_(True))
            .order_by(WindowMatter.window_id)):
        out.setdefault(matter_id, []).append(window_id)
    return out


def window_dict(session: Session, window: Window, waiting: int | None = None) -> schemas.Window:
    """The window as the screens see it. Its current ticket is the whole ticket (the caller page
    needs no second look-up), with the case it is being served in."""
    current = session.get(Ticket, window.current_ticket_id) if window.current_ticket_id else None
    staff = session.get(Staff, window.staff_id) if window.staff_id else None
    department = session.get(Department, window.department_id) if window.department_id else None
    out = schemas.Window(
        id=window.id, number=window.number, name=window.name, state=shown_state(window),
        department=department.name if department else None,
        staff=schemas.StaffBrief(name=staff.name, staff_no=staff.staff_no) if staff else None,
        current=None if current is None else ticket_dict(session, current) | {"case": _case_of(session, current)})
    if waiting is not None:
        out["waiting"] = waiting
    return out


def _case_of(session: Session, ticket: Ticket) -> schemas.Case | None:
    """The case a ticket at the window is being served in (a 即办件 between 受理 and 办结)."""
    if ticket.status != "serving":
        return None
    case = session.scalar(select(Case).where(Case.ticket_id == ticket.id))
    return case_dict(session, case) if case is not None else None


def queue_snapshot(session: Session, hall_id: int, day: date, now) -> schemas.Snapshot:
    """The whole picture a screen needs, with the `seq` it is consistent with."""
    hall = session.get(Hall, hall_id)
    counts = waiting_counts(session, hall_id, day)
    windows = session.scalars(select(Window).where(Window.hall_id == hall_id, Window.active.is_(True))
                              .order_by(Window.number)).all()
    recent = session.execute(
        select(Event.type, Event.at, Ticket.number, Window.number, Window.name)
        .join(Ticket, Ticket.id == Event.ticket_id).join(Window, Window.id == Event.window_id)
        .where(Event.hall_id == hall_id, Event.type.in_(("ticket.called", "ticket.recalled")),
               Ticket.day == day)
        .order_by(Event.seq.desc()).limit(12)).all()
    return schemas.Snapshot(
        hall={"code": hall.code, "name": hall.name},
        seq=hall.event_seq,
        at=iso(now),
        day=day.isoformat(),
        waiting=counts,
        windows=[window_dict(session, w, counts["by_window"].get(str(w.id), 0)) | {"window_seq": w.event_seq}
                 for w in windows],
        recent_calls=[schemas.RecentCall(type=t, at=iso(at), ticket_number=number, window_number=wn,
                                         window_name=wname, recall=t == "ticket.recalled")
                      for t, at, number, wn, wname in recent],
    )


def window_clerks(s: Session, hall_id: int) -> dict[int, tuple[str, str]]:
    """{window id: (clerk's name, 工号)} of the clerks assigned to windows, as the slip names them."""
    rows = s.execute(select(StaffWindow.window_id, Staff.name, Staff.staff_no)
                     .join(Staff, Staff.id == StaffWindow.staff_id)
                     .where(Staff.hall_id == hall_id, Staff.role == "clerk"))
    return {window_id: (name, staff_no or "") for window_id, name, staff_no in rows}
