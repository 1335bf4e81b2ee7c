"""Devices: heartbeats from every device, the admin's list, revocation, token rotation, and the
admin page.

The registry and its background checker are created when the API is registered on an app, so
every server (demo, serve, tests) watches its devices without further wiring.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, render_template

from .. import auth
from ..devices import Monitor, Registry, clean_status
from ..stream import current_stream
from . import api
from .common import json_body, runtime


admin_pages = Blueprint("admin_devices", __name__)


@api.record_once
def _start_registry(state) -> None:
    app = state.app
    registry = Registry(app.extensions["hall"])
    app.extensions["hall_devices"] = registry
    app.extensions["hall_device_monitor"] = Monitor(registry, app).start()


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
