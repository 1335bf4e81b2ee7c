"""The hall TV's big 「请 X 号到 N 号窗口」 panel tells the truth as the windows work: it follows a
skip, a pause and a resume, a recall, a finish and a transfer; a call nobody came to is said once
more after the hall's `call_repeat_seconds`; the 启用语音 button's icon is a picture, not a glyph
the fonts lack. In Debian's Chromium against a real server process."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from display_fixtures import artifacts, hall_process, open_page  # noqa: F401 (fixtures)
from display_helpers import SMALL_HALL, Api
from test_hall_tv import TV, connected, short_clips

pytestmark = pytest.mark.browser


def says(page, expected: str) -> None:
    """Wait until the big panel says `expected`: "A001@1 正在呼叫", or "idle"."""
    page.wait_for_function("want => (" + _PANEL + ")() === want", arg=expected, timeout=5000, polling=20)


_PANEL = """() => document.getElementById('call-body').hidden ? 'idle'
    : document.getElementById('call-ticket').textContent + '@' + document.getElementById('call-window').textContent
      + ' ' + document.getElementById('call-label').textContent"""


def hall_with_repeat(tmp_path, seconds: int):
    text = SMALL_HALL.read_text(encoding="utf-8").replace("[hall]\n", f"[hall]\ncall_repeat_seconds = {seconds}\n", 1)
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_panel_follows_skip_pause_recall_finish_and_transfer(open_page, hall_process, tmp_path):
    server = hall_process(hall=hall_with_repeat(tmp_path, 0))      # no automatic repeat in this one
    api = Api(server.url)
    page = open_page(server.url + TV)
    connected(page)
    says(page, "idle")
    api.issue("XK00102001")                # A001, a 即办件: finished at the window
    api.issue("QR00201001")                # B001
    api.issue("QR00201001")                # B002
    api.op(1, "call-next")
    says(page, "A001@1 正在呼叫")
    api.op(3, "call-next")
    says(page, "B001@3 正在呼叫")
    # B001 never came: skipped. The panel goes back to A001, still waited for at window 1.
    api.op(3, "skip")
    says(page, "A001@1 正在呼叫")
    expect(page.locator("#recent-list li").first).to_contain_text("B001")   # history keeps it
    # Window 1 pauses: nobody should walk to a closed window.
    api.op(1, "pause")
    says(page, "idle")
    expect(page.locator(".win[data-number='1'] .win-now")).to_have_text("暂停服务")
    api.op(1, "resume")
    says(page, "A001@1 正在呼叫")
    api.op(1, "recall")
    says(page, "A001@1 再次呼叫")
    api.op(1, "accept")
    says(page, "A001@1 再次呼叫")          # the person is at the window: the latest call stays
    api.op(1, "finish")
    says(page, "idle")
    # B002 is called at 3, then sent to window 4: it waits again, so nobody is called to 3.
    api.op(3, "call-next")
    says(page, "B002@3 正在呼叫")
    api.op(3, "transfer", {"to_window": 4})
    says(page, "idle")
    api.op(4, "call-next")
    says(page, "B002@4 正在呼叫")
    # A reload (a snapshot, not events) shows the same truth.
    api.op(4, "skip")
    page.reload()
    connected(page)
    says(page, "idle")


def test_a_call_nobody_came_to_is_said_once_more_after_the_interval(open_page, hall_process, tmp_path):
    short_clips(tmp_path)
    server = hall_process(hall=hall_with_repeat(tmp_path, 2), env={"HALL_VOICE_CLIPS": str(tmp_path)})
    api = Api(server.url)
    page = open_page(server.url + TV)
    connected(page)
    page.wait_for_function("() => hallTV.state.repeatSeconds === 2")
    api.issue("XK00101001")                # A001: nobody comes
    api.issue("QR00201001")                # B001: comes at once
    api.token("clerk01"), api.token("clerk03")
    started = time.monotonic()
    api.op(1, "call-next")
    says(page, "A001@1 正在呼叫")
    api.op(3, "call-next")
    api.op(3, "accept")                    # B001 came within the interval: not repeated
    says(page, "A001@1 再次呼叫")           # A001 did not: said again, once
    assert 1.8 < time.monotonic() - started < 4.0
    time.sleep(3)                          # once, not every interval
    spoken = page.evaluate("() => hallTV.voice.log.map(x => x.ticket + '@' + x.window + (x.recall ? 'R' : ''))")
    assert spoken == ["A001@1", "B001@3", "A001@1R"], spoken
    # 最近叫号 lists the calls made (B001, A001), not the repeat of A001 on the panel.
    expect(page.locator("#recent-list li")).to_have_count(2)
    expect(page.locator("#recent-list li").first).to_contain_text("B001")
    # A call answered within the interval is not repeated.
    api.issue("XK00101001")
    api.op(1, "skip")
    api.op(1, "call-next")                 # A002
    says(page, "A002@1 正在呼叫")
    api.op(1, "accept")
    time.sleep(3)
    spoken = page.evaluate("() => hallTV.voice.log.map(x => x.ticket + '@' + x.window + (x.recall ? 'R' : ''))")
    assert spoken[-1] == "A002@1", spoken


def test_the_voice_button_icon_is_a_picture_that_loads(open_page, hall_process, artifacts):
    server = hall_process()
    page = open_page(server.url + TV, 1920, 1080)
    connected(page)
    page.evaluate("() => { document.getElementById('voice-overlay').hidden = false; }")
    icon = page.locator("#voice-overlay img.icon")
    expect(icon).to_be_visible()
    assert page.evaluate("() => { const i = document.querySelector('#voice-overlay img'); return i.complete && i.naturalWidth > 0; }")
    box = icon.bounding_box()
    assert box["width"] >= 30 and box["height"] >= 30, box
    assert "🔊" not in page.locator("#voice-overlay").inner_text()
    page.screenshot(path=str(artifacts / "tv_1920x1080_voice_button.png"))


def test_windows_nobody_staffs_show_closed_and_open_when_a_clerk_signs_in(open_page, hall_process, artifacts):
    """Before anyone signs in every tile says 未开放; window 3's clerk signs in and it is 空闲; 签退
    closes it again; a paused window says 暂停服务 (queue_server/staffing.py)."""
    server = hall_process(nobody_signed_in=True)
    api = Api(server.url)
    page = open_page(server.url + TV)
    connected(page)
    tile = page.locator(".win[data-number='3'] .win-now")
    expect(tile).to_have_text("未开放")
    expect(page.locator(".win[data-state='closed']")).to_have_count(10)
    page.screenshot(path=str(artifacts / "tv-1920x1080-nobody-signed-in.png"))
    api.op(3, "sign-in")
    expect(page.locator(".win[data-number='3']")).to_have_attribute("data-state", "idle")
    api.op(4, "sign-in")
    api.op(4, "pause")
    expect(page.locator(".win[data-number='4'] .win-now")).to_have_text("暂停服务")
    api.issue("QR00201001")
    api.op(3, "call-next")
    says(page, "B001@3 正在呼叫")
    api.op(3, "skip")
    api.op(3, "sign-out")
    expect(tile).to_have_text("未开放")
    page.screenshot(path=str(artifacts / "tv-1920x1080-one-paused-rest-closed.png"))
