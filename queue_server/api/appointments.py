"""Appointments (预约取号) and what the kiosk shows before issuing.

Booking and cancelling are for the online booking system or the hall's admin (a staff login or a
device token of role admin); reading one booking and checking in are for the kiosk too.
"""
from datetime import date

from flask import g, jsonify, request

from .. import appointments as booking, auth, rules
from ..errors import HallError, bad_request
from ..tickets import find_ticket, issue_ticket
from . import api
from .common import field, hall_id, json_body, runtime
from .tickets import check_device_rate

BOOKERS = ("admin",)
READERS = ("admin", "kiosk", "clerk", "supervisor")


@api.post("/appointments")
@auth.require(*BOOKERS)
def appointment_book():
    body = json_body()
    p = g.principal
    made = booking.book(runtime(), p.hall_id,
                        matter_id=field(body, "matter_id", int, required=True),
                        id_number=field(body, "id_number", str, required=True, max_len=24),
                        slot_start=field(body, "slot_start", str, required=True, max_len=40),
                        phone=field(body, "phone", str, max_len=20), actor=p.actor)
    return jsonify({"appointment": made}), 201


@api.get("/appointments/slots")
@auth.require(*READERS)
def appointment_slots():
    matter_id = request.args.get("matter_id", "")
    raw_day = request.args.get("date", "")
    if not (matter_id.isascii() and matter_id.isdigit() and len(matter_id) <= 18):
        raise bad_request("missing_field", "缺少 matter_id（事项编号）", field="matter_id")
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        raise bad_request("invalid_field", "date 应为 2026-03-11 这样的日期", field="date") from None
    return jsonify({"slots": booking.slots(runtime(), g.principal.hall_id, int(matter_id), day),
                    "capacity": booking.SLOT_CAPACITY, "minutes": booking.SLOT_MINUTES})


@api.get("/appointments/<code>")
@auth.require(*READERS)
def appointment_show(code: str):
    return jsonify({"appointment": booking.show(runtime(), g.principal.hall_id, code[:16])})


@api.post("/appointments/<code>/cancel")
@auth.require(*BOOKERS)
def appointment_cancel(code: str):
    p = g.principal
    return jsonify({"appointment": booking.cancel(runtime(), p.hall_id, code[:16], actor=p.actor)})


@api.post("/appointments/check-in")
@auth.require("kiosk", "admin")
def appointment_check_in():
    """`{code}` or `{id_number}` → 201 `{ticket, appointment}`; checking in again returns the
    same ticket (200), so a double tap or a retried request never makes two."""
    p = g.principal
    check_device_rate(p)  # a ticket, like POST /tickets; and by ID number it answers who booked
    body = json_body()
    rt = runtime()
    code = field(body, "code", str, max_len=16)
    id_number = field(body, "id_number", str, max_len=24)
    if not code and not id_number:
        raise bad_request("missing_field", "请输入预约码或身份证号码", field="code")
    code, matter_id, ticket_id = booking.resolve_checkin(rt, p.hall_id, code=code, id_number=id_number)
    created = False
    if ticket_id is None:
        try:
            ticket, created = issue_ticket(rt, p.hall_id, matter_id=matter_id, appointment_code=code,
                                           request_id=field(body, "request_id", str, max_len=64),
                                           device_id=p.device_id, actor=p.actor)
        except HallError as exc:
            if exc.code != "already_checked_in":
                raise
            # A second kiosk (or tap) checked in between our look-up and our claim: its ticket.
            code, matter_id, ticket_id = booking.resolve_checkin(rt, p.hall_id, code=code)
    if ticket_id is not None:
        _, ticket, _ = find_ticket(rt, str(ticket_id), p.hall_id)
    return jsonify({"ticket": ticket,
                    "appointment": booking.show(rt, p.hall_id, code)}), 201 if created else 200


@api.get("/matters/availability")
def matters_availability():
    """Public, like the catalogue: which matters take tickets now, people waiting, the estimate."""
    g.principal = auth.authenticate(runtime(), auth.bearer_token())
    return jsonify(rules.availability(runtime(), hall_id()))
