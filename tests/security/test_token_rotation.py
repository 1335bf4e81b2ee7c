"""Tokens rotate (issue 8): a staff login is renewed while someone works and still ends when nobody
does; an admin gives a device a new token, the old one stops at once, and the new one outlives a
restart and the config sync until the config names another token."""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import threading
import time

import pytest
from sqlalchemy import select

from conftest import DISPLAY, KIOSK, SMALL_HALL, HallDriver
from live import LiveServer, wait_for
from queue_server import auth
from queue_server.app import create_app
from queue_server.config import load_hall_config
from queue_server.devices import DeviceTokenRotation
from queue_server.models import Device
from security_helpers import error_problem

HOUR = 3600


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str = "clerk01") -> dict:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "test1234"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def refresh(client, token: str):
    return client.post("/api/v1/auth/refresh", headers=bearer(token))


def me(client, token: str):
    return client.get("/api/v1/me", headers=bearer(token))


def device_id(client, admin_token: str, name: str) -> int:
    r = client.get("/api/v1/devices", headers=bearer(admin_token))
    return next(d["id"] for d in r.get_json()["devices"] if d["name"] == name)


def rotate(client, admin_token: str, name: str):
    return client.post(f"/api/v1/devices/{device_id(client, admin_token, name)}/token", headers=bearer(admin_token))


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def no_cache(monkeypatch):
    """Other processes see a change after PRINCIPAL_TTL; with it at 0 a test sees it at once."""
    monkeypatch.setattr(auth, "PRINCIPAL_TTL", 0.0)


# ------------------------------------------------------------------------------------ staff logins

def test_a_refresh_gives_a_new_token_with_a_fresh_expiry_and_ends_the_old_one(client, clock):
    first = login(client)
    assert first["expires_in"] == 12 * HOUR
    assert me(client, first["token"]).get_json()["expires_in"] == 12 * HOUR
    clock.advance(seconds=11.5 * HOUR)
    assert me(client, first["token"]).status_code == 200           # cached as valid in this process
    r = refresh(client, first["token"])
    assert r.status_code == 200, r.get_json()
    second = r.get_json()
    assert second["token"] != first["token"] and second["expires_in"] == 12 * HOUR
    # The old token is dead at once, here, although it was cached a moment ago.
    old = me(client, first["token"])
    assert old.status_code == 401 and error_problem(old) is None
    assert refresh(client, first["token"]).status_code == 401        # and cannot be renewed twice
    body = me(client, second["token"]).get_json()
    assert body["name"] == "clerk01" and body["expires_in"] == 12 * HOUR
    # The clerk keeps working with the new token past the old one's end.
    clock.advance(seconds=HOUR)
    assert me(client, second["token"]).status_code == 200


def test_a_login_nobody_renews_still_expires(client, clock):
    token = login(client)["token"]
    clock.advance(seconds=12 * HOUR)
    assert me(client, token).status_code == 401
    r = refresh(client, token)
    assert r.status_code == 401 and error_problem(r) is None


def test_renewals_reach_back_to_one_password_login_at_most_a_day(client, clock):
    token = login(client, "supervisor")["token"]
    for _ in range(2):
        clock.advance(seconds=11 * HOUR)
        r = refresh(client, token)
        assert r.status_code == 200, r.get_json()
        token = r.get_json()["token"]
    assert r.get_json()["expires_in"] == 2 * HOUR                   # 24 h after the login, not 34 h
    clock.advance(seconds=2 * HOUR - 30)
    r = refresh(client, token)
    assert r.status_code == 401 and "重新输入密码" in r.get_json()["error"]["message"]
    assert me(client, token).status_code == 200                       # a refusal leaves the token as it was
    clock.advance(seconds=30)
    assert me(client, token).status_code == 401


def test_only_staff_tokens_are_renewed(client):
    r = refresh(client, KIOSK)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden_role"
    assert client.post("/api/v1/auth/refresh").status_code == 401
    assert refresh(client, "not-a-token").status_code == 401


def test_a_renewal_is_seen_by_another_server_process(app, client, db_url, clock, no_cache):
    other = create_app([SMALL_HALL], db_url, secret=b"test-secret", clock=clock).test_client()
    token = login(client)["token"]
    assert me(other, token).status_code == 200
    fresh = refresh(client, token).get_json()["token"]
    assert me(other, token).status_code == 401
    assert me(other, fresh).status_code == 200


def test_a_logged_out_renewed_token_is_dead(client):
    token = refresh(client, login(client)["token"]).get_json()["token"]
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 200
    assert me(client, token).status_code == 401 and refresh(client, token).status_code == 401


# ------------------------------------------------------------------------------------ device tokens

def test_the_admin_rotates_a_device_token_and_the_old_one_stops_at_once(client, hall):
    admin = hall.token("admin")
    assert client.get("/api/v1/queue", headers=bearer(DISPLAY)).status_code == 200   # cached now
    r = rotate(client, admin, "测试综合屏")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    new = body["token"]
    assert body["device"]["name"] == "测试综合屏" and body["device"]["revoked"] is False
    assert len(new) >= 40 and new != DISPLAY
    assert client.get("/api/v1/queue", headers=bearer(DISPLAY)).status_code == 401
    assert client.get("/api/v1/queue", headers=bearer(new)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(new)).get_json()["role"] == "display"
    # Only the hash is stored; the listing never shows a token.
    with hall.c.application.extensions["hall"].read() as s:
        assert s.scalar(select(Device.token_sha256).where(Device.name == "测试综合屏")) == sha(new)
    listing = client.get("/api/v1/devices", headers=bearer(admin)).get_data(as_text=True)
    assert new not in listing
    # Rotating again replaces the new one too.
    newer = rotate(client, admin, "测试综合屏").get_json()["token"]
    assert client.get("/api/v1/queue", headers=bearer(new)).status_code == 401
    assert client.get("/api/v1/queue", headers=bearer(newer)).status_code == 200
    # Other devices are untouched.
    assert client.get("/api/v1/queue", headers=bearer(KIOSK)).status_code == 200


def test_who_may_rotate_and_what_cannot_be(client, hall):
    target = device_id(client, hall.token("admin"), "测试取号机")
    for who in ("clerk01", "supervisor"):
        r = client.post(f"/api/v1/devices/{target}/token", headers=hall.headers(who))
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden_role"
    r = client.post(f"/api/v1/devices/{target}/token", headers=bearer(DISPLAY))
    assert r.status_code == 403
    r = client.post("/api/v1/devices/999999/token", headers=hall.headers("admin"))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_device"
    assert client.post(f"/api/v1/devices/{target}/revoke", headers=hall.headers("admin")).status_code == 200
    r = client.post(f"/api/v1/devices/{target}/token", headers=hall.headers("admin"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "device_revoked"
    assert error_problem(r) is None
    assert client.get("/api/v1/queue", headers=bearer(KIOSK)).status_code == 401


def test_another_process_stops_taking_the_old_device_token(app, client, hall, db_url, clock, no_cache):
    other = create_app([SMALL_HALL], db_url, secret=b"test-secret", clock=clock).test_client()
    assert other.get("/api/v1/queue", headers=bearer(KIOSK)).status_code == 200
    new = rotate(client, hall.token("admin"), "测试取号机").get_json()["token"]
    assert other.get("/api/v1/queue", headers=bearer(KIOSK)).status_code == 401
    assert other.get("/api/v1/queue", headers=bearer(new)).status_code == 200


def test_a_rotated_token_outlives_a_restart_until_the_config_names_another(db_url, clock):
    app = create_app([SMALL_HALL], db_url, secret=b"test-secret", clock=clock)
    hall = HallDriver(app.test_client())
    new = rotate(hall.c, hall.token("admin"), "测试综合屏").get_json()["token"]
    app.extensions["hall"].engine.dispose()

    # A restart syncs the same config: the rotated token wins over the config's.
    again = create_app([SMALL_HALL], db_url, secret=b"test-secret", clock=clock).test_client()
    assert again.get("/api/v1/queue", headers=bearer(new)).status_code == 200
    assert again.get("/api/v1/queue", headers=bearer(DISPLAY)).status_code == 401

    # Someone writes a new token into the config: from the next start the config's wins.
    cfg = load_hall_config(SMALL_HALL)
    cfg.devices = [dataclasses.replace(d, token_sha256=sha("from-the-config")) if d.name == "测试综合屏" else d
                   for d in cfg.devices]
    edited = create_app([cfg], db_url, secret=b"test-secret", clock=clock)
    c = edited.test_client()
    assert c.get("/api/v1/queue", headers=bearer("from-the-config")).status_code == 200
    assert c.get("/api/v1/queue", headers=bearer(new)).status_code == 401
    with edited.extensions["hall"].read() as s:
        assert s.scalars(select(DeviceTokenRotation)).all() == []    # the rotation is forgotten
    # ... and stays the config's on later starts.
    later = create_app([cfg], db_url, secret=b"test-secret", clock=clock).test_client()
    assert later.get("/api/v1/queue", headers=bearer("from-the-config")).status_code == 200


def test_a_rotated_then_revoked_device_stays_revoked_across_restarts(db_url, clock):
    app = create_app([SMALL_HALL], db_url, secret=b"test-secret", clock=clock)
    hall = HallDriver(app.test_client())
    admin = hall.token("admin")
    new = rotate(hall.c, admin, "测试综合屏").get_json()["token"]
    target = device_id(hall.c, admin, "测试综合屏")
    assert hall.c.post(f"/api/v1/devices/{target}/revoke", headers=bearer(admin)).status_code == 200
    again = create_app([SMALL_HALL], db_url, secret=b"test-secret", clock=clock).test_client()
    for token in (new, DISPLAY):
        assert again.get("/api/v1/queue", headers=bearer(token)).status_code == 401


class Listener:
    """A /hall client that keeps the events it hears."""

    def __init__(self, url: str, token: str):
        import socketio
        self.events: list[dict] = []
        self.snapshots: list[dict] = []
        self.sio = socketio.Client(reconnection=False, handle_sigint=False)
        self.sio.on("snapshot", self.snapshots.append, namespace="/hall")
        self.sio.on("*", lambda name, data=None: self.events.append(data), namespace="/hall")
        self.sio.connect(url, namespaces=["/hall"], auth={"token": token}, transports=["websocket"], wait_timeout=5)
        wait_for(lambda: self.snapshots)

    def of(self, kind: str) -> list[dict]:
        return [e for e in list(self.events) if e and e.get("type") == kind]

    def close(self) -> None:
        threading.Thread(target=self.sio.disconnect, daemon=True).start()


def test_rotation_drops_the_connections_made_with_the_old_token(app, client, hall):
    with LiveServer(app) as live:
        screen = Listener(live.url, DISPLAY)
        watcher = Listener(live.url, KIOSK)
        new = rotate(client, hall.token("admin"), "测试综合屏").get_json()["token"]
        wait_for(lambda: not screen.sio.connected)
        # Everyone else hears of it (the admin pages reload their list on it), without the token.
        event = wait_for(lambda: watcher.of("device.token_rotated"))[0]
        assert event["device"]["name"] == "测试综合屏" and new not in str(event)
        back = Listener(live.url, new)
        assert back.snapshots
        back.close()
        watcher.close()


# ------------------------------------------------------------------------------------ in the browser

def _open(chromium, url: str):
    context = chromium.new_context(viewport={"width": 1366, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(8000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    return context, page, errors


def _stored_token(page, prefix: str) -> str | None:
    return page.evaluate("(k) => JSON.parse(sessionStorage.getItem(k))", prefix + "token")


def _near_the_end(page, prefix: str, minutes: int = 30) -> None:
    """Pretend the login has `minutes` left (the page keeps the expiry in sessionStorage)."""
    page.evaluate("([k, ms]) => sessionStorage.setItem(k, String(Date.now() + ms))",
                  [prefix + "expires_at", minutes * 60 * 1000])


@pytest.mark.browser
def test_the_caller_page_renews_its_login_while_the_clerk_works_and_not_when_idle(chromium, tmp_path, sqlite_db):
    from playwright.sync_api import expect
    app = create_app([SMALL_HALL], sqlite_db(tmp_path / "hall.db"), secret=b"t")
    app.extensions["hall"].ignore_hours = True
    with LiveServer(app) as live:
        context, page, errors = _open(chromium, live.url + "/caller")
        try:
            page.fill("#login-username", "clerk01")
            page.fill("#login-password", "test1234")
            page.click("#login-submit")
            expect(page.locator("#main-view")).to_be_visible()
            first = _stored_token(page, "hall.caller.")
            # Far from the end: working does not renew.
            page.keyboard.press("Shift")
            assert page.evaluate("HallSession.check()") is None
            assert _stored_token(page, "hall.caller.") == first
            # Near the end, a key press renews: a new token, the old one refused by the server.
            _near_the_end(page, "hall.caller.")
            page.keyboard.press("Shift")
            wait_for(lambda: _stored_token(page, "hall.caller.") != first, timeout=5)
            second = _stored_token(page, "hall.caller.")
            client = app.test_client()
            assert me(client, first).status_code == 401
            assert me(client, second).status_code == 200
            left = page.evaluate("HallSession.state().expiresAt - Date.now()")
            assert left > 11 * HOUR * 1000
            # The page carries on with the new token: calling the next ticket works.
            HallDriver(client).issue("XK00101001")
            # As the clerk does: the ticket shows as waiting here, then call (the button stays
            # disabled while the stream says nobody waits; CI once clicked before the event came).
            expect(page.locator("#waiting-mine")).to_have_text("1", timeout=15_000)
            page.click("#btn-call")
            expect(page.locator("#ticket-number")).to_have_text("A001")
            assert not errors, errors
        finally:
            context.close()


@pytest.mark.browser
def test_an_untouched_caller_page_lets_its_login_expire(chromium, tmp_path, sqlite_db):
    from playwright.sync_api import expect
    app = create_app([SMALL_HALL], sqlite_db(tmp_path / "hall.db"), secret=b"t")
    with LiveServer(app) as live:
        context, page, errors = _open(chromium, live.url + "/caller")
        try:
            page.fill("#login-username", "clerk01")
            page.fill("#login-password", "test1234")
            page.press("#login-password", "Enter")
            expect(page.locator("#main-view")).to_be_visible()
            token = _stored_token(page, "hall.caller.")
            # A reload forgets who touched the page: now nobody has.
            page.reload()
            expect(page.locator("#main-view")).to_be_visible()
            _near_the_end(page, "hall.caller.")
            assert page.evaluate("HallSession.state().lastActivity") == 0
            assert page.evaluate("HallSession.check()") is None
            time.sleep(0.3)
            assert _stored_token(page, "hall.caller.") == token
            assert not errors, errors
        finally:
            context.close()


@pytest.mark.browser
def test_the_admin_rotates_a_device_token_on_the_devices_page(chromium, tmp_path, sqlite_db):
    from playwright.sync_api import expect
    app = create_app([SMALL_HALL], sqlite_db(tmp_path / "hall.db"), secret=b"t")
    with LiveServer(app) as live:
        context, page, errors = _open(chromium, live.url + "/admin/devices")
        try:
            page.fill("#login-username", "admin")
            page.fill("#login-password", "test1234")
            page.click("#login-submit")
            row = page.locator("#device-rows tr", has_text="测试综合屏")
            page.on("dialog", lambda d: d.accept())
            row.locator("button", has_text="更换令牌").click()
            expect(page.locator("#token-dialog")).to_be_visible()
            new = page.locator("#token-value").text_content()
            assert len(new) >= 40
            expect(page.locator("#token-how")).to_contain_text("/display#token=")
            client = app.test_client()
            assert client.get("/api/v1/queue", headers=bearer(DISPLAY)).status_code == 401
            assert client.get("/api/v1/queue", headers=bearer(new)).status_code == 200
            page.click("#token-close")
            expect(page.locator("#token-dialog")).to_be_hidden()
            assert page.locator("#token-value").text_content() == ""     # shown once
            expect(page.locator("#message")).to_contain_text("已更换令牌：测试综合屏")
            assert not errors, errors
        finally:
            context.close()


# ------------------------------------------------------------------- a staff page's stream and its login

def _stream(app):
    return app.extensions["socketio"].server.namespace_handlers["/hall"]


def test_logging_out_closes_the_pages_stream_at_once(app, client, clock):
    with LiveServer(app) as live:
        token = login(client)["token"]
        page = Listener(live.url, token)
        clock.set(clock.now() + datetime.timedelta(minutes=5))
        other_login = Listener(live.url, login(client)["token"])   # the same clerk, another login
        assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 200
        wait_for(lambda: not page.sio.connected, timeout=2)
        assert other_login.sio.connected
        other_login.close()


def test_a_staff_stream_lasts_as_long_as_its_login_session(app, client, db_url, clock):
    with LiveServer(app) as live:
        stream = _stream(app)
        token = login(client)["token"]
        page = Listener(live.url, token)
        renewed = refresh(client, token).get_json()["token"]
        assert stream.sweep() == [] and page.sio.connected   # a renewal keeps the session going
        # Logged out through another server process: this process's sweep ends the page.
        elsewhere = create_app([SMALL_HALL], db_url, secret=b"test-secret", clock=clock).test_client()
        assert elsewhere.post("/api/v1/auth/logout", headers=bearer(renewed)).status_code == 200
        assert len(stream.sweep()) == 1
        wait_for(lambda: not page.sio.connected)

        # A session nobody renews ends at its expiry, and its page with it.
        quiet = Listener(live.url, login(client, "clerk05")["token"])
        assert stream.sweep() == []
        clock.set(clock.now() + datetime.timedelta(hours=auth.SESSION_HOURS, minutes=1))
        assert len(stream.sweep()) == 1
        wait_for(lambda: not quiet.sio.connected)
