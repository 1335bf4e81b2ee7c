"""The admin's devices page (/admin/devices): login, the list, alerts arriving live, a quiet device."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from display_fixtures import artifacts, hall_process, open_page  # noqa: F401 (fixtures)
from display_helpers import Api

pytestmark = pytest.mark.browser


def test_devices_page_shows_alerts_live(open_page, hall_process, artifacts):
    server = hall_process(quiet_after=3)       # the server's checker: quiet after 3 s, checked every 0.2 s
    api = Api(server.url)
    api.request("POST", "/api/v1/devices/heartbeat", {"status": {"printer": "ok"}}, token="test-kiosk")
    api.request("POST", "/api/v1/devices/heartbeat", {"status": {"serial": "ok", "led": "欢迎光临"}}, token="test-led-01")
    page = open_page(server.url + "/admin/devices", 1600, 900)
    page.fill("#login-username", "clerk01")
    page.fill("#login-password", "test1234")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("设备管理需要管理员或督查账号")
    page.fill("#login-username", "admin")
    page.fill("#login-password", "test1234")
    page.click("#login-submit")
    expect(page.locator("#devices-view")).to_be_visible()
    expect(page.locator("#conn-state")).to_have_text("实时连接")
    rows = page.locator("#device-rows tr")
    expect(rows).to_have_count(4)
    kiosk = page.locator("#device-rows tr", has_text="测试取号机")
    api.request("POST", "/api/v1/devices/heartbeat", {"status": {"printer": "ok"}}, token="test-kiosk")
    expect(kiosk.locator(".state")).to_have_text("在线")
    # The kiosk runs out of paper: the page shows it at once (an event, not the 10 s refresh).
    api.request("POST", "/api/v1/devices/heartbeat", {"status": {"printer": "paper_out"}}, token="test-kiosk")
    expect(kiosk.locator(".alert")).to_have_text("打印机缺纸", timeout=2000)
    expect(kiosk.locator(".chip.bad")).to_have_text("打印机：缺纸")
    expect(page.locator("#message")).to_contain_text("告警：测试取号机")
    # The LED strip stops beating: after 3 s it is offline with a 「没有心跳」 alert.
    led = page.locator("#device-rows tr", has_text="1号窗口屏")
    expect(led.locator(".alert")).to_contain_text("没有心跳", timeout=8000)
    expect(led.locator(".state")).to_have_text("离线")
    expect(page.locator("#device-rows tr", has_text="1号窗口评价器").locator(".state")).to_have_text("未连接过")
    page.screenshot(path=str(artifacts / "admin_devices.png"))
    # The strip comes back: its alert clears live.
    api.request("POST", "/api/v1/devices/heartbeat", {"status": {"serial": "ok"}}, token="test-led-01")
    expect(led.locator(".alert")).to_have_count(0, timeout=2000)
    expect(led.locator(".state")).to_have_text("在线")
    # Revoke the display (admin only, confirmed in a dialog).
    page.on("dialog", lambda d: d.accept())
    page.locator("#device-rows tr", has_text="测试综合屏").locator("button", has_text="停用").click()
    expect(page.locator("#device-rows tr", has_text="测试综合屏").locator(".state")).to_have_text("已停用")
    status, _ = api.request("GET", "/api/v1/queue", token="test-display")
    assert status == 401
