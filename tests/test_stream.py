"""The /hall event stream over a real socket with a real Socket.IO client."""
from __future__ import annotations

import threading

import pytest
import socketio

from conftest import DISPLAY, SMALL_HALL, HallDriver, migrated_postgres_url, unlimited_kiosks
from live import LiveServer, wait_for
from queue_server.app import create_app

EVENTS = ["ticket.issued", "ticket.called", "ticket.recalled", "ticket.skipped", "ticket.transferred",
          "ticket.requeued", "window.paused", "window.resumed", "window.opened", "window.closed",
          "case.accepted", "case.finished"]


class Screen:
    """What a hall display does: keeps the snapshot, applies events in seq order."""

    def __init__(self, url: str, token: str = DISPLAY, scope: str | None = None):
        self.sio = socketio.Client(reconnection=False)
        self.scope = scope
        self.snapshots: list[dict] = []
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.sio.on("snapshot", self._snapshot, namespace="/hall")
        for name in EVENTS:
            self.sio.on(name, self._event, namespace="/hall")
        self.url, self.token = url, token

    def _snapshot(self, data):
        with self.lock:
            self.snapshots.append(data)

    def _event(self, data):
        with self.lock:
            self.events.append(data)

    def connect(self):
        auth = {"token": self.token, **({"scope": self.scope} if self.scope else {})}
        self.sio.connect(self.url, namespaces=["/hall"], auth=auth,
                         transports=["websocket"], wait_timeout=5)
        wait_for(lambda: self.snapshots)
        return self

    def close(self):
        self.sio.disconnect()


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


def test_events_arrive_in_order_with_contiguous_seq(live, app, clock):
    hall = HallDriver(app.test_client())
    screen = Screen(live.url).connect()
    start = screen.snapshots[0]["seq"]
    hall.issue("QR00201001")
    hall.issue("QR00201001", priority="elderly")
    hall.issue("GG00301001")
    hall.op(3, "call-next")
    hall.op(3, "recall")
    hall.op(3, "accept")
    hall.op(3, "finish")
    hall.op(3, "call-next")
    skipped = hall.op(3, "skip").get_json()["ticket"]
    hall.op(3, "requeue", {"ticket_id": skipped["id"]})
    hall.op(5, "pause")
    hall.op(5, "resume")
    hall.op(5, "call-next")
    hall.op(5, "transfer", {"to_window": hall.windows[8]["id"]})
    wait_for(lambda: len(screen.events) >= 14)
    screen.close()
    seqs = [e["seq"] for e in screen.events]
    assert seqs == list(range(start + 1, start + 15))
    assert [e["type"] for e in screen.events] == [
        "ticket.issued", "ticket.issued", "ticket.issued", "ticket.called", "ticket.recalled",
        "case.accepted", "case.finished", "ticket.called", "ticket.skipped", "ticket.requeued",
        "window.paused", "window.resumed", "ticket.called", "ticket.transferred"]
    called = screen.events[3]
    assert called["ticket"]["number"] == "B002" and called["window"]["number"] == 3
    assert called["waiting"]["by_prefix"] == {"B": 1, "C": 1}
    assert screen.events[5]["case"]["kind"] == "即办件"


def test_concurrent_changes_still_arrive_in_seq_order(live, app):
    _concurrent_day_arrives_in_order(live, app)


@pytest.mark.postgres
def test_concurrent_changes_arrive_in_seq_order_on_postgres(clock):
    """On PostgreSQL the changes commit side by side (only the hall row's numbering is one at a
    time), so the outbox is what keeps the screen's events in order."""
    app = create_app([SMALL_HALL], migrated_postgres_url(), secret=b"test-secret", clock=clock)
    try:
        with LiveServer(app) as live:
            _concurrent_day_arrives_in_order(live, app)
    finally:
        app.extensions["hall"].engine.dispose()


def _concurrent_day_arrives_in_order(live, app):
    """Four kiosks issue while two windows call and skip, all at once."""
    unlimited_kiosks(app)  # four kiosks' worth of tickets through one token
    hall = HallDriver(app.test_client())
    screen = Screen(live.url).connect()
    start = screen.snapshots[0]["seq"]
    changes = []

    def kiosk():
        client = app.test_client()
        for _ in range(15):
            assert client.post("/api/v1/tickets", json={"matter_id": hall.matters["GG00301001"]["id"]},
                               headers={"Authorization": "Bearer test-kiosk"}).status_code == 201
            changes.append(1)

    def window(number):
        clerk = HallDriver(app.test_client())
        for _ in range(10):
            if clerk.op(number, "call-next").status_code == 200:
                changes.append(1)
                assert clerk.op(number, "skip").status_code == 200
                changes.append(1)

    threads = [threading.Thread(target=kiosk) for _ in range(4)]
    threads += [threading.Thread(target=window, args=(n,)) for n in (5, 9)]  # ranked and fifo
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: len(screen.events) >= len(changes))
    screen.close()
    assert len(changes) > 70   # the windows called some of the tickets while they were issued
    assert [e["seq"] for e in screen.events] == list(range(start + 1, start + len(changes) + 1))


def test_reconnect_gets_a_snapshot_matching_the_queue(live, app, clock):
    hall = HallDriver(app.test_client())
    screen = Screen(live.url).connect()
    hall.issue("QR00201001")
    screen.close()
    # While the screen is away the hall moves on.
    for code in ("QR00201001", "XK00101001", "GG00301001"):
        hall.issue(code)
    hall.op(3, "call-next")
    hall.op(1, "call-next")
    hall.op(1, "accept")
    hall.op(7, "pause")
    again = Screen(live.url).connect()
    snap = again.snapshots[-1]
    api = hall.queue()
    again.close()
    assert snap["seq"] == api["seq"] == 10 + 8   # the ten windows opened in the morning, then eight changes
    snap.pop("at"), api.pop("at")
    assert snap == api
    assert next(w for w in snap["windows"] if w["number"] == 7)["state"] == "paused"


def test_asking_for_a_snapshot_after_a_gap(live, app):
    hall = HallDriver(app.test_client())
    screen = Screen(live.url).connect()
    hall.issue("QR00201001")
    wait_for(lambda: screen.events)
    reply = screen.sio.call("snapshot", namespace="/hall", timeout=5)
    wait_for(lambda: len(screen.snapshots) == 2)
    screen.close()
    assert reply == {"seq": screen.events[-1]["seq"]} and screen.snapshots[-1]["seq"] == reply["seq"]


def test_a_window_device_hears_only_its_window_numbered_by_window_seq(live, app):
    """A rating device and an LED strip of window 1 get window 1's events, with their own
    contiguous numbering; the hall display gets everything; another window's call is not theirs."""
    hall = HallDriver(app.test_client())
    window1 = hall.windows[1]["id"]
    display = Screen(live.url).connect()
    rater = Screen(live.url, "test-rater-01").connect()
    led = Screen(live.url, "test-led-01").connect()
    hall_wide = Screen(live.url, "test-rater-01", scope="hall").connect()
    scope = rater.snapshots[0]["scope"]
    assert scope == {"window_id": window1, "window_seq": 1} and led.snapshots[0]["scope"] == scope   # opened
    assert "scope" not in display.snapshots[0] and "scope" not in hall_wide.snapshots[0]

    for code in ("XK00102001", "QR00201001", "GG00301001"):
        hall.issue(code)
    hall.op(1, "call-next")
    hall.op(3, "call-next")
    hall.op(1, "accept")
    hall.op(1, "finish")
    hall.op(3, "skip")
    hall.op(1, "pause")
    wait_for(lambda: len(display.events) >= 9 and len(hall_wide.events) >= 9 and len(led.events) >= 4)
    mine = [e for e in display.events if (e.get("window") or {}).get("id") == window1]
    for screen in (rater, led):
        assert [e["seq"] for e in screen.events] == [e["seq"] for e in mine]
        assert [e["window_seq"] for e in screen.events] == [2, 3, 4, 5]
        assert [e["type"] for e in screen.events] == ["ticket.called", "case.accepted", "case.finished",
                                                      "window.paused"]
    assert [e["seq"] for e in hall_wide.events] == [e["seq"] for e in display.events]
    assert [e["type"] for e in display.events].count("ticket.issued") == 3

    # A gap: the device asks, and the answer is its window's number, consistent with the queue.
    reply = rater.sio.call("snapshot", namespace="/hall", timeout=5)
    wait_for(lambda: len(rater.snapshots) == 2)
    for screen in (display, rater, led, hall_wide):
        screen.close()
    assert reply["window_seq"] == 5 and rater.snapshots[-1]["scope"] == {"window_id": window1, "window_seq": 5}
    assert next(w for w in hall.queue()["windows"] if w["id"] == window1)["window_seq"] == 5


def test_connect_without_a_valid_token_is_refused(live):
    for token in (None, "wrong"):
        client = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(live.url, namespaces=["/hall"], auth={"token": token} if token else None,
                           transports=["websocket"], wait_timeout=3)
        client.disconnect()


def test_events_go_out_without_a_search_for_binary_attachments(live, app, monkeypatch):
    """Events are JSON: python-socketio's walk through every value looking for bytes (once per
    process that sends an event on) is skipped, and the screen still gets the event whole."""
    walks = []
    real = socketio.packet.Packet.data_is_binary
    monkeypatch.setattr(socketio.packet.Packet, "data_is_binary",
                        classmethod(lambda cls, data: data is not None and walks.append(data) or real(data)))
    hall = HallDriver(app.test_client())
    screen = Screen(live.url).connect()
    walks.clear()
    hall.issue("QR00201001")
    wait_for(lambda: screen.events)
    screen.close()
    assert screen.events[0]["type"] == "ticket.issued" and screen.events[0]["waiting"]["total"] == 1
    assert walks == []
