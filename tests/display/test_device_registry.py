"""The device registry: heartbeats (rarely written), status alerts, quiet devices, the admin's list,
revocation — and the alerts as events on /hall."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from queue_server.models import Device

from display_helpers import Listener, wait_for
from live import LiveServer

KIOSK, DISPLAY, RATER, LED = "test-kiosk", "test-display", "test-rater-01", "test-led-01"


def beat(client, token, status=None):
    return client.post("/api/v1/devices/heartbeat", json={"status": status or {}},
                       headers={"Authorization": f"Bearer {token}"})


def listing(hall, who="admin"):
    r = hall.c.get("/api/v1/devices", headers=hall.headers(who))
    assert r.status_code == 200, r.get_json()
    return {d["name"]: d for d in r.get_json()["devices"]}


def last_seen_in_db(app, name):
    with app.extensions["hall"].read() as s:
        return s.scalar(select(Device.last_seen_at).where(Device.name == name))


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


def test_heartbeats_are_kept_in_memory_and_written_rarely(app, client, clock, hall):
    registry = app.extensions["hall_devices"]
    first = beat(client, KIOSK, {"printer": "ok"}).get_json()
    assert first["ok"] and first["written"] and first["interval"] == 30
    written = last_seen_in_db(app, "测试取号机")
    clock.advance(seconds=10)
    assert beat(client, KIOSK, {"printer": "ok"}).get_json()["written"] is False
    assert last_seen_in_db(app, "测试取号机") == written                 # no write for "still here"
    assert listing(hall)["测试取号机"]["seconds_since_seen"] == 0         # but the list knows
    clock.advance(seconds=registry.write_every)
    assert beat(client, KIOSK, {"printer": "ok"}).get_json()["written"] is True
    assert last_seen_in_db(app, "测试取号机") == clock.now()
    clock.advance(seconds=1)
    assert beat(client, KIOSK, {"printer": "paper_low"}).get_json()["written"] is True   # a new status


def test_who_may_beat_and_who_may_see(client, hall):
    assert beat(client, "wrong-token").status_code == 401
    r = client.post("/api/v1/devices/heartbeat", json={}, headers=hall.headers("clerk01"))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "devices_only"
    for bad in ({"status": "paper_out"}, {"status": {"x" * 40: "ok"}}, {"status": {"printer": ["a"]}},
                {"status": {f"k{i}": 1 for i in range(30)}}):
        r = client.post("/api/v1/devices/heartbeat", json=bad, headers={"Authorization": f"Bearer {KIOSK}"})
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_status", bad
    assert client.get("/api/v1/devices", headers=hall.headers("clerk01")).status_code == 403
    assert client.get("/api/v1/devices").status_code == 401
    devices = listing(hall, "supervisor")
    assert set(devices) == {"测试取号机", "测试综合屏", "1号窗口评价器", "1号窗口屏"}
    assert devices["1号窗口评价器"]["window"]["number"] == 1
    assert all(d["state"] == "never" for d in devices.values())


def test_a_bad_status_raises_an_alert_event_and_a_good_one_clears_it(app, live, client, hall):
    screen = Listener(live.url, DISPLAY)
    start = screen.snapshots[0]["seq"]
    beat(client, KIOSK, {"printer": "ok"})
    beat(client, KIOSK, {"printer": "paper_out"})
    wait_for(lambda: screen.of("device.alert"), what="device.alert")
    alert = screen.of("device.alert")[0]
    assert alert["seq"] == start + 1                       # one change, one numbered event
    assert alert["device"]["name"] == "测试取号机" and alert["opened"] == ["status:printer"]
    assert alert["alerts"][0]["message"] == "打印机缺纸"
    assert listing(hall)["测试取号机"]["alerts"][0]["code"] == "status:printer"
    beat(client, KIOSK, {"printer": "paper_out"})          # still out of paper: no second alert
    beat(client, KIOSK, {"printer": "ok"})
    wait_for(lambda: screen.of("device.ok"), what="device.ok")
    screen.close()
    assert [e["type"] for e in screen.events] == ["device.alert", "device.ok"]
    assert screen.of("device.ok")[0]["cleared"] == ["status:printer"]
    assert listing(hall)["测试取号机"]["alerts"] == []


def test_a_quiet_device_raises_an_alert_and_comes_back(app, live, client, clock, hall):
    registry = app.extensions["hall_devices"]
    registry.quiet_after = 90
    screen = Listener(live.url, DISPLAY)
    beat(client, LED, {"serial": "ok"})
    clock.advance(seconds=60)
    assert registry.check() == 0
    assert listing(hall)["1号窗口屏"]["state"] == "online"
    clock.advance(seconds=31)
    app.extensions["hall_device_monitor"].set_interval(0.05)   # the app's own checker thread finds it
    wait_for(lambda: screen.of("device.alert"), what="quiet alert")
    alert = screen.of("device.alert")[0]
    assert alert["opened"] == ["quiet"] and "超过90秒没有心跳" in alert["alerts"][0]["message"]
    assert alert["device"]["window"]["number"] == 1
    row = listing(hall)["1号窗口屏"]
    assert row["state"] == "offline" and row["online"] is False and row["alerts"][0]["code"] == "quiet"
    assert listing(hall)["测试取号机"]["alerts"] == []        # never seen: not "quiet", just 未连接过
    import time
    time.sleep(0.3)
    assert len(screen.of("device.alert")) == 1                 # raised once, not on every pass
    beat(client, LED, {"serial": "ok"})
    wait_for(lambda: screen.of("device.ok"), what="device back")
    screen.close()
    assert listing(hall)["1号窗口屏"]["state"] == "online"
    app.extensions["hall_device_monitor"].stop()
    assert not app.extensions["hall_device_monitor"].thread.is_alive()


def test_revoking_a_device_ends_its_token_and_its_connection(app, live, client, hall):
    display = Listener(live.url, DISPLAY)
    devices = listing(hall)
    target = devices["测试综合屏"]["id"]
    r = client.post(f"/api/v1/devices/{target}/revoke", headers=hall.headers("supervisor"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/devices/{target}/revoke", headers=hall.headers("admin"))
    assert r.status_code == 200 and r.get_json()["device"]["revoked"] is True
    wait_for(lambda: not display.sio.connected, what="revoked display disconnected")
    assert beat(client, DISPLAY).status_code == 401
    assert client.get("/api/v1/queue", headers={"Authorization": f"Bearer {DISPLAY}"}).status_code == 401
    assert listing(hall)["测试综合屏"]["state"] == "revoked"
    assert client.post("/api/v1/devices/9999/revoke", headers=hall.headers("admin")).status_code == 404
    watcher = Listener(live.url, KIOSK)
    assert watcher.snapshots  # other devices unaffected
    watcher.close()
