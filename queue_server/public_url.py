"""The server's own address: from the hall's config, never from a request's Host header.

Every address the hall hands out (the slip's QR code and 查询网址, SMS rating links, the
catalogue's `base_url`) starts with the hall's `base_url` (`hall demo --port N` sets it to the
port it serves). A request's `Host:` is whatever the client wrote, so nothing is built from it,
and a request naming a host this server does not answer to is refused before any view runs
(400 `unknown_host`): the hall's `allowed_hosts` plus the host of every hall's `base_url` plus
this machine's loopback names (localhost, 127.0.0.1, ::1, on any port: a kiosk browser or a
health check on the server itself). `allowed_hosts = ["*"]` turns the check off.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, request

from .runtime import Runtime

log = logging.getLogger("hall.web")

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def public_url(rt: Runtime, hall_id: int) -> str:
    """The hall's public base URL without a trailing slash: `https://zwfw.example.gov.cn`."""
    return rt.hall_config(hall_id).base_url.rstrip("/")


def _hostname(value: str) -> str | None:
    """The host name of a URL or a Host header value, lowercased, without port or brackets."""
    value = value.strip()
    if not value:
        return None
    try:
        parts = urlsplit(value if "//" in value else "//" + value)
        parts.port  # noqa: B018 - a port that is not a number is no host of ours
    except ValueError:
        return None
    return parts.hostname.lower() if parts.hostname else None


def allowed_hosts(rt: Runtime) -> frozenset[str] | None:
    """Host names this server answers to (None: any, when a hall says "*")."""
    names = set(LOOPBACK)
    for cfg in rt.halls.values():
        extra = list(getattr(cfg, "allowed_hosts", None) or [])
        if "*" in extra:
            return None
        for value in [cfg.base_url, *extra]:
            name = _hostname(value)
            if name:
                names.add(name)
    return frozenset(names)


def refuse_unknown_host():
    """before_request: a Host this server does not answer to gets 400 `unknown_host`."""
    rt = current_app.extensions.get("hall")
    if rt is None:
        return None
    allowed = current_app.extensions.get("hall_allowed_hosts", ())
    if allowed is None:
        return None
    name = _hostname(request.host or "")
    if name is not None and name in allowed:
        return None
    log.warning("refused %s %s for unknown Host %r", request.method, request.path, (request.host or "")[:100])
    return jsonify({"error": {"code": "unknown_host",
                              "message": "访问地址（主机名）不是本大厅的地址，请使用大厅公布的网址访问"}}), 400


def install(app: Flask) -> None:
    """Wire the Host check into the hall server (one call from create_app)."""
    app.extensions["hall_allowed_hosts"] = allowed_hosts(app.extensions["hall"])
    app.before_request(refuse_unknown_host)
