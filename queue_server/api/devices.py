"""Devices: heartbeats from every device, the admin's list, revocation, token rotation, and the
admin page.

The registry and its background checker are created when the API is registered on an app, so
every server (demo, serve, tests) watches its devices without further wiring.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, render_template, request

from hallkit.web_security import came_over_https

from .. import auth, pairing
from ..devices import Registry, clean_status
from ..ratelimit import SlidingWindow
from ..stream import current_stream
from . import api
from .common import field, json_body, runtime


admin_pages = Blueprint("admin_devices", __name__)


def registry() -> Registry:
    return current_app.extensions["hall_devices"]


@api.post("/devices/heartbeat")
@auth.require()
def device_heartbeat():
    p = g.principal
    if p.kind != "device":
        raise auth.forbidden("devices_only", "只有设备令牌可以发送心跳")
    status = clean_status(json_body().get("status"))
    return jsonify(registry().beat(p.hall_id, p.device_id, status))


@api.get("/devices")
@auth.require("admin", "supervisor")
def device_list():
    reg = registry()
    return jsonify({"devices": reg.listing(g.principal.hall_id), "quiet_after": reg.quiet_after})


@api.post("/devices/<int:device_id>/revoke")
@auth.require("admin")
def device_revoke(device_id: int):
    device = registry().revoke(g.principal.hall_id, device_id, g.principal.actor)
    _drop_connections(device_id)
    return jsonify({"device": device})


@api.post("/devices/<int:device_id>/token")
@auth.require("admin")
def device_rotate_token(device_id: int):
    """A new token for the device, in this answer only (it is stored as a hash): the old token and
    the connections made with it stop now, so whoever held it is out."""
    device, token = registry().rotate(g.principal.hall_id, device_id, g.principal.actor)
    _drop_connections(device_id)
    return jsonify({"device": device, "token": token})


def _drop_connections(device_id: int) -> None:
    """A revoked or re-keyed device's open /hall connections end now, not at its next reconnect."""
    stream = current_stream()
    if stream is not None:
        stream.drop_device(device_id)


@admin_pages.get("/admin/devices")
def devices_page():
    rt = runtime()
    return render_template("admin_devices.html", halls=list(rt.halls.values()))


# --- pairing a kiosk browser (queue_server/pairing.py) ----------------------------------------


@api.post("/devices/<int:device_id>/pairing-code")
@auth.require("admin")
def device_pairing_code(device_id: int):
    """A one-time code to type on the kiosk once (shown only here): that browser becomes the device."""
    return jsonify(pairing.issue_code(runtime(), g.principal.hall_id, device_id, g.principal.actor))


@api.post("/devices/pair")
def device_pair():
    """Pair this browser: `{code}` from the admin, or the kiosk's own token as Bearer. The device
    credential goes into an HttpOnly cookie for the kiosk pages, never into the answer or a URL."""
    rt = runtime()
    client = request.remote_addr or ""
    principal = auth.authenticate(rt, auth.bearer_token())
    g.principal = principal
    if principal is not None and principal.kind == "device" and principal.role in pairing.PAIRABLE:
        credential, device = pairing.pair(rt, code=None, device_id=principal.device_id, client=client)
    else:
        tries = current_app.extensions.setdefault("hall_pairing_tries", SlidingWindow(600))
        pairing.check_tries(rt, tries, client)
        code = field(json_body(), "code", str, required=True, max_len=16).strip()
        credential, device = pairing.pair(rt, code=code, device_id=None, client=client)
    response = jsonify({"paired": True, "device": device})
    response.set_cookie(pairing.COOKIE, credential, max_age=pairing.COOKIE_DAYS * 86400, path="/kiosk",
                        httponly=True, samesite="Strict", secure=came_over_https())
    return response
