"""A device's link to the hall server, for the serial drivers (LED strip, rating keypad).

It keeps a Socket.IO connection to `/hall` (reconnecting by itself, including after a server
restart), applies events strictly in `seq` order (a gap waits GAP_WAIT s, then asks for a
snapshot), sends the device heartbeat, and speaks the REST API with the device token.
A device bound to one window hears only that window: its snapshot names the `scope`, and the
order it keeps is the events' `window_seq` (queue_server/stream.py); `scope="hall"` asks for
every event of the hall instead.
The drivers only say what a snapshot and an event mean to them.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable

import socketio

log = logging.getLogger("hall.device")

NAMESPACE = "/hall"
GAP_WAIT = 0.3


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class HallClient:
    def __init__(self, server: str, token: str, *, on_snapshot: Callable[[dict], None],
                 on_event: Callable[[dict], None], status: Callable[[], dict] | None = None,
                 heartbeat: float = 30.0, scope: str | None = None):
        self.server = server.rstrip("/")
        self.token = token
        self.scope = scope
        self.key = "seq"          # or "window_seq" once a snapshot says the stream is one window's
        self.on_snapshot, self.on_event = on_snapshot, on_event
        self.status = status or (lambda: {})
        self.heartbeat_every = heartbeat
        self.seq: int | None = None
        self.awaiting = True
        self.buffer: list[dict] = []
        self.connected = False
        self.stats = {"snapshots": 0, "events": 0, "gaps": 0, "connects": 0, "beats": 0}
        self._lock = threading.RLock()
        self._gap_timer: threading.Timer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=3,
                                   handle_sigint=False)
        self.sio.on("connect", self._connected, namespace=NAMESPACE)
        self.sio.on("disconnect", self._disconnected, namespace=NAMESPACE)
        self.sio.on("snapshot", self._snapshot, namespace=NAMESPACE)
        self.sio.on("*", self._any, namespace=NAMESPACE)

    # ---------------------------------------------------------------- REST
    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 5.0) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + "/api/v1" + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                return json.loads(res.read() or b"null")
        except urllib.error.HTTPError as err:
            try:
                detail = json.loads(err.read() or b"{}").get("error", {})
            except ValueError:
                detail = {}
            raise ApiError(err.code, detail.get("code", f"http_{err.code}"), detail.get("message", "")) from None

    # ---------------------------------------------------------------- life
    def start(self) -> "HallClient":
        for target in (self._connect_loop, self._heartbeat_loop):
            t = threading.Thread(target=target, daemon=True, name=f"hall-client-{target.__name__}")
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._gap_timer:
            self._gap_timer.cancel()
        # A graceful websocket close may wait seconds for the server's close frame: let it
        # finish in the background, the process (or test) need not wait for it.
        closer = threading.Thread(target=self._disconnect, daemon=True, name="hall-client-close")
        closer.start()
        closer.join(timeout=0.3)
        for t in self._threads:
            t.join(timeout=3)

    def _disconnect(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001 - already down
            pass

    def _connect_loop(self) -> None:
        """The first connection, retried until it works; later drops are the client's own job."""
        delay = 0.5
        while not self._stop.is_set():
            try:
                auth = {"token": self.token, **({"scope": self.scope} if self.scope else {})}
                self.sio.connect(self.server, auth=auth, namespaces=[NAMESPACE],
                                 transports=["websocket"], wait_timeout=5)
                return
            except socketio.exceptions.ConnectionError as exc:
                log.warning("cannot reach %s (%s); retrying in %.1fs", self.server, exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)

    def _heartbeat_loop(self) -> None:
        while not self._stop.is_set():
            try:
                answer = self.api("POST", "/devices/heartbeat", {"status": self.status()})
                self.stats["beats"] += 1
                every = min(self.heartbeat_every, float(answer.get("interval") or self.heartbeat_every))
            except Exception as exc:  # noqa: BLE001 - the server may be away; keep beating
                log.debug("heartbeat failed: %s", exc)
                every = min(self.heartbeat_every, 5.0)
            self._stop.wait(every)

    # ---------------------------------------------------------------- the stream
    def _connected(self):
        self.connected = True
        self.stats["connects"] += 1
        log.info("connected to %s", self.server)

    def _disconnected(self, *_):
        self.connected = False
        with self._lock:
            self.awaiting = True   # hold events until the snapshot that comes with the reconnect

    def ask_snapshot(self) -> None:
        with self._lock:
            self.awaiting = True
        try:
            self.sio.emit("snapshot", namespace=NAMESPACE)
        except Exception as exc:  # noqa: BLE001 - not connected: the reconnect brings one
            log.debug("snapshot request failed: %s", exc)

    def _snapshot(self, snap: dict) -> None:
        with self._lock:
            self.awaiting = False
            scope = snap.get("scope")
            self.key, self.seq = ("window_seq", scope["window_seq"]) if scope else ("seq", snap["seq"])
            self.stats["snapshots"] += 1
            self.buffer = [e for e in self.buffer if isinstance(e.get(self.key), int) and e[self.key] > self.seq]
            self.on_snapshot(snap)
            self._drain()

    def _any(self, event: str, data: Any = None) -> None:
        if event == "snapshot" or not isinstance(data, dict) or not isinstance(data.get("seq"), int):
            return
        with self._lock:
            self.stats["events"] += 1
            if not self.awaiting and not isinstance(data.get(self.key), int):
                return
            if not self.awaiting and self.seq is not None and data[self.key] <= self.seq:
                return
            self.buffer.append(data)
            if not self.awaiting:
                self._drain()

    def _drain(self) -> None:
        key = self.key
        self.buffer.sort(key=lambda e: e[key])
        while self.buffer:
            e = self.buffer[0]
            if self.seq is not None and e[key] <= self.seq:
                self.buffer.pop(0)
                continue
            if e[key] != (self.seq or 0) + 1:
                break
            self.buffer.pop(0)
            self.seq = e[key]
            try:
                self.on_event(e)
            except Exception:  # noqa: BLE001 - one bad event must not stop the stream
                log.exception("event %s failed", e.get("type"))
        if self.buffer and self._gap_timer is None:
            self.stats["gaps"] += 1
            self._gap_timer = threading.Timer(GAP_WAIT, self._gap_expired)
            self._gap_timer.daemon = True
            self._gap_timer.start()

    def _gap_expired(self) -> None:
        with self._lock:
            self._gap_timer = None
            still = bool(self.buffer) and not self.awaiting
        if still:
            self.ask_snapshot()


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None
