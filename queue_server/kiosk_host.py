"""The kiosk's pages in the hall server's own process, at /kiosk: each request acts for the
paired kiosk device asking.

A kiosk browser carries its device credential in the pairing cookie (pairing.py), an installer or
a script the device's token as Bearer; anything else is 401 `kiosk_not_paired`, before any input
is read. Each device gets its own kiosk backend (its printer, caches, heartbeat), which calls the
hall's API in this process with that credential: the audit and the per-kiosk limits name the
device, and no address a request names (its Host) ever gets the credential. The kiosk package
knows none of this; it is handed a `kiosk.Host` made of the functions below.
"""
from __future__ import annotations

from flask import Flask, has_request_context, request

from hallkit.web_security import came_over_https
from kiosk import Host, mount
from kiosk.backend import KioskBackend, Refused, setting
from kiosk.views import backend_for

from .auth import authenticate, bearer_token
from .models import Device
from .pairing import COOKIE, COOKIE_DAYS


def install(app: Flask) -> None:
    mount(app, Host(backend=lambda: paired_backend(app), on_status=renew_pairing))


def paired_backend(app: Flask) -> KioskBackend:
    """The backend of the paired kiosk device this request comes from."""
    rt = app.extensions["hall"]
    credential = request.cookies.get(COOKIE) or bearer_token()
    principal = authenticate(rt, credential)
    device_id = principal.device_id if principal is not None and principal.role == "kiosk" else None
    if credential is None or device_id is None:
        raise Refused(401, "kiosk_not_paired", "本机尚未配对：请输入管理员在“设备管理”页生成的配对码")
    cfg = app.config
    found = backend_for(app, device_id, lambda: KioskBackend(
        token=credential, transport=_in_process(app),
        printer_url=setting(cfg, "KIOSK_PRINTER", "HALL_KIOSK_PRINTER"),
        printer_profile=setting(cfg, "KIOSK_PRINTER_PROFILE", "HALL_KIOSK_PRINTER_PROFILE"),
        local_printer=_device_printer(rt, device_id)))
    found.token = credential   # any live credential of the device will do; the latest one asking
    return found


def renew_pairing(response) -> None:
    """A paired kiosk stays paired: its cookie's lifetime starts again while it is in use."""
    credential = request.cookies.get(COOKIE)
    if credential:
        response.set_cookie(COOKIE, credential, max_age=COOKIE_DAYS * 86400, path="/kiosk", httponly=True,
                            samesite="Strict", secure=came_over_https())


def _device_printer(rt, device_id: int) -> str | None:
    """The device's configured `printer` (the hall config), at hand in the server's process."""
    with rt.read() as s:
        device = s.get(Device, device_id)
        return (device.printer if device is not None else None) or None


def _in_process(app: Flask):
    """The hall server's API called in this process, as the paired device, from the kiosk
    browser's address (the audit's origin). A fresh app context per call: its `g` is its own."""
    def send(method: str, path: str, body: dict | None, token: str):
        client = request.remote_addr if has_request_context() else None
        with app.app_context():
            res = app.test_client().open(path, method=method, json=body, base_url="http://localhost",
                                         headers={"Authorization": f"Bearer {token}"},
                                         environ_base={"REMOTE_ADDR": client or "127.0.0.1"})
            try:
                return res.status_code, res.get_json(silent=True)
            finally:
                res.close()
    return send
