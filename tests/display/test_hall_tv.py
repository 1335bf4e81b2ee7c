"""The hall TV page (/display) in Debian's Chromium against a real server process: call latency,
recalls, the voice queue, seq gaps, a server restart, and screenshots at 1080p and 4K."""
from __future__ import annotations

import json
import math
import time
import urllib.request
import wave
from array import array

import pytest
from playwright.sync_api import expect

from display.voice import wav_stats
from display_fixtures import artifacts, hall_process, open_page  # noqa: F401 (fixtures)
from display_helpers import DEMO_HALL, Api, HallProcess, wait_for
from live import free_port

pytestmark = pytest.mark.browser

TV = "/display?token=test-display"


def connected(page):
    page.wait_for_function("() => window.hallTV && hallTV.stream.stats.snapshots > 0 && hallTV.stream.connected")
    expect(page.locator("#conn-badge")).to_be_hidden()


def shows_call(page, ticket: str, window: int, timeout: float = 5000):
    page.wait_for_function(
        "([t, w]) => document.getElementById('call-ticket').textContent === t"
        " && document.getElementById('call-window').textContent === String(w)",
        arg=[ticket, window], timeout=timeout, polling=5)


def test_a_call_appears_within_500ms(open_page, hall_process, artifacts):
    server = hall_process()
    api = Api(server.url)
    page = open_page(server.url + TV)
    connected(page)
    expect(page.locator("#hall-name")).to_have_text("测试市政务服务中心")
    expect(page.locator("#ticker-text")).to_have_text("请携带身份证件")
    for code in ("XK00101001", "QR00201001", "GG00301001"):
        api.issue(code)
    expect(page.locator("#waiting-total")).to_have_text("3")
    for n in (1, 3, 5):
        api.token(f"clerk{n:02d}")                 # log in first: the password hash is slow on purpose
    latencies = []
    for window, ticket in ((1, "A001"), (3, "B001"), (5, "C001")):
        t0 = time.perf_counter()
        api.op(window, "call-next")
        shows_call(page, ticket, window)
        latencies.append(time.perf_counter() - t0)
        expect(page.locator("#call-card")).to_have_class("call flash")
        expect(page.locator(f".win[data-number='{window}'] .win-now")).to_have_text(ticket)
        expect(page.locator(f".win[data-number='{window}'] .win-state")).to_have_text("请到窗口")
    (artifacts / "tv_call_latency.json").write_text(json.dumps({"seconds": latencies}))
    assert max(latencies) < 0.5, latencies
    expect(page.locator("#waiting-total")).to_have_text("0")
    expect(page.locator("#recent-list li")).to_have_count(2)          # the two before the current call
    expect(page.locator("#recent-list li").first).to_contain_text("B001")
    expect(page.locator("#call-window-name")).to_have_text("社保窗口")
    # The page's heartbeat puts the display online in the registry.
    def display_row():
        status, body = api.request("GET", "/api/v1/devices", token=api.token("admin"))
        return next((d for d in body["devices"] if d["name"] == "测试综合屏" and d["state"] == "online"), None)
    row = wait_for(display_row, timeout=6, what="display heartbeat")
    assert row["status"] == {"screen": "ok", "socket": "ok", "voice": "ok"} and row["alerts"] == []


def short_clips(directory) -> None:
    """A clip set of 40 ms tones: the queue is the point here, not the words (test_display_voice)."""
    from display.voice import CLIP_TEXTS
    for i, name in enumerate([*CLIP_TEXTS, "chime"]):
        with wave.open(str(directory / f"{name}.wav"), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
            f = 300 + 20 * i
            w.writeframes(array("h", (int(9000 * math.sin(2 * math.pi * f * k / 16000)) for k in range(640))).tobytes())


def test_recall_flashes_again_and_calls_are_spoken_one_after_another(open_page, hall_process, tmp_path):
    short_clips(tmp_path)
    server = hall_process(env={"HALL_VOICE_CLIPS": str(tmp_path)})
    api = Api(server.url)
    page = open_page(server.url + TV)
    connected(page)
    expect(page.locator("#voice-overlay")).to_be_hidden()        # kiosk flag: no tap needed
    api.issue("XK00101001")
    api.issue("QR00201001")
    api.op(1, "call-next")
    api.op(3, "call-next")
    shows_call(page, "B001", 3)
    flash = page.locator("#call-card").get_attribute("data-flash")
    api.op(1, "recall")
    shows_call(page, "A001", 1)
    expect(page.locator("#call-label")).to_have_text("再次呼叫")
    assert int(page.locator("#call-card").get_attribute("data-flash")) == int(flash) + 1
    expect(page.locator("#recent-list li").first).to_contain_text("B001")
    # Three announcements queued within a second: each waits for the one before to end.
    page.wait_for_function("() => hallTV.voice.log.length >= 3", timeout=15000, polling=50)
    log = page.evaluate("() => hallTV.voice.log.map(x => ({t: x.ticket, w: x.window, r: x.recall,"
                        " s: x.start, e: x.end, how: x.how, url: x.url}))")
    assert [(x["t"], x["w"], x["r"]) for x in log[:3]] == [("A001", 1, False), ("B001", 3, False), ("A001", 1, True)]
    assert all(x["how"] == "ended" for x in log[:3]), log
    for before, after in zip(log, log[1:]):
        assert after["s"] >= before["e"], log                     # never two at once
    for x in log[:3]:
        with urllib.request.urlopen(server.url + x["url"]) as res:
            seconds, _ = wav_stats(res.read())
        assert seconds * 0.9 < (x["e"] - x["s"]) / 1000 < seconds + 1.5, (x, seconds)   # played whole


def test_a_seq_gap_waits_briefly_then_takes_a_snapshot(open_page, hall_process):
    server = hall_process()
    api = Api(server.url)
    page = open_page(server.url + TV)
    connected(page)
    # Out of order but complete within the wait: no snapshot needed.
    page.evaluate("""() => {
        const s = hallTV.stream, orig = s.receive.bind(s);
        let held = null;
        s.receive = ev => {
            if (!held && ev.type === 'ticket.issued') { held = ev; return; }
            orig(ev);
            if (held) { const h = held; held = 'done'; setTimeout(() => orig(h), 100); }
        };
        window.restore = () => { s.receive = orig; };
    }""")
    asked = page.evaluate("() => hallTV.stream.stats.asked")
    api.issue("XK00101001")
    api.issue("XK00101001")
    expect(page.locator("#waiting-total")).to_have_text("2")
    page.wait_for_timeout(400)
    assert page.evaluate("() => hallTV.stream.stats.asked") == asked
    # A lost event: after the short wait the page asks for a snapshot and is right again.
    page.evaluate("""() => {
        restore();
        const s = hallTV.stream, orig = s.receive.bind(s);
        let dropped = false;
        s.receive = ev => { if (!dropped && ev.type === 'ticket.called') { dropped = true; return; } orig(ev); };
    }""")
    api.op(1, "call-next")                      # lost on the way
    api.issue("QR00201001")                     # arrives: seq jumps by 2
    shows_call(page, "A001", 1)
    expect(page.locator("#waiting-total")).to_have_text("2")
    stats = page.evaluate("() => hallTV.stream.stats")
    assert stats["asked"] == asked + 1 and stats["gaps"] >= 1
    assert page.evaluate("() => hallTV.stream.seq") == api.queue()["seq"]


def test_the_tv_recovers_by_itself_after_a_server_restart(open_page, tmp_path):
    db, port = tmp_path / "hall.db", free_port()
    first = HallProcess(db, port).start()
    servers = [first]
    try:
        api = Api(first.url)
        api.issue("XK00101001")
        api.op(1, "call-next")
        page = open_page(first.url + TV)
        connected(page)
        shows_call(page, "A001", 1)
        first.kill()                                            # the server dies
        expect(page.locator("#conn-badge")).to_be_visible()
        expect(page.locator("#conn-badge")).to_have_text("连接中断")
        # Meanwhile the hall goes on through another process the page does not know about.
        other = HallProcess(db, free_port(), log=tmp_path / "other.log").start()
        servers.append(other)
        api2 = Api(other.url)
        api2.issue("QR00201001")
        api2.issue("GG00301001")
        api2.op(3, "call-next")
        api2.op(5, "pause")
        other.kill()
        again = HallProcess(db, port, log=tmp_path / "again.log").start()   # back on the same port
        servers.append(again)
        t0 = time.monotonic()
        expect(page.locator("#conn-badge")).to_be_hidden(timeout=10000)
        shows_call(page, "B001", 3)
        recovered = time.monotonic() - t0
        expect(page.locator(".win[data-number='5'] .win-now")).to_have_text("暂停服务")
        expect(page.locator("#waiting-total")).to_have_text("1")
        snap = Api(again.url).queue()
        assert page.evaluate("() => hallTV.stream.seq") == snap["seq"]
        # and it is live again
        api3 = Api(again.url)
        api3.issue("QR00201001")
        api3.op(4, "call-next")
        shows_call(page, "B002", 4)
        assert recovered < 8, recovered
    finally:
        for s in servers:
            s.kill()


def test_voice_needs_a_tap_without_the_kiosk_flag(chromium, hall_process):
    from display_fixtures import ARGS
    from display_helpers import CHROMIUM
    server = hall_process()
    plain = chromium.browser_type.launch(executable_path=str(CHROMIUM), args=ARGS)
    try:
        page = plain.new_page(viewport={"width": 1280, "height": 720})
        page.goto(server.url + TV)
        page.wait_for_function("() => window.hallTV && hallTV.stream.stats.snapshots > 0")
        overlay = page.locator("#voice-overlay")
        page.wait_for_timeout(300)
        if page.evaluate("() => hallTV.voice.enabled"):
            pytest.skip("this Chromium allows autoplay without a gesture; the overlay is not needed")
        expect(overlay).to_be_visible()
        expect(overlay).to_contain_text("点击启用语音")
        overlay.click()
        expect(overlay).to_be_hidden()
        assert page.evaluate("() => hallTV.voice.enabled")
    finally:
        plain.close()


def _busy_demo_hall(api: Api) -> None:
    """A Tuesday morning in the demo hall: 60 waiting, calls at most windows, two windows paused."""
    matters = [m for m in api.catalogue["matters"]]
    for i in range(84):
        api.issue(matters[(i * 7) % len(matters)]["code"])
    for n in range(1, 15):
        if n in (6, 11):
            api.op(n, "pause")
            continue
        api.op(n, "call-next", expect=None)
        if n in (2, 5, 8, 9):
            api.op(n, "accept", expect=None)
    api.op(3, "recall", expect=None)


def test_screenshots_of_a_busy_demo_hall_at_1080p_and_4k(open_page, hall_process, artifacts):
    server = hall_process(hall=DEMO_HALL, unlimited_kiosks=True)  # 84 tickets in seconds, one token
    api = Api(server.url, password="demo1234", kiosk="demo-kiosk", display="demo-display")
    page = open_page(server.url + "/display?token=demo-display", 1920, 1080)
    connected(page)
    _busy_demo_hall(api)
    snap = api.queue()
    page.wait_for_function("seq => hallTV.stream.seq === seq", arg=snap["seq"], timeout=10000)
    expect(page.locator("#call-label")).to_have_text("再次呼叫")
    expect(page.locator(".win[data-state='paused']")).to_have_count(2)
    expect(page.locator(".win[data-number='6'] .win-now")).to_have_text("暂停服务")
    expect(page.locator("#waiting-total")).to_have_text(str(snap["waiting"]["total"]))
    page.screenshot(path=str(artifacts / "tv_1920x1080_flash.png"))      # mid-flash, as it is called
    for width, height in ((1920, 1080), (3840, 2160)):
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate("() => document.getAnimations().filter(a => a.animationName !== 'ticker').forEach(a => a.finish())")
        page.screenshot(path=str(artifacts / f"tv_{width}x{height}.png"))
        # Nothing may be cut off or spill out of its panel at this size.
        clipped = page.evaluate("""() => [
            ...[...document.querySelectorAll('.panel, .call, .win, .waiting-list li, .recent-list li')]
                .filter(e => e.scrollHeight > e.clientHeight + 2 || e.scrollWidth > e.clientWidth + 2),
            ...[...document.querySelectorAll('.win-now, .q-name, .call-line')]
                .filter(e => e.scrollWidth > e.clientWidth + 1)]
            .map(e => e.className + ':' + e.textContent.slice(0, 30))""")
        assert clipped == [], (width, clipped)
        assert page.evaluate("() => document.documentElement.scrollHeight <= innerHeight"
                             " && document.documentElement.scrollWidth <= innerWidth")
        # The same layout at 4K: the big number scales with the screen.
        size = page.evaluate("() => parseFloat(getComputedStyle(document.getElementById('call-ticket')).fontSize)")
        assert size == pytest.approx(height * 0.17, rel=0.02), (width, size)
