"""What every answer of the hall's web servers carries, and what it refuses before any view runs:
the hall server's and the kiosk machine's (`python -m kiosk`) alike, one `install(app)` each.

- A Content-Security-Policy with no inline script or style: the pages keep all their script and
  style in static files, so a name or comment that slipped through escaping still cannot run.
- No cookies. Staff and devices authenticate with an `Authorization: Bearer` header, which a page
  on another site cannot make a browser send, so a forged cross-site form or fetch carries no
  credentials (that is why there is no CSRF token). Nothing here uses Flask's session; should
  anything ever set a cookie, it goes out Secure, HttpOnly and SameSite=Strict.
- Defence in depth all the same: a state-changing request (POST, PUT, PATCH, DELETE) whose
  Origin, or failing that Referer, names another origin than the one it was sent to is refused
  with 403 `cross_origin`. Requests naming no origin (devices, the kiosk backend, curl) pass:
  they are not a browser acting for someone on another site.
- Strict-Transport-Security when the request came over https (directly, or through the nginx of
  deploy/nginx.conf, which says so in X-Forwarded-Proto); a plain-http hall LAN gets none.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, jsonify, request

log = logging.getLogger("hall.web")

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",      # pictures made in the page, should a page ever draw one
    "media-src 'self' blob:",          # the voice WAVs come from this server
    "connect-src 'self' ws: wss:",     # the API and the /hall Socket.IO stream
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])
HSTS = "max-age=31536000"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
DEVICE_COOKIE = "hall_device"   # a paired kiosk browser's credential (queue_server/pairing.py)


def install(app: Flask) -> None:
    """Wire the checks and headers into an app (one call from create_app)."""
    app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict")
    app.before_request(refuse_cross_origin)
    app.after_request(security_headers)


def came_over_https() -> bool:
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.scheme == "https" or forwarded == "https"


def _host_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    """(host, port) of a network location, the scheme's default port when none is written."""
    try:
        parts = urlsplit("//" + netloc)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def foreign_origin() -> str | None:
    """The other origin a browser says this request comes from, or None (same origin, or unnamed).

    Host and port are compared, not the scheme: behind a TLS proxy the page is https while the
    request reaching us is http. A 'null' origin (sandboxed frame, file:// page) is foreign."""
    claimed = request.headers.get("Origin") or request.headers.get("Referer")
    if not claimed:
        return None
    try:
        parts = urlsplit(claimed.strip())
    except ValueError:
        return "(unreadable)"
    netloc = parts.netloc.rpartition("@")[2]
    named = f"{parts.scheme}://{netloc}"[:100]   # for the log: never a Referer's path (it may hold a token)
    if parts.scheme not in ("http", "https"):
        return named
    origin = _host_port(netloc, parts.scheme)
    if origin is None or origin != _host_port(request.host, parts.scheme):
        return named
    return None


def refuse_cross_origin():
    """The refusal is answered here (not raised), so any app with these hooks answers the same."""
    if request.method in SAFE_METHODS:
        return None
    foreign = foreign_origin()
    if foreign is None:
        return None
    log.warning("refused cross-origin %s %s from %r", request.method, request.path, foreign)
    return jsonify({"error": {"code": "cross_origin", "message": "拒绝来自其他网站的请求：请在本系统的页面上操作"}}), 403


def security_headers(response):
    """Rating links carry their token in the path: never send it on as a Referer. No page is
    meant to be framed by another site, and API answers (personal data) are never cached."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    if came_over_https():
        headers.setdefault("Strict-Transport-Security", HSTS)
    if "Set-Cookie" in headers:
        _harden_cookies(response)
    return response


def _harden_cookies(response) -> None:
    """Nothing should set a cookie; if something does, it goes out with every protective flag."""
    cookies = response.headers.getlist("Set-Cookie")
    del response.headers["Set-Cookie"]
    for cookie in cookies:
        first, *attrs = [part.strip() for part in cookie.split(";")]
        name = first.split("=", 1)[0]
        if name != DEVICE_COOKIE:   # the kiosk's pairing credential (queue_server/pairing.py) is expected
            log.warning("a cookie is being set on %s: %s", request.path, name)
        names = {a.split("=", 1)[0].lower() for a in attrs}
        attrs = [a for a in attrs if a.split("=", 1)[0].lower() != "samesite"]
        # The kiosk's credential is Secure over https only: a hall LAN on plain http would
        # otherwise never get it back (and the kiosk would ask to be paired again and again).
        plain = name == DEVICE_COOKIE and not came_over_https()
        flags = (("httponly", "HttpOnly"),) if plain else (("secure", "Secure"), ("httponly", "HttpOnly"))
        attrs += [flag for name, flag in flags if name not in names]
        response.headers.add("Set-Cookie", "; ".join([first, *attrs, "SameSite=Strict"]))
