"""Issuing a ticket: the one place that numbers tickets and puts them in a queue."""
from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select
from sqlalchemy.exc import IntegrityError

from . import appointments, rules
from .changes import change
from .clock import iso
from .errors import bad_request, not_found
from .identity import age_on, clean_id_number, clean_phone, id_hash, mask_id
from .models import Event, Hall, Matter, Ticket
from .numbering import next_number, ticket_number
from .runtime import Runtime
from .staffing import open_window_ids
from .shapes import matter_info, slip_codes, ticket_dict, waiting_ahead, waiting_counts
from .scoping import in_hall, of_hall

PRIORITIES = ("elderly", "disabled", "military", "pregnant", "appointment")
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed by citizens


_INSERT = insert(Ticket).returning(Ticket.id)
_BY_REQUEST = select(Ticket.id).where(Ticket.hall_id == bindparam("hall"), Ticket.request_id == bindparam("request"))


def new_query_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def new_ballot_code() -> str:
    """The slip's barcode: 16 random digits (about 53 bits; CODE128-C prints them as 8 symbols).
    Only the paper carries it, so a rating counted from a slip is one somebody held in hand."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


def issue_ticket(rt: Runtime, hall_id: int, *, matter_id: int, priority: str | None = None,
                 phone: str | None = None, id_number: str | None = None,
                 request_id: str | None = None, device_id: int | None = None,
                 appointment_code: str | None = None, actor: str = "") -> tuple[dict[str, Any], bool]:
    """Return (ticket, created). The same request_id again returns the first ticket, unchanged.

    The hall's rules (hours, quotas, the per-ID limit) are checked in the issuing transaction.
    With `appointment_code` the booking is checked in: the ticket is an `appointment` priority
    ticket for the booked matter and person, and the booking points at it, in the same change."""
    if priority is not None and priority not in PRIORITIES:
        raise bad_request("invalid_priority", f"优先类别应为 {', '.join(PRIORITIES)} 之一")
    if priority == "appointment" and not appointment_code:
        raise bad_request("invalid_priority", "预约优先号只能通过预约签到取得，请到“预约签到取号”输入预约码")
    phone = clean_phone(phone) if phone else None
    id_clean = clean_id_number(id_number) if id_number else None
    try:
        with change(rt, hall_id, actor) as ch:
            s = ch.session
            if request_id is not None:
                # A kiosk's retry: looked up in the issuing transaction (one transaction per
                # issue, not a read before it), and answered without a change or an event.
                first = _first_for_request(s, hall_id, request_id)
                if first is not None:
                    return first, False
            booking = appointments.claim(s, hall_id, appointment_code, ch.now) if appointment_code else None
            if booking is not None:
                matter_id, priority, appointment_code = booking.matter_id, "appointment", booking.code
                phone = phone or booking.phone
            matter = of_hall(matter_info(s, matter_id), hall_id, Matter, active=True)
            age = _elderly_age(rt, hall_id, priority, id_clean, ch.now.date())
            digest = id_hash(rt.secret, id_clean) if id_clean else (booking.id_hash if booking else None)
            rules.check_issue(rt, s, hall_id, matter, ch.now, id_digest=digest, appointment=booking is not None,
                              max_per_id=getattr(rt.hall_config(hall_id), "max_tickets_per_id",
                                                 rules.MAX_TICKETS_PER_ID))
            day = ch.now.date()
            n = next_number(s, hall_id, day, matter.prefix)
            values = dict(
                hall_id=hall_id, day=day, number=ticket_number(matter.prefix, n), matter_id=matter.id,
                target_window_id=None, priority=priority, is_priority=priority is not None,
                status="waiting", issued_at=ch.now, queue_since=ch.now, window_id=None, called_at=None,
                call_count=0, requeued=False, closed_at=None, query_code=new_query_code(),
                ballot_code=new_ballot_code(),
                request_id=request_id, device_id=device_id, appointment_code=appointment_code,
                phone=phone, id_hash=digest,
                id_masked=mask_id(id_clean) if id_clean else (booking.id_masked if booking else None), age=age)
            # One Core INSERT … RETURNING: the unit of work's flush cost more than the insert.
            values["id"] = s.connection().execute(_INSERT, values).scalar_one()
            ticket = Ticket(**values)  # transient: serialised, never flushed
            if booking is not None:
                booking.status, booking.ticket_id = "checked_in", ticket.id
            body = _slip_body(s, ticket, waiting_ahead(s, ticket))
            ch.emit("ticket.issued", ticket_id=ticket.id, ticket=body,
                    waiting=waiting_counts(s, hall_id, day))
        return {**body, **slip_codes(ticket)}, True
    except IntegrityError:
        # The same request_id committed by a concurrent retry: answer with that ticket.
        if request_id is not None:
            existing = _by_request(rt, hall_id, request_id)
            if existing is not None:
                return existing, False
        raise


def _elderly_age(rt: Runtime, hall_id: int, priority: str | None, id_clean: str | None, today) -> int | None:
    """老年人 priority: the age the ID number gives on the hall's today, refused under the hall's
    `elderly_age` (60). Without an ID number there is nothing to check: the clerk sees the person."""
    if priority != "elderly" or not id_clean:
        return None
    age = age_on(id_clean, today)
    limit = getattr(rt.hall_config(hall_id), "elderly_age", 60)
    if age is not None and age < limit:
        raise bad_request("not_elderly", f"老年人优先须年满{limit}周岁，所输身份证号码显示未满{limit}周岁，"
                                         "请取普通号；如有疑问请咨询导办台", age=age)
    return age


def _slip_body(s, ticket: Ticket, ahead: int) -> dict[str, Any]:
    """The ticket as its slip shows it: the windows that serve it and are open now (staffing.py;
    none: the kiosk says so)."""
    body = ticket_dict(s, ticket, waiting_ahead=ahead)
    staffed = open_window_ids(s, ticket.hall_id)
    body["window_ids"] = [w for w in body["window_ids"] if w in staffed]
    return body


def _by_request(rt: Runtime, hall_id: int, request_id: str) -> dict[str, Any] | None:
    with rt.read() as s:
        return _first_for_request(s, hall_id, request_id)


def _first_for_request(s, hall_id: int, request_id: str) -> dict[str, Any] | None:
    """The ticket an earlier request with this id was given, as it stands now."""
    found = s.connection().execute(_BY_REQUEST, {"hall": hall_id, "request": request_id}).scalar()
    if found is None:
        return None
    ticket = s.get(Ticket, found)
    body = _slip_body(s, ticket, waiting_ahead(s, ticket) if ticket.status == "waiting" else 0)
    return {**body, **slip_codes(ticket)}  # the kiosk's retry: it prints the slip


def find_ticket(rt: Runtime, ref: str, hall_id: int | None) -> tuple[Ticket, dict[str, Any], list[dict]]:
    """A ticket by id (staff and devices of its hall) or by query code (anyone holding the slip).
    Only the second answer carries the query code: the caller already holds it."""
    with rt.read() as s:
        by_id = ref.isascii() and ref.isdigit() and len(ref) <= 18 and hall_id is not None
        if by_id:
            ticket = in_hall(s, Ticket, int(ref), hall_id)
        else:   # the slip's code names one ticket in any hall
            ticket = s.scalar(select(Ticket).where(Ticket.query_code == ref.upper()))
            if ticket is None:
                raise not_found("unknown_ticket", "没有找到这张号票")
        body = ticket_dict(s, ticket, waiting_ahead=waiting_ahead(s, ticket) if ticket.status == "waiting" else 0)
        if not by_id:
            body["query_code"] = ticket.query_code
        hall = s.get(Hall, ticket.hall_id)
        body["hall"] = {"code": hall.code, "name": hall.name}
        mine = Event.ticket_id == ticket.id
        if ticket.status == "unserved":   # closed with the day's other leftovers by one event (dayclose.py)
            mine = or_(mine, and_(Event.hall_id == ticket.hall_id, Event.type == "day.closed",
                                  Event.at == ticket.closed_at))
        history = [{"seq": e.seq, "type": e.type, "at": iso(e.at), "window_id": e.window_id,
                    "case_id": e.case_id}
                   for e in s.scalars(select(Event).where(mine).order_by(Event.seq))]
        return ticket, body, history
