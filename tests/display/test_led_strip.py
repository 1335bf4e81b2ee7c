"""The window LED strip driver over a pty pair: the frames for call, recall, accept, pause, idle;
a strip unplugged and plugged back; the server restarted under it."""
from __future__ import annotations

import pytest

from display.led import LedDriver
from display.ledproto import HL1, Plain, decode_hl1, make_protocol, xor

from display_helpers import Pty, wait_for
from live import LiveServer

LED = "test-led-01"


class StripReader:
    """The strip's side of the line: collects HL1 frames."""

    def __init__(self, pty: Pty):
        self.pty, self.raw = pty, b""

    def frames(self) -> list[dict]:
        self.raw += self.pty.read(0.05)
        return decode_hl1(self.raw)

    def wait_text(self, text: str, after: int = 0, timeout: float = 5.0) -> dict:
        return wait_for(lambda: next((f for f in self.frames()[after:] if f["text"] == text), None),
                        timeout=timeout, what=f"frame {text!r}")


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


def test_hl1_frame_layout_byte_by_byte():
    frame = HL1(address=3).encode("请A012号", flash=3)
    assert frame.hex(" ") == "aa 55 03 10 34 00 08 c7 eb 41 30 31 32 ba c5 0e 0d"
    # SOF, address 3, SHOW, attr = centre(1<<2) | flash 3 (<<4), length 8, GB18030 text, XOR, EOF
    assert frame[-2] == xor(frame[2:-2])
    assert HL1(address=0xFF, colour="green", align="left").encode("暂停服务")[2:5] == b"\xff\x10\x01"
    assert HL1().encode("") == bytes.fromhex("aa 55 01 20 00 00 00 21 0d")          # CLEAR
    assert Plain().encode("暂停服务") == "暂停服务".encode("gb18030") + b"\r\n"
    assert make_protocol("hl1", address=7, encoding="gb2312").encode("请B001号")[2] == 7
    with pytest.raises(ValueError):
        make_protocol("nonsense")
    # a corrupted frame is not taken for a frame
    bad = bytearray(frame)
    bad[9] ^= 0x01
    assert decode_hl1(bytes(bad)) == [] and decode_hl1(frame)[0]["text"] == "请A012号"


def test_call_recall_accept_pause_and_idle_frames(app, live, hall, tmp_path):
    pty = Pty(tmp_path / "ttyLED")
    strip = StripReader(pty)
    driver = LedDriver(live.url, LED, str(pty.path), baudrate=9600, address=5, refresh=3600, heartbeat=0.3).start()
    try:
        first = strip.wait_text("欢迎光临")
        assert first["address"] == 5 and first["flash"] == 0
        hall.issue("XK00102001")   # a 即办件: served at the window until 办结
        hall.op(1, "call-next")
        n = len(strip.frames())
        call = strip.wait_text("请A001号", after=n - 1)
        assert call["flash"] == 3 and call["cmd"] == 0x10 and call["align"] == 1
        n = len(strip.frames())
        hall.op(1, "recall")
        recall = strip.wait_text("请A001号", after=n)            # the same text again: flashes again
        assert recall["flash"] == 3
        hall.op(1, "accept")
        strip.wait_text("A001号办理中")
        hall.op(1, "finish")
        n = len(strip.frames())
        strip.wait_text("欢迎光临", after=n - 1)
        hall.op(1, "pause")
        assert strip.wait_text("暂停服务")["flash"] == 0
        n = len(strip.frames())
        hall.op(1, "resume")
        strip.wait_text("欢迎光临", after=n)
        # other windows' calls never reach this strip
        hall.issue("QR00201001")
        hall.op(3, "call-next")
        import time
        time.sleep(0.3)
        assert all("B001" not in f["text"] for f in strip.frames())
        wait_for(lambda: driver.client.stats["beats"] >= 2, what="heartbeats")
        assert driver.client.key == "window_seq" and driver.client.stats["gaps"] == 0
    finally:
        driver.stop()
        pty.unplug()


def test_one_process_drives_several_windows_strips_on_one_bus(app, live, hall, tmp_path):
    """A strip's token hears only its own window, unless the driver has strips of other windows:
    then it asks for the whole hall."""
    pty = Pty(tmp_path / "ttyLED")
    strip = StripReader(pty)
    driver = LedDriver(live.url, LED, str(pty.path), refresh=3600, heartbeat=30, windows={1: 1, 3: 3}).start()
    try:
        wait_for(lambda: {f["address"] for f in strip.frames()} >= {1, 3}, what="both strips idle")
        hall.issue("XK00101001")
        hall.issue("QR00201001")
        hall.op(3, "call-next")
        assert strip.wait_text("请B001号")["address"] == 3
        hall.op(1, "call-next")
        assert strip.wait_text("请A001号")["address"] == 1
        assert driver.client.key == "seq"
    finally:
        driver.stop()
        pty.unplug()


def test_unplugged_strip_gets_the_current_text_when_plugged_back(app, live, hall, tmp_path):
    registry = app.extensions["hall_devices"]
    pty = Pty(tmp_path / "ttyLED")
    strip = StripReader(pty)
    driver = LedDriver(live.url, LED, str(pty.path), refresh=3600, heartbeat=0.2).start()
    try:
        strip.wait_text("欢迎光临")
        pty.unplug()                                             # the USB adapter is pulled
        wait_for(lambda: not driver.link.is_open, what="driver notices the unplug")
        hall.issue("XK00101001")
        hall.op(1, "call-next")                                  # happens while unplugged
        wait_for(lambda: any(a["code"] == "status:serial" for d in registry.listing(1) for a in d["alerts"]),
                 what="串口未连接 alert from the heartbeat")
        pty.plug()                                               # plugged back (same path)
        strip = StripReader(pty)
        got = strip.wait_text("请A001号", timeout=5)
        assert got["address"] == 1
        assert driver.link.opens == 2
        wait_for(lambda: not any(d["alerts"] for d in registry.listing(1) if d["kind"] == "led"),
                 what="alert cleared after re-plug")
    finally:
        driver.stop()
        pty.unplug()


def test_plain_protocol_and_idle_text_with_the_window_name(app, live, hall, tmp_path):
    pty = Pty(tmp_path / "ttyLED")
    driver = LedDriver(live.url, LED, str(pty.path), protocol="plain", idle_text="{number}号窗口 {name}",
                       refresh=3600, heartbeat=30).start()
    try:
        raw = b""

        def has(text):
            nonlocal raw
            raw += pty.read(0.05)
            return (text.encode("gb18030") + b"\r\n") in raw
        wait_for(lambda: has("1号窗口 商事登记窗口"), what="idle text with the window name")
        hall.issue("XK00102001")
        hall.op(1, "call-next")
        wait_for(lambda: has("请A001号"), what="call in text mode")
    finally:
        driver.stop()
        pty.unplug()
