"""How tickets, cases and windows look in the API, the events and the snapshot (one shape everywhere)."""
from __future__ import annotations

from collections import Counter as Tally
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .clock import iso
from .identity import mask_phone
from .models import Case, Department, Event, Hall, Matter, Staff, Ticket, Window, WindowMatter

PRIORITY_LABELS = {"elderly": "老年人", "disabled": "残疾人", "military": "军人",
                   "pregnant": "孕妇", "appointment": "预约"}


def window_brief(window: Window | None) -> dict[str, Any] | None:
    if window is None:
        return None
    return {"id": window.id, "number": window.number, "name": window.name}


def ticket_dict(session: Session, ticket: Ticket, *, waiting_ahead: int | None = None) -> dict[str, Any]:
    window = session.get(Window, ticket.window_id) if ticket.window_id else None
    out = {
        "id": ticket.id,
        "number": ticket.number,
        "matter_id": ticket.matter_id,
        "matter_name": ticket.matter.name,
        "department_id": ticket.matter.department_id,
        "status": ticket.status,
        "priority": ticket.priority,
        "priority_label": PRIORITY_LABELS.get(ticket.priority or ""),
        "issued_at": iso(ticket.issued_at),
        "called_at": iso(ticket.called_at),
        "closed_at": iso(ticket.closed_at),
        "call_count": ticket.call_count,
        "window": window_brief(window),
        "target_window_id": ticket.target_window_id,
        "window_ids": serving_window_ids(session, ticket),
        "query_code": ticket.query_code,
        "requeued": ticket.requeued,
        "phone": mask_phone(ticket.phone),
        "id_number": ticket.id_masked,
        "appointment_code": ticket.appointment_code,
    }
    if waiting_ahead is not None:
        out["waiting_ahead"] = waiting_ahead
    return out


def case_dict(session: Session, case: Case) -> dict[str, Any]:
    staff = session.get(Staff, case.staff_id) if case.staff_id else None
    on_time = None
    if case.finished_at is not None and case.due_at is not None:
        on_time = case.finished_at <= case.due_at
    return {
        "id": case.id,
        "number": case.number,
        "ticket_id": case.ticket_id,
        "matter_id": case.matter_id,
        "matter_name": case.matter.name,
        "kind": case.kind,
        "department_id": case.department_id,
        "window_id": case.window_id,
        "staff": {"id": staff.id, "name": staff.name, "staff_no": staff.staff_no} if staff else None,
        "status": case.status,
        "accepted_at": iso(case.accepted_at),
        "due_at": iso(case.due_at),
        "finished_at": iso(case.finished_at),
        "on_time": on_time,
    }


def serving_window_ids(session: Session, ticket: Ticket) -> list[int]:
    if ticket.target_window_id is not None:
        return [ticket.target_window_id]
    return list(windows_by_matter(session, ticket.hall_id).get(ticket.matter_id, []))


def waiting_ahead(session: Session, ticket: Ticket) -> int:
    """Tickets of the same queue that will be called before this one."""
    same_queue = (Ticket.target_window_id == ticket.target_window_id
                  if ticket.target_window_id is not None
                  else (Ticket.matter_id == ticket.matter_id) & Ticket.target_window_id.is_(None))
    earlier = Ticket.queue_since < ticket.queue_since
    ahead = (Ticket.is_priority.is_(True) & earlier) if ticket.is_priority else (Ticket.is_priority.is_(True) | earlier)
    return session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.hall_id == ticket.hall_id, Ticket.day == ticket.day, Ticket.status == "waiting",
        Ticket.id != ticket.id, same_queue, ahead)) or 0


def waiting_counts(session: Session, hall_id: int, day: date) -> dict[str, Any]:
    """Waiting tickets by prefix, matter, department and window: what every screen shows."""
    rows = session.execute(
        select(Ticket.matter_id, Ticket.target_window_id, Matter.prefix, Matter.department_id, func.count())
        .join(Matter, Matter.id == Ticket.matter_id)
        .where(Ticket.hall_id == hall_id, Ticket.day == day, Ticket.status == "waiting")
        .group_by(Ticket.matter_id, Ticket.target_window_id, Matter.prefix, Matter.department_id)).all()
    windows_of = windows_by_matter(session, hall_id)
    by_prefix, by_matter, by_department, by_window = Tally(), Tally(), Tally(), Tally()
    total = 0
    for matter_id, target, prefix, department_id, n in rows:
        total += n
        by_prefix[prefix] += n
        by_matter[str(matter_id)] += n
        by_department[str(department_id)] += n
        for window_id in ([target] if target is not None else windows_of.get(matter_id, [])):
            by_window[str(window_id)] += n
    return {"total": total, "by_prefix": dict(sorted(by_prefix.items())), "by_matter": dict(by_matter),
            "by_department": dict(by_department), "by_window": dict(by_window)}


def windows_by_matter(session: Session, hall_id: int) -> dict[int, list[int]]:
    """Which active windows serve each matter. The catalogue changes only when the config is
    synced at start, so the server keeps this map in the sessions' `info["routes"]`."""
    cached = session.info.get("routes", {}).get(hall_id)
    if cached is not None:
        return cached
    return load_routes(session, hall_id)


def load_routes(session: Session, hall_id: int) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for window_id, matter_id in session.execute(
            select(WindowMatter.window_id, WindowMatter.matter_id)
            .join(Window, Window.id == WindowMatter.window_id)
            .where(Window.hall_id == hall_id, Window.active.is_(True))
            .order_by(WindowMatter.window_id)):
        out.setdefault(matter_id, []).append(window_id)
    return out


def window_dict(session: Session, window: Window, waiting: int | None = None) -> dict[str, Any]:
    current = session.get(Ticket, window.current_ticket_id) if window.current_ticket_id else None
    staff = session.get(Staff, window.staff_id) if window.staff_id else None
    department = session.get(Department, window.department_id) if window.department_id else None
    out = {
        "id": window.id, "number": window.number, "name": window.name, "state": window.state,
        "department": department.name if department else None,
        "staff": {"name": staff.name, "staff_no": staff.staff_no} if staff else None,
        "current": None if current is None else {
            "id": current.id, "number": current.number, "status": current.status,
            "matter_name": current.matter.name, "issued_at": iso(current.issued_at),
            "called_at": iso(current.called_at), "call_count": current.call_count,
            "priority_label": PRIORITY_LABELS.get(current.priority or ""),
            "case": _case_brief(session, current) if current.status == "serving" else None},
    }
    if waiting is not None:
        out["waiting"] = waiting
    return out


def _case_brief(session: Session, ticket: Ticket) -> dict[str, Any] | None:
    case = session.scalar(select(Case).where(Case.ticket_id == ticket.id))
    if case is None:
        return None
    return {"id": case.id, "number": case.number, "kind": case.kind,
            "accepted_at": iso(case.accepted_at), "due_at": iso(case.due_at)}


def queue_snapshot(session: Session, hall_id: int, day: date, now) -> dict[str, Any]:
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
    return {
        "hall": {"code": hall.code, "name": hall.name},
        "seq": hall.event_seq,
        "at": iso(now),
        "day": day.isoformat(),
        "waiting": counts,
        "windows": [window_dict(session, w, counts["by_window"].get(str(w.id), 0)) for w in windows],
        "recent_calls": [{"type": t, "at": iso(at), "ticket_number": number, "window_number": wn,
                          "window_name": wname, "recall": t == "ticket.recalled"}
                         for t, at, number, wn, wname in recent],
    }
