"""The /hall Socket.IO stream: a snapshot on connect, then every event in `seq` order.

A client that sees a gap in `seq`, or reconnects, emits `snapshot` and gets a fresh one; it never
has to guess what it missed.
"""
from __future__ import annotations

from flask import request
from flask_socketio import Namespace, SocketIO, emit, join_room

from .auth import Principal, authenticate
from .runtime import Runtime
from .views import queue_snapshot

NAMESPACE = "/hall"


def room(hall_id: int) -> str:
    return f"hall:{hall_id}"


class HallStream(Namespace):
    def __init__(self, rt: Runtime):
        super().__init__(NAMESPACE)
        self.rt = rt
        self.principals: dict[str, Principal] = {}

    def _snapshot(self, hall_id: int) -> dict:
        with self.rt.read() as s:
            now = self.rt.clock.now()
            return queue_snapshot(s, hall_id, now.date(), now)

    def on_connect(self, auth=None):
        if request.sid in self.principals:
            return  # a "connect" *event* sent by a connected client: not a new connection
        token = (auth or {}).get("token") if isinstance(auth, dict) else None
        principal = authenticate(self.rt, token or request.args.get("token"))
        if principal is None:
            raise ConnectionRefusedError("unauthorized")
        self.principals[request.sid] = principal
        join_room(room(principal.hall_id))
        emit("snapshot", self._snapshot(principal.hall_id))

    def on_disconnect(self, reason=None):
        if self.server.manager.is_connected(request.sid, NAMESPACE):
            return  # a "disconnect" *event* sent by the client: forgetting it would hide it from revocation
        self.principals.pop(request.sid, None)

    def on_snapshot(self, _data=None):
        principal = self.principals.get(request.sid)
        if principal is None:
            return {"error": {"code": "unauthorized", "message": "未认证"}}
        snap = self._snapshot(principal.hall_id)
        emit("snapshot", snap)
        return {"seq": snap["seq"]}


def make_publisher(socketio: SocketIO):
    def publish(hall_id: int, event: dict) -> None:
        socketio.emit(event["type"], event, namespace=NAMESPACE, to=room(hall_id))
    return publish
