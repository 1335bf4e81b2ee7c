import math

from flask import current_app, g, jsonify

from .. import auth, lookups
from ..errors import HallError
from ..ratelimit import SlidingWindow
from ..tickets import find_ticket, issue_ticket
from . import api
from .common import field, json_body, runtime


def check_device_rate(p: auth.Principal) -> None:
    """A kiosk's issuing requests per minute ([hall] kiosk_tickets_per_minute): a person takes
    a ticket in tens of seconds, so more than that is a stuck key or a runaway script printing
    the day's quota away. Checked before any database work; staff (the admin) are not limited."""
    if p.device_id is None:
        return
    rt = runtime()
    limit = rt.hall_config(p.hall_id).kiosk_tickets_per_minute
    window = current_app.extensions.setdefault("kiosk_ticket_rate", SlidingWindow(60))
    wait = window.hit((p.hall_id, p.device_id), limit, rt.clock.now().timestamp())
    if wait:
        raise HallError("too_many_tickets", f"本机取号过于频繁（每分钟最多{limit}张），请{math.ceil(wait)}秒后再试；"
                                            "如机器异常，请联系大厅工作人员", 429,
                        limit=limit, retry_after=math.ceil(wait))


@api.post("/tickets")
@auth.require("kiosk", "admin")
def issue():
    p = g.principal
    check_device_rate(p)
    body = json_body()
    ticket, created = issue_ticket(
        runtime(), p.hall_id,
        matter_id=field(body, "matter_id", int, required=True),
        priority=field(body, "priority", str, max_len=16),
        phone=field(body, "phone", str, max_len=20),
        id_number=field(body, "id_number", str, max_len=24),
        request_id=field(body, "request_id", str, max_len=64),
        device_id=p.device_id, actor=p.actor)
    return jsonify({"ticket": ticket}), 201 if created else 200


@api.get("/tickets/<ref>")
def show(ref: str):
    """By id for the hall's staff and devices; by query code (on the slip) for anyone."""
    principal = auth.authenticate(runtime(), auth.bearer_token())
    if len(ref) > 32:
        ref = ref[:32]
    if principal is None:   # a query code from anyone: guessing is slow (lookups.py)
        lookups.guard()
    try:
        row, ticket, history = find_ticket(runtime(), ref, principal.hall_id if principal else None)
    except HallError as exc:
        if principal is None and exc.status == 404:
            lookups.missed()
        raise
    if principal is None or principal.hall_id != row.hall_id:   # another hall's token: a stranger
        ticket.pop("phone", None)
        ticket.pop("id_number", None)
    return jsonify({"ticket": ticket, "history": history})
