"""The gate in front of /socket.io/: nobody holds a connection without joining the hall.

Under `hall serve` each open websocket (and each waiting long-poll) holds one of the worker's
threads for as long as it lasts (server.py). Left alone, a thousand anonymous sockets that
answer pings and never join /hall took every thread and the hall's logins, tickets and calls
waited behind them. Three rules keep the threads for the hall:

- a connection that has not joined /hall with a valid token within `socket_join_seconds`
  (default 5) is closed: a screen joins within a second of connecting; a refused token, or a
  connection that never tries, goes;
- one client address holds at most `sockets_per_address` (default 50) socket requests at once,
  refused beyond with 429;
- the process holds at most `sockets_total` (default 500, half the worker's threads) at once,
  refused beyond with 503: the other half always answers the API.

The address is the client's, as queue_server/proxies.py found it behind the hall's proxies.
All three are `[server]` keys of the (first) hall config.

These rules keep the threads, not the processor: a flood the caps refuse still costs the process
a parse and an answer per attempt, under the same GIL as the hall's requests (bench/README.md,
"Socket flood"). Where anyone on the LAN can reach the hall, run the sockets in their own
processes (`hall serve --role sockets`) beside the API's (`--role api`), with nginx routing
/socket.io/ to the first and capping connections itself (deploy/nginx.conf). The gate then
also keeps each process to its role: an API process refuses socket requests, a socket process
everything else, each with a 404 that names where to go.
"""
from __future__ import annotations

import json
import logging
import threading
import time

from werkzeug.wsgi import ClosingIterator

from .stream import NAMESPACE

log = logging.getLogger("hall")

JOIN_SECONDS = 5
PER_ADDRESS = 50
TOTAL = 500
ROLES = ("all", "api", "sockets")
OPENED = "hall.socket_opened"     # environ key: when the request reached the gate (monotonic)


class SocketGate:
    def __init__(self, app, socketio_server, *, path: str = "/socket.io", join_seconds: float = JOIN_SECONDS,
                 per_address: int = PER_ADDRESS, total: int = TOTAL, role: str = "all"):
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        self.app, self.sio, self.path, self.role = app, socketio_server, path.rstrip("/") + "/", role
        self.join_seconds, self.per_address, self.total = join_seconds, per_address, total
        self.open: dict[str, int] = {}       # client address → socket requests in progress
        self.count = 0
        self.lock = threading.Lock()
        self._closer: threading.Thread | None = None
        self.closed_unjoined = 0             # connections closed for not joining (for tests and logs)
        self.refused = 0

    # --- the caps, per request -------------------------------------------------------------

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(self.path):
            if self.role == "sockets":
                return self._refuse(start_response, 404, "api_elsewhere", "本进程只接受实时连接，请求请发往接口进程")
            return self.app(environ, start_response)
        if self.role == "api":
            return self._refuse(start_response, 404, "sockets_elsewhere", "本进程不接受实时连接，请连接实时连接进程")
        address = environ.get("REMOTE_ADDR", "")
        with self.lock:
            if self.count >= self.total:
                return self._refuse(start_response, 503, "server_busy", "服务器连接数已满，请稍后再试")
            if self.open.get(address, 0) >= self.per_address:
                return self._refuse(start_response, 429, "too_many_connections",
                                    "来自本地址的连接过多，请稍后再试")
            self.count += 1
            self.open[address] = self.open.get(address, 0) + 1
        environ[OPENED] = time.monotonic()
        self._start_closer()
        released = False

        def release():
            nonlocal released
            with self.lock:
                if released:
                    return
                released = True
                self.count -= 1
                left = self.open.get(address, 1) - 1
                if left > 0:
                    self.open[address] = left
                else:
                    self.open.pop(address, None)

        try:
            return ClosingIterator(self.app(environ, start_response), release)
        except BaseException:
            release()
            raise

    def _refuse(self, start_response, status: int, code: str, message: str):
        self.refused += 1
        body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
        reason = {404: "Not Found", 429: "Too Many Requests", 503: "Service Unavailable"}[status]
        headers = [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))]
        if status != 404:
            headers += [("Retry-After", "5"), ("Connection", "close")]
        start_response(f"{status} {reason}", headers)
        return [body]

    # --- the join deadline, for every Engine.IO session ------------------------------------

    def unjoined(self, now: float | None = None) -> list[str]:
        """Engine.IO sessions older than the deadline that have not joined /hall."""
        now = time.monotonic() if now is None else now
        late = []
        for eio_sid, environ in list(self.sio.environ.items()):
            opened = environ.get(OPENED)
            if opened is None or now - opened < self.join_seconds:
                continue
            if self.sio.manager.sid_from_eio_sid(eio_sid, NAMESPACE) is None:
                late.append(eio_sid)
        return late

    def close_unjoined(self) -> int:
        late = self.unjoined()
        eio = self.sio.eio
        for eio_sid in late:
            socket = eio.sockets.pop(eio_sid, None)
            if socket is None:
                continue
            try:
                # Not Engine.IO's disconnect(): it waits for the socket's send queue to drain,
                # which a websocket's writer may never do, and the gate would wait with it.
                socket.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
            except Exception:  # noqa: BLE001 - gone meanwhile
                log.debug("closing %s failed", eio_sid)
        self.closed_unjoined += len(late)
        return len(late)

    def _start_closer(self) -> None:
        with self.lock:
            if self._closer is None:
                self._closer = threading.Thread(target=self._close_while_open, name="hall-socket-gate", daemon=True)
                self._closer.start()

    def _close_while_open(self) -> None:
        """Runs while any socket is open or being opened (an app that is gone leaves no thread)."""
        tick = min(1.0, self.join_seconds / 4)
        idle = 0
        while True:
            time.sleep(tick)
            try:
                self.close_unjoined()
            except Exception:  # noqa: BLE001 - keep the gate running
                log.exception("socket gate round failed")
            with self.lock:
                idle = 0 if (self.count or self.sio.environ) else idle + 1
                if idle * tick >= 2 * self.join_seconds:
                    self._closer = None
                    return


def install(app, socketio_server, server_config: dict, role: str = "all") -> SocketGate:
    """Put the gate in front of the app's WSGI callable (after Flask-SocketIO put its own there)."""
    gate = SocketGate(app.wsgi_app, socketio_server,
                      join_seconds=server_config.get("socket_join_seconds", JOIN_SECONDS),
                      per_address=server_config.get("sockets_per_address", PER_ADDRESS),
                      total=server_config.get("sockets_total", TOTAL), role=role)
    app.wsgi_app = gate
    app.extensions["hall_socket_gate"] = gate
    return gate
