from flask import g, jsonify, request

from .. import auth as staff_auth, schemas, staffing
from ..errors import unauthorized
from ..models import Device
from ..stream import current_stream
from . import api
from .common import field, json_body, runtime


@api.post("/auth/login")
def login():
    body = json_body()
    username = field(body, "username", str, required=True, max_len=64)
    password = field(body, "password", str, required=True, max_len=200)
    hall = field(body, "hall", str, max_len=32)
    return jsonify(staff_auth.login(runtime(), username, password, hall, client=request.remote_addr or ""))


@api.post("/auth/logout")
@staff_auth.require()
def logout():
    token = staff_auth.bearer_token()
    if g.principal.kind != "staff":
        raise unauthorized("设备令牌不能注销")
    started = staffing.session_start(runtime(), token)
    staff_auth.logout(runtime(), token)
    if started is not None:   # the windows this login staffed close with it
        staffing.logged_out(runtime(), g.principal.staff_id, started)
    stream = current_stream()
    if stream is not None:   # this process's pages of the session close now; others' at their sweep
        stream.sweep()
    return jsonify({"ok": True})


@api.post("/auth/refresh")
@staff_auth.require("clerk", "supervisor", "admin")
def refresh():
    """A new token for this one (which stops working at once): the staff pages call it while
    someone works, before the token's end, so a working day never ends in a login screen."""
    return jsonify(staff_auth.refresh(runtime(), staff_auth.bearer_token()))


@api.get("/me")
@staff_auth.require()
def me():
    p = g.principal
    body = schemas.Principal(kind=p.kind, role=p.role, name=p.name, hall_id=p.hall_id, staff_id=p.staff_id,
                             device_id=p.device_id, window_ids=sorted(p.window_ids))
    if p.kind == "staff":
        body["expires_in"] = staff_auth.seconds_left(runtime(), staff_auth.bearer_token())
    if p.kind == "device":
        # A kiosk on its own machine learns its printer from the hall config.
        with runtime().read() as s:
            body["printer"] = s.get(Device, p.device_id).printer or None
    return jsonify(body)
