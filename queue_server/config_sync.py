"""Bringing a hall's config into the database.

Config is the source of truth for the catalogue (departments, matters, windows, staff,
devices). Rows are matched by their codes and updated in place, never deleted: an entry
removed from the config is marked inactive, so past tickets, cases and reports keep pointing at
what they were issued under.
"""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .config import HallConfig
from .devices import synced_token
from .models import Department, Device, Hall, Matter, Staff, StaffWindow, Window, WindowMatter


def _upsert(session: Session, model, keys: dict, values: dict):
    row = session.scalar(select(model).filter_by(**keys))
    if row is None:
        row = model(**keys, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    return row


def _deactivate_missing(session: Session, model, hall_id: int, attr: str, present: set) -> None:
    for row in session.scalars(select(model).where(model.hall_id == hall_id)):
        if getattr(row, attr) not in present:
            row.active = False


def sync_hall(session: Session, cfg: HallConfig) -> int:
    """Write one hall's config into the database; return the hall's id."""
    hall = _upsert(session, Hall, {"code": cfg.code}, {"name": cfg.name})
    session.flush()
    h = hall.id
    departments = {}
    for d in cfg.departments:
        departments[d.code] = _upsert(session, Department, {"hall_id": h, "code": d.code},
                                      {"name": d.name, "active": True})
    _deactivate_missing(session, Department, h, "code", set(departments))
    session.flush()
    matters = {}
    for m in cfg.matters:
        matters[m.code] = _upsert(session, Matter, {"hall_id": h, "code": m.code}, {
            "name": m.name, "department_id": departments[m.department].id, "prefix": m.prefix,
            "kind": m.kind, "promised_days": m.promised_days, "legal_days": m.legal_days,
            "materials": list(m.materials), "fees": m.fees, "description": m.description,
            "process": m.process, "pinyin": m.pinyin, "daily_quota": m.daily_quota,
            "last_ticket_time": m.last_ticket_time.strftime("%H:%M") if m.last_ticket_time else None,
            "active": True})
    _deactivate_missing(session, Matter, h, "code", set(matters))
    session.flush()
    windows = {}
    for w in sorted(cfg.windows, key=lambda w: w.number):
        windows[w.number] = _upsert(session, Window, {"hall_id": h, "number": w.number}, {
            "name": w.name, "order": w.order, "active": True,
            "department_id": departments[w.department].id if w.department else None})
    _deactivate_missing(session, Window, h, "number", set(windows))
    session.flush()
    for w in cfg.windows:
        window = windows[w.number]
        session.execute(delete(WindowMatter).where(WindowMatter.window_id == window.id))
        for rank, code in enumerate(w.matters):
            session.add(WindowMatter(window_id=window.id, matter_id=matters[code].id, rank=rank))
    staff = {}
    for p in cfg.staff:
        staff[p.username] = _upsert(session, Staff, {"hall_id": h, "username": p.username}, {
            "name": p.name, "staff_no": p.staff_no, "role": p.role, "password_hash": p.password_hash,
            "active": True})
    _deactivate_missing(session, Staff, h, "username", set(staff))
    session.flush()
    for p in cfg.staff:
        person = staff[p.username]
        session.execute(delete(StaffWindow).where(StaffWindow.staff_id == person.id))
        for number in p.windows:
            session.add(StaffWindow(staff_id=person.id, window_id=windows[number].id))
    names = set()
    for dev in cfg.devices:
        names.add(dev.name)
        existing = session.scalar(select(Device).where(Device.hall_id == h, Device.name == dev.name))
        token, changed = synced_token(session, existing, dev.token_sha256)  # a rotated token may win
        row = _upsert(session, Device, {"hall_id": h, "name": dev.name}, {
            "kind": dev.kind, "token_sha256": token, "printer": dev.printer,
            "window_id": windows[dev.window].id if dev.window is not None else None})
        if changed:
            row.revoked = False  # a revoked device comes back only with a new token
    for row in session.scalars(select(Device).where(Device.hall_id == h)):
        if row.name not in names:
            row.revoked = True
    session.flush()
    return h
