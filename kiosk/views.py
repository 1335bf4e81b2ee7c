"""The kiosk's pages and the small JSON API its page calls (under /kiosk)."""
from __future__ import annotations

import re
import threading

from flask import Blueprint, Response, current_app, has_request_context, jsonify, render_template, request

from queue_server.identity import id_number_valid

from .backend import DEMO_TOKEN, KioskBackend, Refused, ServerDown, setting

blueprint = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/static")
PRIORITIES = ("elderly", "disabled", "military", "pregnant")
_create = threading.Lock()


def backend() -> KioskBackend:
    """The kiosk's backend (its printer, caches, heartbeat). On its own machine (`python -m kiosk`)
    one per app, with its token. Mounted in the hall server: one per paired kiosk device, acting
    with the credential of the browser asking (kiosk_not_paired without one), its API called in
    this process: no address a request names (its Host) ever gets the kiosk's credential."""
    app = current_app._get_current_object()   # kept by the in-process transport (threads too)
    rt = app.extensions.get("hall")
    if rt is not None:
        return _paired_backend(app, rt)
    found = app.extensions.get("kiosk")
    if found is not None:
        return found
    with _create:
        if "kiosk" not in app.extensions:
            cfg = app.config
            token = setting(cfg, "KIOSK_TOKEN", "HALL_KIOSK_TOKEN", DEMO_TOKEN)
            app.extensions["kiosk"] = KioskBackend(
                token=token, server_url=setting(cfg, "KIOSK_SERVER_URL", "HALL_KIOSK_SERVER"),
                printer_url=setting(cfg, "KIOSK_PRINTER", "HALL_KIOSK_PRINTER"),
                printer_profile=setting(cfg, "KIOSK_PRINTER_PROFILE", "HALL_KIOSK_PRINTER_PROFILE"))
        return app.extensions["kiosk"]


def backends(app) -> list[KioskBackend]:
    """Every kiosk backend of an app (to close them, or for tests to drop a cache)."""
    found = list(app.extensions.get("kiosk_devices", {}).values())
    return found + ([app.extensions["kiosk"]] if "kiosk" in app.extensions else [])


def close_all(app) -> None:
    for b in backends(app):
        b.close()


def _credential() -> str | None:
    """The paired browser's cookie, or a kiosk device token as Bearer (the installer, scripts)."""
    from queue_server.auth import bearer_token
    from queue_server.pairing import COOKIE
    return request.cookies.get(COOKIE) or bearer_token()


def _paired_backend(app, rt) -> KioskBackend:
    from queue_server.auth import authenticate
    credential = _credential()
    principal = authenticate(rt, credential)
    if principal is None or principal.kind != "device" or principal.role != "kiosk":
        raise Refused(401, "kiosk_not_paired", "本机尚未配对：请输入管理员在“设备管理”页生成的配对码")
    devices = app.extensions.setdefault("kiosk_devices", {})
    with _create:
        found = devices.get(principal.device_id)
        if found is None:
            cfg = app.config
            found = devices[principal.device_id] = KioskBackend(
                token=credential, transport=_in_process(app),
                printer_url=setting(cfg, "KIOSK_PRINTER", "HALL_KIOSK_PRINTER"),
                printer_profile=setting(cfg, "KIOSK_PRINTER_PROFILE", "HALL_KIOSK_PRINTER_PROFILE"),
                local_printer=_device_printer(rt, principal.device_id))
        found.token = credential   # any live credential of the device will do; the latest one asking
    return found


def _device_printer(rt, device_id: int) -> str | None:
    """The device's configured `printer` (the hall config), at hand in the server's process."""
    from queue_server.models import Device
    with rt.read() as s:
        device = s.get(Device, device_id)
        return (device.printer if device is not None else None) or None


def _in_process(app):
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


def _base() -> str | None:
    """Where a kiosk on its own machine finds the server: its --server, never the request's Host."""
    return None

def _error(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


@blueprint.before_request
def paired_only():
    """In the hall server, every kiosk call but the page itself acts for a paired kiosk device:
    asked first, before any input is read (401 `kiosk_not_paired` otherwise)."""
    if current_app.extensions.get("hall") is not None and request.endpoint not in ("kiosk.index", "kiosk.static"):
        backend()


@blueprint.errorhandler(ServerDown)
def server_down(exc: ServerDown):
    return _error(503, "server_down", f"暂停服务：{exc}")


@blueprint.errorhandler(Refused)
def refused(exc: Refused):
    return _error(exc.status if 400 <= exc.status < 500 else 502, exc.code, exc.message)


@blueprint.get("/")
def index():
    return render_template("kiosk/index.html")


@blueprint.get("/api/catalogue")
def catalogue():
    return jsonify(backend().catalogue(_base()))


@blueprint.get("/api/availability")
def availability():
    return jsonify(backend().availability(_base()))


@blueprint.get("/api/status")
def status():
    response = jsonify(backend().status(_base()))
    _renew_pairing(response)
    return response


def _renew_pairing(response) -> None:
    """A paired kiosk stays paired: its cookie's lifetime starts again while it is in use."""
    from queue_server.pairing import COOKIE, COOKIE_DAYS
    from queue_server.web_security import came_over_https
    credential = request.cookies.get(COOKIE)
    if credential and current_app.extensions.get("hall") is not None:
        response.set_cookie(COOKIE, credential, max_age=COOKIE_DAYS * 86400, path="/kiosk", httponly=True,
                            samesite="Strict", secure=came_over_https())


def _form() -> dict:
    body = request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else {}


def _text(body: dict, name: str, pattern: str, message: str) -> str | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.fullmatch(pattern, value.strip().upper()):
        raise Refused(400, f"invalid_{name}", message)
    return value.strip().upper()


def _id_number(body: dict) -> str | None:
    value = _text(body, "id_number", r"\d{17}[\dX]", "身份证号码应为18位（最后一位可能是X）")
    if value and not id_number_valid(value):
        raise Refused(400, "invalid_id_number", "身份证号码校验不通过，请核对后重新输入")
    return value


def _request_id(body: dict) -> str | None:
    return _text(body, "request_id", r"[A-Z0-9-]{8,64}", "请求编号格式不正确")


@blueprint.post("/api/tickets")
def take_ticket():
    body = _form()
    matter_id = body.get("matter_id")
    if not isinstance(matter_id, int) or isinstance(matter_id, bool):
        raise Refused(400, "invalid_matter", "请选择要办理的事项")
    priority = body.get("priority") or None
    if priority is not None and priority not in PRIORITIES:
        raise Refused(400, "invalid_priority", "请重新选择优先类别")
    form = {"matter_id": matter_id, "priority": priority, "id_number": _id_number(body),
            "phone": _text(body, "phone", r"1[3-9]\d{9}", "手机号码应为11位，以1开头"),
            "request_id": _request_id(body)}
    result = backend().take_ticket(form, _base())
    return jsonify(result), 201 if result["created"] else 200


@blueprint.post("/api/check-in")
def check_in():
    body = _form()
    code = _text(body, "code", r"\d{4,16}", "预约码为数字，请核对后重新输入")
    id_number = _id_number(body)
    if not code and not id_number:
        raise Refused(400, "missing_code", "请输入预约码或身份证号码")
    result = backend().check_in({"code": code, "id_number": id_number, "request_id": _request_id(body)}, _base())
    return jsonify(result), 201 if result["created"] else 200


@blueprint.get("/api/print/<int:ticket_id>")
def print_state(ticket_id: int):
    return jsonify(backend().printer(_base()).job(ticket_id))


@blueprint.post("/api/reprint/<int:ticket_id>")
def reprint(ticket_id: int):
    return jsonify(backend().reprint(ticket_id, _base()))


@blueprint.get("/slip/<int:ticket_id>.png")
def slip_png(ticket_id: int):
    png = backend().printer(_base()).png(ticket_id)
    if png is None:
        return _error(404, "unknown_slip", "没有这张告知单")
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})
