"""The kiosk's pages and the small JSON API its page calls (under /kiosk)."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from hallkit.id_number import id_number_valid

from .backend import DEMO_TOKEN, KioskBackend, Refused, ServerDown, setting

blueprint = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/static")
PRIORITIES = ("elderly", "disabled", "military", "pregnant")
_create = threading.Lock()


@dataclass(frozen=True)
class Host:
    """What an app that mounts these pages in its own process (the hall server:
    queue_server/kiosk_host.py) decides for them. `backend()` gives the backend that answers this
    request, or raises Refused when none may (it is asked before any input is read); `on_status`
    may add to the status answer, which the page asks for every few seconds."""
    backend: Callable[[], KioskBackend]
    on_status: Callable[[Response], None] = lambda response: None


def mount(app, host: Host) -> None:
    """The kiosk's pages at /kiosk of `app`, each request's backend chosen by `host`."""
    app.extensions["kiosk_host"] = host
    app.register_blueprint(blueprint, url_prefix="/kiosk")


def _host() -> Host | None:
    return current_app.extensions.get("kiosk_host")


def backend() -> KioskBackend:
    """The kiosk's backend (its printer, caches, heartbeat). Mounted in another app, the one its
    host chooses. On its own machine (`python -m kiosk`): one per app, with its token."""
    host = _host()
    if host is not None:
        return host.backend()
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app, not its proxy
    found = app.extensions.get("kiosk")
    if found is not None:
        return found
    with _create:
        if "kiosk" not in app.extensions:
            cfg = app.config
            token = setting(cfg, "KIOSK_TOKEN", "HALL_KIOSK_TOKEN") or DEMO_TOKEN
            app.extensions["kiosk"] = KioskBackend(
                token=token, server_url=setting(cfg, "KIOSK_SERVER_URL", "HALL_KIOSK_SERVER"),
                printer_url=setting(cfg, "KIOSK_PRINTER", "HALL_KIOSK_PRINTER"),
                printer_profile=setting(cfg, "KIOSK_PRINTER_PROFILE", "HALL_KIOSK_PRINTER_PROFILE"))
        return app.extensions["kiosk"]


def backend_for(app, key, make: Callable[[], KioskBackend]) -> KioskBackend:
    """One backend per `key` of a host (the hall server: per paired kiosk device), made once."""
    devices = app.extensions.setdefault("kiosk_devices", {})
    with _create:
        found = devices.get(key)
        if found is None:
            found = devices[key] = make()
        return found


def backends(app) -> list[KioskBackend]:
    """Every kiosk backend of an app (to close them, or for tests to drop a cache)."""
    found = list(app.extensions.get("kiosk_devices", {}).values())
    return found + ([app.extensions["kiosk"]] if "kiosk" in app.extensions else [])


def close_all(app) -> None:
    for b in backends(app):
        b.close()


def _error(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


@blueprint.before_request
def host_first():
    """Mounted in a host, every kiosk call but the page itself acts for the backend the host
    chooses: asked first, before any input is read (in the hall server: a paired kiosk device,
    401 `kiosk_not_paired` otherwise)."""
    if _host() is not None and request.endpoint not in ("kiosk.index", "kiosk.static"):
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
    return jsonify(backend().catalogue())


@blueprint.get("/api/availability")
def availability():
    return jsonify(backend().availability())


@blueprint.get("/api/status")
def status():
    response = jsonify(backend().status())
    host = _host()
    if host is not None:
        host.on_status(response)
    return response


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
    result = backend().take_ticket(form)
    return jsonify(result), 201 if result["created"] else 200


@blueprint.post("/api/check-in")
def check_in():
    body = _form()
    code = _text(body, "code", r"\d{4,16}", "预约码为数字，请核对后重新输入")
    id_number = _id_number(body)
    if not code and not id_number:
        raise Refused(400, "missing_code", "请输入预约码或身份证号码")
    result = backend().check_in({"code": code, "id_number": id_number, "request_id": _request_id(body)})
    return jsonify(result), 201 if result["created"] else 200


@blueprint.get("/api/print/<int:ticket_id>")
def print_state(ticket_id: int):
    return jsonify(backend().printer().job(ticket_id))


@blueprint.post("/api/reprint/<int:ticket_id>")
def reprint(ticket_id: int):
    return jsonify(backend().reprint(ticket_id))


@blueprint.get("/slip/<int:ticket_id>.png")
def slip_png(ticket_id: int):
    png = backend().printer().png(ticket_id)
    if png is None:
        return _error(404, "unknown_slip", "没有这张告知单")
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})
