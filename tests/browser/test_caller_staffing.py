"""The caller page and staffed windows (issue 19): 签到 when the window opens, 签退, 过号 asked
first, a transfer dialog that offers only what can be done, and the age of a 老年人 ticket."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from live import wait_for

from .conftest import serve_live
from .support import ARTIFACTS
from .test_caller import ENTERPRISE, SOLE_TRADER, open_window

pytestmark = pytest.mark.browser

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_born(yyyymmdd: str) -> str:
    body = "370102" + yyyymmdd + "123"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS)) % 11]


def states(hall) -> dict[int, str]:
    return {w["number"]: w["state"] for w in hall.queue()["windows"]}


def test_opening_the_window_signs_in_and_sign_out_closes_it(page, tmp_path):
    hall = serve_live(tmp_path, staffed=False)
    assert states(hall)[1] == "closed"
    open_window(page, hall)
    expect(page.locator("#window-state")).to_have_text("服务中")
    assert states(hall)[1] == "open"
    ticket = hall.issue(ENTERPRISE)
    assert ticket["window_ids"] == [hall.windows[1]["id"]]   # 2 and 10 are closed: nobody signed in

    page.click("#btn-sign")                                   # 签退
    expect(page.locator("#window-state")).to_have_text("未签到 · 未开放")
    expect(page.locator("#closed-note")).to_be_visible()
    expect(page.locator("#btn-sign")).to_have_text("签到")
    assert states(hall)[1] == "closed"
    assert hall.issue(ENTERPRISE)["window_ids"] == []
    page.screenshot(path=str(_shot("1366x768-signed-out.png")))

    page.click("#btn-sign")                                   # 签到 again
    expect(page.locator("#window-state")).to_have_text("服务中")
    assert states(hall)[1] == "open"

    page.click("#btn-logout")                                 # logging out closes it too
    expect(page.locator("#login-view")).to_be_visible()
    wait_for(lambda: states(hall)[1] == "closed")


def test_skip_asks_first_and_escape_keeps_the_citizen(page, live_hall):
    open_window(page, live_hall)
    ticket = live_hall.issue(SOLE_TRADER)
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])

    page.keyboard.press("F3")
    dialog = page.locator("#skip-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#skip-title")).to_have_text(f"确认 {ticket['number']} 过号？")
    page.screenshot(path=str(_shot("1366x768-skip-confirm.png")))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
    assert live_hall.ticket(ticket["id"])["status"] == "called"

    page.click("#btn-skip")
    expect(dialog).to_be_visible()
    page.click("#skip-confirm")
    expect(page.locator("#ticket-number")).to_have_text("—")
    assert live_hall.ticket(ticket["id"])["status"] == "skipped"


def test_transfer_dialog_offers_only_open_windows_of_the_matter(page, live_hall):
    live_hall.op(2, "sign-out")                               # 2 serves 企业设立登记 but is closed now
    open_window(page, live_hall)
    ticket = live_hall.issue(ENTERPRISE)
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])

    page.keyboard.press("F7")
    dialog = page.locator("#transfer-dialog")
    windows = dialog.locator(".transfer-windows .pick")
    expect(windows).to_have_count(1)                           # only window 10: open and serving it
    expect(windows.first).to_contain_text("10号窗口")
    for number in (2, 3):
        expect(dialog.locator(f"[data-window-id='{live_hall.windows[number]['id']}']")).to_have_count(0)
    expect(dialog.locator(f".transfer-matters [data-matter-id='{ticket['matter_id']}']")).to_have_count(0)
    expect(dialog.locator(".transfer-matters .pick").first).to_be_visible()
    page.screenshot(path=str(_shot("1366x768-transfer-open-windows.png")))

    # Window 10 closes while the dialog is open: the server refuses with its reason, in the dialog.
    windows.first.click()
    live_hall.op(10, "sign-out")
    page.click("#transfer-confirm")
    expect(page.locator("#transfer-error")).to_have_text("10号窗口未开放（无人签到），不能转入")
    page.click("#transfer-cancel")
    assert live_hall.ticket(ticket["id"])["status"] == "called"


def test_the_clerk_sees_the_age_of_an_elderly_ticket(page, live_hall):
    open_window(page, live_hall, "clerk03")
    ticket = live_hall.issue("QR00201001", priority="elderly", id_number=id_born("19500102"))
    expect(page.locator("#waiting-mine")).to_have_text("1")
    page.keyboard.press("F1")
    expect(page.locator("#ticket-number")).to_have_text(ticket["number"])
    age = next(w for w in live_hall.queue()["windows"] if w["number"] == 3)["current"]["age"]
    assert age >= 76
    expect(page.locator("#ticket-priority")).to_have_text(f"老年人优先 · {age}岁")
    page.screenshot(path=str(_shot("1366x768-elderly-age.png")))


def _shot(name: str):
    out = ARTIFACTS / "caller"
    out.mkdir(parents=True, exist_ok=True)
    return out / name
