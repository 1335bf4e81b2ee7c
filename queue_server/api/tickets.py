from flask import g, jsonify

from .. import auth
from ..tickets import find_ticket, issue_ticket
from . import api
from .common import field, json_body, runtime


@api.post("/tickets")
@auth.require("kiosk", "admin")
def issue():
    body = json_body()
    p = g.principal
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
    _, ticket, history = find_ticket(runtime(), ref, principal.hall_id if principal else None)
    if principal is None:
        ticket.pop("phone", None)
        ticket.pop("id_number", None)
    return jsonify({"ticket": ticket, "history": history})
