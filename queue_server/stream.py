"""The /hall Socket.IO stream: a snapshot on connect, then every event in `seq` order.

A client that sees a gap in `seq`, or reconnects, emits `snapshot` and gets a fresh one; it never
has to guess what it missed.

A device bound to one window (an LED strip, a rating device) hears only that window's events:
a hall of a hundred windows sends each call to the screens that show it, not to two hundred
devices that would drop it. Such a connection's snapshot says so (`scope`: the window and its
`window_seq`), and it checks gaps on the events' `window_seq` instead of `seq`. A device that
wants the whole hall anyway (one LED process driving several windows' strips) connects with
`auth.scope = "hall"`.

A device whose token the admin rotates or revokes loses its connections at once in the process
that made the change (api/devices.py); in every other process `sweep` finds them within
SWEEP_EVERY seconds, so a stopped screen stops hearing the hall everywhere. A staff page's
connection lasts as long as its login session: renewing the token (`/auth/refresh`) keeps it,
logging out, the session's end or a deactivated account ends it the same way.
"""
from __future__ import annotations

import logging
import threading
import time

from flask import current_app, request
from flask_socketio import Namespace, SocketIO, emit, join_room
from socketio.packet import Packet
from sqlalchemy import select

from . import schemas
from .auth import Principal, authenticate, token_hash
from .models import AuthToken, Device, Staff, Window
from .ratelimit import SlidingWindow
from .runtime import Runtime
from .shapes import queue_snapshot

NAMESPACE = "/hall"
SWEEP_EVERY = 3.0
SNAPSHOTS_PER_MINUTE = 20   # a screen asks after a gap or a reconnect; more is a loop or a flood
log = logging.getLogger("hall")


WINDOW_DEVICES = ("led", "rater")


class EventPacket(Packet):
    """The stream's packets. Events and snapshots are plain JSON, never bytes, so a packet is not
    searched for binary attachments: python-socketio walks every value of the payload to find
    them (0.09 ms for an event of a 100-window hall), in each process that sends it on."""
    uses_binary_events = False


def room(hall_id: int) -> str:
    return f"hall:{hall_id}"


def window_room(hall_id: int, window_id: int) -> str:
    return f"hall:{hall_id}:window:{window_id}"


def window_scope(principal: Principal, auth) -> int | None:
    """The one window this connection hears, or None for the whole hall."""
    if principal.role not in WINDOW_DEVICES or len(principal.window_ids) != 1:
        return None
    if isinstance(auth, dict) and auth.get("scope") == "hall":
        return None
    return next(iter(principal.window_ids))


class HallStream(Namespace):
    def __init__(self, rt: Runtime):
        super().__init__(NAMESPACE)
        self.rt = rt
        self.principals: dict[str, Principal] = {}
        self.tokens: dict[str, str] = {}          # sid → the token digest it connected with
        self.scopes: dict[str, int] = {}          # sid → the one window it hears (window devices)
        self._sweeper: threading.Thread | None = None
        self._sweeper_guard = threading.Lock()
        self.snapshot_rate = SlidingWindow(60)    # snapshot requests per connection (sid)

    def _snapshot(self, hall_id: int, window_id: int | None = None) -> schemas.Snapshot:
        with self.rt.read() as s:
            now = self.rt.clock.now()
            snap = queue_snapshot(s, hall_id, now.date(), now)
            if window_id is not None:
                seq = next((w["window_seq"] for w in snap["windows"] if w["id"] == window_id), None)
                if seq is None:   # a window taken out of service: still its own numbering
                    seq = s.scalar(select(Window.event_seq).where(Window.id == window_id)) or 0
                snap["scope"] = {"window_id": window_id, "window_seq": seq}
            return snap

    def on_connect(self, auth=None):
        if request.sid in self.principals:
            return  # a "connect" *event* sent by a connected client: not a new connection
        token = (auth or {}).get("token") if isinstance(auth, dict) else None
        in_url = not token
        token = token or request.args.get("token")
        principal = authenticate(self.rt, token)
        if principal is None or (in_url and principal.kind == "staff"):   # a login never in a URL (logs)
            raise ConnectionRefusedError("unauthorized")
        self.principals[request.sid] = principal
        self.tokens[request.sid] = token_hash(token)
        self._start_sweeper()
        scope = window_scope(principal, auth)
        if scope is None:
            join_room(room(principal.hall_id))
        else:
            self.scopes[request.sid] = scope
            join_room(window_room(principal.hall_id, scope))
        emit("snapshot", self._snapshot(principal.hall_id, scope))

    def on_disconnect(self, reason=None):
        if self.server.manager.is_connected(request.sid, NAMESPACE):
            return  # a "disconnect" *event* sent by the client: forgetting it would hide it from revocation
        self.principals.pop(request.sid, None)
        self.tokens.pop(request.sid, None)
        self.scopes.pop(request.sid, None)

    def on_snapshot(self, _data=None):
        principal = self.principals.get(request.sid)
        if principal is None:
            return {"error": {"code": "unauthorized", "message": "未认证"}}
        if self.snapshot_rate.hit(request.sid, SNAPSHOTS_PER_MINUTE, time.monotonic()):
            return {"error": {"code": "too_many_snapshots", "message": "刷新过于频繁，请稍后再试"}}
        snap = self._snapshot(principal.hall_id, self.scopes.get(request.sid))
        emit("snapshot", snap)
        return {"seq": snap["seq"], **({"window_seq": snap["scope"]["window_seq"]} if "scope" in snap else {})}

    def sweep(self) -> list[str]:
        """End the connections whose credentials ended, by any process: a device whose token is
        no longer its own (rotated or revoked), a staff page whose login session is over.
        Returns their sids."""
        devices, staff = {}, {}
        for sid, digest in list(self.tokens.items()):
            principal = self.principals.get(sid)
            if principal is None:
                continue
            if principal.device_id is not None:
                devices[sid] = (digest, principal.device_id)
            else:
                staff[sid] = digest
        if not devices and not staff:
            return []
        with self.rt.read() as s:
            gone = _ended_devices(s, devices) + _ended_logins(s, staff, self.rt.clock.now())
        self._disconnect(gone)
        return gone

    def drop_device(self, device_id: int) -> None:
        """End this process's connections of a device now (its token was just rotated or revoked
        here); the other processes' sweeps find theirs."""
        self._disconnect([sid for sid, p in list(self.principals.items()) if p.device_id == device_id])

    def _disconnect(self, sids: list[str]) -> None:
        for sid in sids:
            self.tokens.pop(sid, None)
            try:
                self.server.disconnect(sid, namespace=NAMESPACE)
            except Exception:  # noqa: BLE001 - already gone
                log.debug("disconnect %s failed", sid)

    def _start_sweeper(self) -> None:
        with self._sweeper_guard:
            if self._sweeper is None:
                self._sweeper = threading.Thread(target=self._sweep_while_connected, name="hall-token-sweep",
                                                 daemon=True)
                self._sweeper.start()

    def _sweep_while_connected(self) -> None:
        """Runs while anyone is connected (so an app that is gone leaves no thread behind)."""
        stop = threading.Event()
        while True:
            stop.wait(SWEEP_EVERY)
            with self._sweeper_guard:
                if not self.tokens:
                    self._sweeper = None
                    return
            try:
                self.sweep()
            except Exception as exc:  # noqa: BLE001 - the database is away: try again next round
                log.warning("token sweep failed: %s", type(exc).__name__)


def _ended_devices(s, held: dict[str, tuple[str, int]]) -> list[str]:
    if not held:
        return []
    current = {i: (digest, revoked) for i, digest, revoked in s.execute(
        select(Device.id, Device.token_sha256, Device.revoked)
        .where(Device.id.in_({d for _, d in held.values()})))}
    return [sid for sid, (digest, device_id) in held.items()
            if current.get(device_id, (None, True)) != (digest, False)]


def _ended_logins(s, held: dict[str, str], now) -> list[str]:
    """A login session is the chain of tokens renewed from one password login: they share the
    staff member and `created_at` (auth.refresh). It is over when none of them is still valid."""
    if not held:
        return []
    session_of = {digest: (staff_id, started) for digest, staff_id, started in s.execute(
        select(AuthToken.token_sha256, AuthToken.staff_id, AuthToken.created_at)
        .where(AuthToken.token_sha256.in_(set(held.values()))))}
    live = {(staff_id, started) for staff_id, started in s.execute(
        select(AuthToken.staff_id, AuthToken.created_at).join(Staff, Staff.id == AuthToken.staff_id)
        .where(AuthToken.staff_id.in_({staff_id for staff_id, _ in session_of.values()}),
               AuthToken.revoked.is_(False), AuthToken.expires_at > now, Staff.active.is_(True)))}
    return [sid for sid, digest in held.items() if session_of.get(digest) not in live]


def current_stream() -> "HallStream | None":
    """This app's /hall namespace, to end connections now from a request (logout, revocation)."""
    socketio = current_app.extensions.get("socketio")
    return getattr(getattr(socketio, "server", None), "namespace_handlers", {}).get(NAMESPACE)


def make_publisher(socketio: SocketIO):
    def publish(hall_id: int, event: dict) -> None:
        window_id = event.get("window_id") if "window_seq" in event else None
        to = room(hall_id) if window_id is None else [room(hall_id), window_room(hall_id, window_id)]
        socketio.emit(event["type"], event, namespace=NAMESPACE, to=to)
    return publish
