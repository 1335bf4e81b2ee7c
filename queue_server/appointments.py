"""Appointments (预约取号): booked online or by the admin, checked in at the kiosk for a priority ticket.

Rules follow DOMAIN §4: real-name (an ID number), booked at least one day and at most five working
days ahead, a limited number of people per time slot, cancelled at least two hours before the
slot, and checked in at the kiosk only around the slot (early: come back later; late: the booking
has lapsed). Recording a lapsed booking as a no-show (失约) and the no-show blacklist are not done
here yet.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import schemas
from .changes import change
from .clock import CST, iso
from .errors import HallError, bad_request, conflict, not_found
from .crypto import EncryptedPhone
from .identity import clean_id_number, clean_phone, id_hash, mask_id, mask_phone
from .models import Base, Id, Matter, Ticket
from .runtime import Runtime
from .workdays import CalendarError
from .scoping import of_hall

SLOT_MINUTES = 30
SLOT_CAPACITY = 4            # people per matter per slot
MIN_DAYS_AHEAD = 1           # book tomorrow at the earliest …
MAX_WORKING_DAYS_AHEAD = 5   # … and at most five working days ahead
CANCEL_HOURS_BEFORE = 2
CHECKIN_EARLY = timedelta(minutes=30)   # the kiosk takes the check-in from 30 min before the slot
CHECKIN_LATE = timedelta(minutes=15)    # until 15 min after its start
STATUS_WORDS = {"booked": "已预约", "checked_in": "已签到取号", "cancelled": "已取消", "no_show": "已失约"}
_CODE_DIGITS = 8             # digits only: typed on the kiosk's number pad or scanned


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_slot", "hall_id", "matter_id", "slot_start"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    id_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(24))
    phone: Mapped[str | None] = mapped_column(EncryptedPhone)  # AES-GCM at rest (crypto.py)
    slot_start: Mapped[datetime] = mapped_column(DateTime)
    slot_end: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="booked")  # booked | checked_in | cancelled | no_show
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)


def hm(t: time | datetime) -> str:
    """8:30, 16:00: how the hall writes a time of day on signs."""
    return f"{t.hour}:{t.minute:02d}"


def day_words(day: date, today: date) -> str:
    if day == today:
        return "今天"
    if day == today + timedelta(days=1):
        return "明天"
    return f"{day.month}月{day.day}日（周{'一二三四五六日'[day.weekday()]}）"


def appointment_dict(s: Session, a: Appointment) -> schemas.Appointment:
    matter = s.get(Matter, a.matter_id)
    ticket = s.get(Ticket, a.ticket_id) if a.ticket_id else None
    return schemas.Appointment(
        code=a.code, status=a.status, status_label=STATUS_WORDS.get(a.status, a.status),
        matter_id=a.matter_id, matter_name=matter.name if matter else None,
        id_number=a.id_masked, phone=mask_phone(a.phone),
        slot_start=iso(a.slot_start), slot_end=iso(a.slot_end),
        checkin_from=iso(a.slot_start - CHECKIN_EARLY), checkin_until=iso(a.slot_start + CHECKIN_LATE),
        ticket={"id": ticket.id, "number": ticket.number} if ticket else None,
        created_at=iso(a.created_at), cancelled_at=iso(a.cancelled_at))


def parse_slot(raw: str) -> datetime:
    """An ISO time; with an offset it is converted to hall time (CST), without one it is hall time."""
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise bad_request("invalid_slot", "预约时段格式不正确，应为 2026-03-11T10:00 这样的时间") from None
    if when.tzinfo is not None:
        when = when.astimezone(CST).replace(tzinfo=None)
    return when


def _is_workday(rt: Runtime, day: date) -> bool:
    try:
        return rt.calendar.is_workday(day, strict=True)
    except CalendarError as exc:
        raise HallError("calendar_missing", f"{exc}；暂不能预约该日期", 409) from None


def check_slot(rt: Runtime, hall_id: int, matter: Matter, start: datetime, now: datetime) -> None:
    """The slot exists (on the grid, in opening hours, before the matter's last ticket time) and
    is within the booking window: from tomorrow to the fifth working day ahead."""
    cfg = rt.hall_config(hall_id)
    if start.second or start.microsecond or start.minute % SLOT_MINUTES:
        raise bad_request("invalid_slot", f"预约时段应从整点或半点开始（每{SLOT_MINUTES}分钟一个时段）")
    end = start + timedelta(minutes=SLOT_MINUTES)
    last = datetime.strptime(matter.last_ticket_time, "%H:%M").time() if matter.last_ticket_time else cfg.close_time
    if start.time() < cfg.open_time or end.time() > cfg.close_time or end.date() != start.date() \
            or start.time() >= last:
        raise bad_request("invalid_slot", f"{matter.name}可预约的时段为 {hm(cfg.open_time)}–{hm(min(last, cfg.close_time))}，"
                                          "请另选时段")
    today = now.date()
    if (start.date() - today).days < MIN_DAYS_AHEAD:
        raise bad_request("too_late_to_book", "预约需至少提前1天，当天请直接到自助取号机取号")
    if not _is_workday(rt, start.date()):
        raise bad_request("not_a_workday", f"{day_words(start.date(), today)}是休息日，大厅不办公，请选择工作日")
    ahead = sum(1 for n in range((start.date() - today).days)
                if _is_workday(rt, today + timedelta(days=n + 1)))
    if ahead > MAX_WORKING_DAYS_AHEAD:
        raise bad_request("too_early_to_book", f"最多可预约{MAX_WORKING_DAYS_AHEAD}个工作日内的时段，请稍后再预约")


def _on_day(day: date):
    """Slots starting on `day` (a range, so it uses the index and works on every database)."""
    start = datetime.combine(day, time())
    return (Appointment.slot_start >= start) & (Appointment.slot_start < start + timedelta(days=1))


def _active_matter(s: Session, hall_id: int, matter_id: int, lock: bool = False) -> Matter:
    query = select(Matter).where(Matter.id == matter_id)
    matter = of_hall(s.scalar(query.with_for_update(of=Matter) if lock else query), hall_id, Matter, active=True)
    return matter


def _booked_in_slot(s: Session, hall_id: int, matter_id: int, start: datetime) -> int:
    return s.scalar(select(func.count()).select_from(Appointment).where(
        Appointment.hall_id == hall_id, Appointment.matter_id == matter_id, Appointment.slot_start == start,
        Appointment.status.in_(("booked", "checked_in")))) or 0


def book(rt: Runtime, hall_id: int, *, matter_id: int, id_number: str, slot_start: str,
         phone: str | None = None, actor: str = "") -> schemas.Appointment:
    """Book one place in a slot; the matter row is locked so two bookings never overfill a slot."""
    id_clean = clean_id_number(id_number)
    phone = clean_phone(phone) if phone else None
    start = parse_slot(slot_start)
    digest = id_hash(rt.secret, id_clean)
    for _ in range(5):
        try:
            with change(rt, hall_id, actor) as ch:
                s = ch.session
                matter = _active_matter(s, hall_id, matter_id, lock=True)
                check_slot(rt, hall_id, matter, start, ch.now)
                same = s.scalar(select(Appointment).where(
                    Appointment.hall_id == hall_id, Appointment.id_hash == digest,
                    Appointment.matter_id == matter.id, Appointment.status == "booked",
                    _on_day(start.date())))
                if same is not None:
                    raise conflict("already_booked", f"您已预约{day_words(start.date(), ch.now.date())}"
                                   f"{hm(same.slot_start)}的{matter.name}，预约码 {same.code}；如需改时段请先取消原预约")
                if _booked_in_slot(s, hall_id, matter.id, start) >= SLOT_CAPACITY:
                    raise conflict("slot_full", f"{day_words(start.date(), ch.now.date())}{hm(start)}的{matter.name}"
                                   "预约已满，请选择其他时段")
                a = Appointment(hall_id=hall_id, code=_new_code(), matter_id=matter.id, id_hash=digest,
                                id_masked=mask_id(id_clean), phone=phone, slot_start=start,
                                slot_end=start + timedelta(minutes=SLOT_MINUTES), status="booked",
                                created_at=ch.now)
                s.add(a)
                s.flush()
                body = appointment_dict(s, a)
                ch.emit("appointment.booked", appointment=body)
                return body
        except IntegrityError:
            continue  # the random code was taken: draw again
    raise conflict("code_exhausted", "预约码生成失败，请重试")


def _new_code() -> str:
    return str(secrets.randbelow(9 * 10 ** (_CODE_DIGITS - 1)) + 10 ** (_CODE_DIGITS - 1))


def _find(s: Session, hall_id: int, code: str, lock: bool = False) -> Appointment:
    code = (code or "").strip()
    query = select(Appointment).where(Appointment.hall_id == hall_id, Appointment.code == code)
    a = s.scalar(query.with_for_update() if lock else query)
    if a is None:
        raise not_found("unknown_appointment", "没有找到这个预约码，请核对后重新输入")
    return a


def show(rt: Runtime, hall_id: int, code: str) -> schemas.Appointment:
    with rt.read() as s:
        return appointment_dict(s, _find(s, hall_id, code))


def cancel(rt: Runtime, hall_id: int, code: str, actor: str = "") -> schemas.Appointment:
    with change(rt, hall_id, actor) as ch:
        s = ch.session
        a = _find(s, hall_id, code, lock=True)
        if a.status != "booked":
            raise conflict("not_cancellable", f"该预约{STATUS_WORDS.get(a.status, a.status)}，不能取消")
        if ch.now > a.slot_start - timedelta(hours=CANCEL_HOURS_BEFORE):
            raise conflict("cancel_too_late", f"预约开始前{CANCEL_HOURS_BEFORE}小时内不能取消"
                           f"（您的预约为{day_words(a.slot_start.date(), ch.now.date())}{hm(a.slot_start)}）")
        a.status, a.cancelled_at = "cancelled", ch.now
        s.flush()
        body = appointment_dict(s, a)
        ch.emit("appointment.cancelled", appointment=body)
        return body


def resolve_checkin(rt: Runtime, hall_id: int, *, code: str | None = None,
                    id_number: str | None = None) -> tuple[str, int, int | None]:
    """(code, matter_id, ticket_id if already checked in) of the booking this person checks in now.

    By ID number, the booking whose check-in window is open now wins; otherwise the refusal
    names the nearest one today, so the citizen learns when to come back."""
    now = rt.clock.now()
    with rt.read() as s:
        if code:
            a = _find(s, hall_id, code)
        else:
            digest = id_hash(rt.secret, clean_id_number(id_number or ""))
            rows = s.scalars(select(Appointment).where(
                Appointment.hall_id == hall_id, Appointment.id_hash == digest,
                Appointment.status.in_(("booked", "checked_in")),
                _on_day(now.date()))
                .order_by(Appointment.slot_start)).all()
            if not rows:
                raise not_found("no_appointment_today", "没有找到您今天的预约，请核对身份证号码，或直接取号")
            a = next((r for r in rows if r.status == "booked" and _window_open(r, now)), None) \
                or next((r for r in rows if r.status == "checked_in"), None) \
                or min(rows, key=lambda r: abs((r.slot_start - now).total_seconds()))
        return a.code, a.matter_id, a.ticket_id if a.status == "checked_in" else None


def _window_open(a: Appointment, now: datetime) -> bool:
    return a.slot_start - CHECKIN_EARLY <= now <= a.slot_start + CHECKIN_LATE


def claim(s: Session, hall_id: int, code: str, now: datetime) -> Appointment:
    """Inside the issuing transaction: the booking must be checked in now; it is locked so two
    kiosks cannot both turn it into a ticket."""
    a = _find(s, hall_id, code, lock=True)
    if a.status == "cancelled":
        raise conflict("appointment_cancelled", "该预约已取消，请直接取号或重新预约")
    if a.status == "no_show":
        raise conflict("appointment_lapsed", "该预约已失约作废，请直接取号或重新预约")
    if a.status == "checked_in":
        raise conflict("already_checked_in", "该预约已签到取号，请留意叫号")
    slot = f"{day_words(a.slot_start.date(), now.date())}{hm(a.slot_start)}–{hm(a.slot_end)}"
    if a.slot_start.date() != now.date():
        raise conflict("appointment_not_today", f"您预约的是{slot}，请在预约当天来签到取号")
    if now < a.slot_start - CHECKIN_EARLY:
        raise conflict("checkin_too_early", f"您预约的是{slot}，请于{hm(a.slot_start - CHECKIN_EARLY)}后再来签到取号")
    if now > a.slot_start + CHECKIN_LATE:
        raise conflict("checkin_too_late", f"您预约的是{slot}，已超过签到时间（{hm(a.slot_start + CHECKIN_LATE)}前），"
                       "预约已失效，请直接取号排队或重新预约")
    return a


def slots(rt: Runtime, hall_id: int, matter_id: int, day: date) -> list[dict[str, Any]]:
    """The day's slots for a matter with the places left (for the booking system)."""
    cfg = rt.hall_config(hall_id)
    with rt.read() as s:
        matter = _active_matter(s, hall_id, matter_id)
        last = datetime.strptime(matter.last_ticket_time, "%H:%M").time() if matter.last_ticket_time else cfg.close_time
        taken = dict(s.execute(select(Appointment.slot_start, func.count()).where(
            Appointment.hall_id == hall_id, Appointment.matter_id == matter.id,
            Appointment.status.in_(("booked", "checked_in")),
            _on_day(day)).group_by(Appointment.slot_start)).all())
    out = []
    start = datetime.combine(day, cfg.open_time)
    if start.minute % SLOT_MINUTES:
        start += timedelta(minutes=SLOT_MINUTES - start.minute % SLOT_MINUTES)
    while (start + timedelta(minutes=SLOT_MINUTES)).date() == day and start.time() < last \
            and (start + timedelta(minutes=SLOT_MINUTES)).time() <= cfg.close_time:
        out.append({"start": iso(start), "end": iso(start + timedelta(minutes=SLOT_MINUTES)),
                    "left": max(0, SLOT_CAPACITY - taken.get(start, 0))})
        start += timedelta(minutes=SLOT_MINUTES)
    return out


def booked_today(s: Session, hall_id: int, matter_id: int, day: date) -> int:
    """Bookings still to come today: their places are kept out of the walk-in quota."""
    return s.scalar(select(func.count()).select_from(Appointment).where(
        Appointment.hall_id == hall_id, Appointment.matter_id == matter_id, Appointment.status == "booked",
        _on_day(day))) or 0
