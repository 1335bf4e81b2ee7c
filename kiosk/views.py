"""The kiosk's pages and the small JSON API its page calls (under /kiosk)."""
from __future__ import annotations

import re
import threading

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from queue_server.identity import id_number_valid

from .backend import DEMO_TOKEN, KioskBackend, Refused, ServerDown, setting, token_digest

blueprint = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/static")
PRIORITIES = ("elderly", "disabled", "military", "pregnant")
_create = threading.Lock()


def backend() -> KioskBackend:
    """One backend (and one printer) per app, made on first use from the settings."""
    app = current_app
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
                printer_profile=setting(cfg, "KIOSK_PRINTER_PROFILE", "HALL_KIOSK_PRINTER_PROFILE"),
                local_printer=_same_process_printer(token))
        return app.extensions["kiosk"]


def _same_process_printer(token: str) -> str | None:
    """Mounted inside the queue server (the demo), the device's configured `printer` is at hand."""
    rt = current_app.extensions.get("hall")
    if rt is None:
        return None
    from sqlalchemy import select
    from queue_server.models import Device
    with rt.read() as s:
        return s.scalar(select(Device.printer).where(Device.token_sha256 == token_digest(token))) or None


def _base() -> str | None:
    return None if backend().server_url else request.host_url


def _error(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


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
    return jsonify(backend().status(_base()))


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
