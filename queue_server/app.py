"""The app factory: one Flask app, its Socket.IO server and the hall runtime."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask, jsonify, request
from flask_socketio import SocketIO
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from hallkit.web_security import install as install_web_security

from . import crypto, services
from .auth import LoginGuard
from .config_sync import sync_hall
from .clock import Clock
from .config import HallConfig, load_hall_config
from .db import make_engine, session_factories
from .errors import HallError
from .mq import client_manager
from .public_url import install as install_host_check
from .proxies import TrustedProxies
from .runtime import Runtime
from .schema import startup_lock, upgrade
from .socket_gate import install as install_socket_gate
from .stream import EventPacket, HallStream, make_publisher
from .supervision.due_dates import recount_guessed
from .shapes import load_catalogue
from .workdays import WorkCalendar

log = logging.getLogger("hall")

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
               429: "too_many_requests"}
_HTTP_WORDS = {400: "请求格式不正确", 401: "请先登录", 403: "无权访问", 404: "没有这个地址",
               405: "不支持这种请求方法", 413: "请求内容太大", 415: "不支持的内容类型", 429: "请求太频繁，请稍后再试"}


def create_app(halls: list[HallConfig | str | Path], database_url: str, *, secret: bytes,
               clock: Clock | None = None, message_queue: str | None = None,
               channel: str = "hall", async_mode: str = "threading", role: str = "all") -> Flask:
    """`role`: "all" serves the API, the pages and the sockets; "api" and "sockets" split them
    over processes that share `message_queue` (socket_gate.py says why)."""
    configs = [h if isinstance(h, HallConfig) else load_hall_config(h) for h in halls]
    if not configs:
        raise ValueError("至少需要一个大厅配置")
    calendar = WorkCalendar.load(configs[0].calendar)
    engine = make_engine(database_url)
    crypto.bind(engine, secret)  # phones are encrypted with it, the migrations included
    upgrade(engine)
    catalogue: dict = {}  # routes, matters, window names: see shapes.load_catalogue
    write, read, lookup = session_factories(engine, catalogue)
    rt = Runtime(engine=engine, write=write, read=read, lookup=lookup, clock=clock or Clock(), calendar=calendar,
                 secret=secret, login_guard=LoginGuard())
    with write() as s, s.begin():
        startup_lock(s.connection())  # several server processes may start at once
        for cfg in configs:
            hall_id = sync_hall(s, cfg)
            rt.halls[hall_id] = cfg
            rt.hall_codes[cfg.code] = hall_id
        load_catalogue(s, catalogue)
        recount_guessed(s, calendar, rt.halls, rt.clock.now())

    app = Flask(__name__)
    app.url_map.converters["int"] = _BoundedInt
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024, JSON_AS_ASCII=False, SECRET_KEY=secret)
    app.json.ensure_ascii = False
    app.extensions["hall"] = rt

    _register_parts(app)
    _register_errors(app)
    install_host_check(app)   # first: a forged Host is refused before anything else runs
    install_web_security(app)

    manager = client_manager(message_queue, channel, write_only=role == "api")
    options = {"client_manager": manager} if manager else {"message_queue": message_queue, "channel": channel}
    socketio = SocketIO(app, async_mode=async_mode, logger=False, engineio_logger=False,
                        serializer=EventPacket, **options)
    socketio.on_namespace(HallStream(rt))
    server = configs[0].server   # one process, one set: the first hall's [server]
    install_socket_gate(app, socketio.server, server, role)
    app.wsgi_app = TrustedProxies(app.wsgi_app, server.get("trusted_proxies", ()))
    if message_queue and role != "api":
        # Listen to the other processes now, not when this process's first screen connects (which
        # is when python-socketio starts the listener): that screen would get its snapshot and
        # then miss whatever another process sent before the subscription was in place.
        socketio.server.manager_initialized = True
        socketio.server.manager.initialize()
    rt.publish = make_publisher(socketio)
    services.start(app)
    return app


class _BoundedInt(IntegerConverter):
    """`<int:…>` ids the database cannot hold are no such thing (404), not a 500."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**62, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def _register_parts(app: Flask) -> None:
    """Each area of the hall is a blueprint; one line each."""
    from . import tables  # noqa: F401
    from hallkit import blueprint as kit
    from .api import api
    from .pages import pages
    app.register_blueprint(kit)
    app.register_blueprint(api)
    app.register_blueprint(pages)
    from .api.devices import admin_pages as device_admin_pages
    app.register_blueprint(device_admin_pages)
    from display.web import display as display_pages
    app.register_blueprint(display_pages)
    from . import kiosk_host
    kiosk_host.install(app)   # the kiosk's pages at /kiosk, for paired kiosk browsers
    from .ratings.pages import pages as rating_pages
    app.register_blueprint(rating_pages)
    from .supervision.pages import pages as supervision_pages
    app.register_blueprint(supervision_pages)


def _register_errors(app: Flask) -> None:
    @app.errorhandler(HallError)
    def hall_error(exc: HallError):
        response = jsonify(exc.to_dict())
        retry = exc.detail.get("retry_after")
        if exc.status in (429, 503) and isinstance(retry, int) and retry > 0:
            response.headers["Retry-After"] = str(retry)   # what HTTP clients and proxies read
        return response, exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if not request.path.startswith("/api/") and code == 404:
            return exc
        return jsonify({"error": {"code": _HTTP_CODES.get(code, "http_error"),
                                  "message": _HTTP_WORDS.get(code, exc.description or "")}}), code

    @app.errorhandler(OperationalError)
    def database_down(exc: OperationalError):
        if "disk is full" in str(exc.orig):
            log.critical("database disk full: %s", exc.orig)
            return jsonify({"error": {"code": "storage_full",
                                      "message": "服务器磁盘已满，本次操作未保存，请立即联系管理员"}}), 503
        log.error("database unavailable: %s", exc.__class__.__name__)
        return jsonify({"error": {"code": "database_unavailable", "message": "系统繁忙（数据库暂时不可用），请稍后再试"}}), 503

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify({"error": {"code": "internal_error", "message": "系统内部错误，已记录，请联系管理员"}}), 500


def secret_from_dir(data_dir: Path) -> bytes:
    """The server's secret (ID hashing, signed links): HALL_SECRET, or a key file made once."""
    env = os.environ.get("HALL_SECRET")
    if env:
        return env.encode()
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(32).hex().encode())
        path.chmod(0o600)
    return path.read_bytes().strip()
