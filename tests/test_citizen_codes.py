"""The slip's codes are the citizen's: the query code (progress page, web rating) and the ballot
code (the barcode counted in 投箱评议) reach the kiosk that prints the slip and nobody else in the
hall. Raw JSON of every /hall event and snapshot a display, an LED strip and a rating device
receive, and of the window's API answers, is searched for them."""
from __future__ import annotations

import json

from conftest import HallDriver
from live import LiveServer, wait_for
from test_stream import Screen

ALL_EVENTS = ["ticket.issued", "ticket.called", "ticket.recalled", "ticket.skipped", "ticket.transferred",
              "ticket.requeued", "window.paused", "window.resumed", "case.accepted", "case.finished",
              "rating.received", "follow_up.updated"]


class Device(Screen):
    """A Screen that also hears the rating events and keeps every payload as received."""

    def __init__(self, url: str, token: str):
        super().__init__(url, token)
        for name in ALL_EVENTS[10:]:
            self.sio.on(name, self._event, namespace="/hall")


def test_no_display_led_rater_or_window_answer_carries_the_slip_codes(app, clock):
    hall = HallDriver(app.test_client())
    with LiveServer(app) as live:
        devices = {"display": Device(live.url, "test-display").connect(),
                   "led": Device(live.url, "test-led-01").connect(),
                   "rater": Device(live.url, "test-rater-01").connect()}
        issued = hall.issue("XK00102001", phone="13812345678")
        slip = issued.get_json()["ticket"]
        secrets = [slip["query_code"], slip["ballot_code"]]
        assert all(secrets) and slip["ballot_code"] != str(slip["id"]) and len(slip["ballot_code"]) == 16
        answers = [hall.op(1, "call-next"), hall.op(1, "recall"), hall.op(1, "accept")]
        clock.advance(minutes=4)
        answers.append(hall.op(1, "finish"))
        hall.issue("XK00101001")   # issued after: window 1 ranks this 承诺件 first
        kiosk = {"Authorization": "Bearer test-kiosk"}
        answers += [hall.c.get("/api/v1/queue", headers=kiosk), hall.c.get("/api/v1/windows", headers=kiosk),
                    hall.c.get(f"/api/v1/tickets/{slip['id']}", headers=kiosk),       # the kiosk's later read
                    hall.c.get(f"/api/v1/tickets/{slip['id']}", headers=hall.headers("clerk01")),
                    hall.c.get("/api/v1/ratings/device", headers=hall.headers("test-rater-01"))]
        rated = hall.c.post("/api/v1/ratings", json={"channel": "device", "level": 1, "tags": ["服务态度差"],
                                                     "case_id": answers[3].get_json()["case"]["id"]},
                            headers=hall.headers("test-rater-01"))
        assert rated.status_code == 201
        answers.append(rated)
        answers += [hall.op(1, "call-next"), hall.op(1, "skip"),
                    hall.c.get(f"/api/v1/windows/{hall.windows[1]['id']}/skipped", headers=hall.headers("clerk01"))]
        for d in devices.values():
            d.sio.call("snapshot", namespace="/hall", timeout=5)  # a fresh snapshot after the day's work
        wait_for(lambda: any(e["type"] == "rating.received" for e in devices["display"].events)
                 and len(devices["rater"].snapshots) == 2 and len(devices["led"].snapshots) == 2)
        for d in devices.values():
            d.close()

    for name, d in devices.items():
        assert d.events and len(d.snapshots) == 2, name
        raw = json.dumps([d.snapshots, d.events], ensure_ascii=False)
        assert slip["number"] in raw or name != "display", "the display did see the ticket"
        for secret in secrets:
            assert secret not in raw, f"{name} received a slip code"
        assert "query_code" not in raw and "ballot_code" not in raw, name
    for answer in answers:
        assert answer.status_code == 200 or answer.status_code == 201, answer.get_json()
        raw = answer.get_data(as_text=True)
        for secret in secrets:
            assert secret not in raw, (answer.request.path, raw[:300])
    # Whoever holds the slip still reads the ticket by its query code (the progress page).
    public = hall.c.get(f"/api/v1/tickets/{slip['query_code']}").get_json()["ticket"]
    assert public["query_code"] == slip["query_code"] and "ballot_code" not in public
