"""Bad serial frames from the hall's devices: the rating keypad (display/keypad.py) and the window
LED strip (display/led.py, ledproto.py) fed random floods, truncated frames, bad checksums,
missing end bytes, keys that do not exist and frames claiming a huge length, over a pty as the
real serial line. The drivers keep running, a bad frame never becomes a rating, and the keypad
logs why it dropped what it dropped."""
from __future__ import annotations

import logging
import os
import random
import time
from collections import Counter

import pytest

from display.keypad import ACK, ETX, STX, KeypadDriver, key_frame, parse_keys
from display.led import LedDriver
from display.ledproto import EOF, HL1, SOF, decode_hl1, xor
from live import LiveServer, readable, wait_for

RATER, LED = "test-rater-01", "test-led-01"


class Line:
    """A serial line: the driver opens the pty's slave, the test is the device on the master."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view):]

    def read(self, seconds: float) -> bytes:
        out, end = b"", time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if not readable(self.master, left):
                break
            out += os.read(self.master, 4096)
        return out

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


def noise(rng: random.Random, n: int, *, without: bytes = b"") -> bytes:
    return bytes(b for b in rng.randbytes(n * 2) if b not in without)[:n]


def bad_key_frames(rng: random.Random) -> dict[str, bytes]:
    """Everything a keypad (or a loose wire) might send that is not a key frame for address 1."""
    def frame(addr: int, key: int, bcc: int | None = None, etx: int = ETX) -> bytes:
        return bytes([STX, addr, key, addr ^ key if bcc is None else bcc, etx])
    good = key_frame(1, 3)
    return {
        "random flood (no ETX byte)": noise(rng, 16_384, without=bytes([ETX])),
        "STX storm": bytes([STX]) * 2_000,
        "NUL and 0xFF": b"\x00\xff" * 1_000,
        "truncated frames": b"".join(good[:n] + b"\x00" * 5 for n in range(1, 5)),
        "bad checksum": frame(1, 0x32, bcc=0x00) + frame(1, 0x35, bcc=0xFF),
        "no ETX": frame(1, 0x31, etx=0x04) + frame(1, 0x34, etx=STX) + b"\x00" * 5,
        "keys that do not exist": b"".join(frame(1, k) for k in (0x30, 0x36, 0x39, 0x00, 0xFF, 0x02, 0x03)),
        "tail of noise": b"\x00" * 5,
    }


def test_parse_keys_finds_exactly_the_frames_among_any_noise():
    rng = random.Random(8)
    for _ in range(2_000):
        wanted, stream = [], b""
        for _ in range(rng.randrange(6)):
            stream += noise(rng, rng.randrange(12), without=bytes([STX]))
            if rng.random() < 0.6:
                addr, key = rng.randrange(256), rng.randrange(1, 6)
                wanted.append((addr, key))
                stream += key_frame(addr, key)
        cut = rng.randrange(len(stream) + 1)            # arriving in two reads, split anywhere
        buf, skipped = bytearray(stream[:cut]), Counter()
        got = parse_keys(buf, skipped)
        buf += stream[cut:]
        got += parse_keys(buf, skipped)
        assert got == wanted, (stream.hex(" "), got, wanted)
        assert not buf and skipped == Counter({"noise": len(stream) - 5 * len(wanted)}), (buf, skipped)
    for _ in range(2_000):                               # pure junk: whatever is found was really sent
        junk = rng.randbytes(rng.randrange(64))
        buf = bytearray(junk)
        for addr, key in parse_keys(buf):
            assert 1 <= key <= 5 and key_frame(addr, key) in junk
        assert len(buf) <= 4 and (not buf or buf[0] == STX)


def test_the_keypad_driver_survives_garbage_rates_nothing_and_says_why(app, hall, caplog):
    caplog.set_level(logging.WARNING, logger="hall.keypad")
    line = Line()
    with LiveServer(app) as live:
        driver = KeypadDriver(live.url, RATER, line.path, address=1, heartbeat=30).start()
        try:
            wait_for(lambda: driver.link.is_open and driver.client.stats["snapshots"])
            hall.issue("XK00102001")   # a 即办件, finished at the window
            for action in ("call-next", "accept", "finish"):
                answer = hall.op(1, action)
                assert answer.status_code == 200, answer.get_json()
            case = answer.get_json()["case"]
            wait_for(lambda: driver.pending)
            pending = driver.pending
            for garbage in bad_key_frames(random.Random(3)).values():
                line.write(garbage)
            wait_for(lambda: {"noise", "no ETX", "bad BCC", "key not 1-5"} <= set(+driver.ignored), timeout=10)
            assert line.read(0.5) == b"", "the driver answered a frame that is no key"
            assert driver.pending == pending and driver.results == [], driver.results
            ratings = hall.c.get(f"/api/v1/ratings?case_id={case['id']}", headers=hall.headers("supervisor"))
            assert ratings.get_json()["ratings"] == []
            said = [r.getMessage() for r in caplog.records if r.name == "hall.keypad"]
            assert said and "no valid key frame" in said[0], said
            assert any(why in said[0] for why in ("no ETX", "bad BCC", "noise")), said

            line.write(key_frame(1, 2))                  # after all that, a real key still rates
            wait_for(lambda: driver.results, timeout=5)
            assert [r["outcome"] for r in driver.results] == ["rated"], driver.results
            assert line.read(0.5)[:3] == bytes([STX, 1, ACK])
            rated = hall.c.get(f"/api/v1/ratings?case_id={case['id']}", headers=hall.headers("supervisor"))
            assert [(r["level"], r["channel"]) for r in rated.get_json()["ratings"]] == [(4, "device")]
        finally:
            driver.stop()
            line.close()


def hl1_garbage(rng: random.Random) -> dict[str, bytes]:
    """What a strip (or a loose wire) might send back to the LED driver."""
    proto = HL1(address=1)
    good = proto.encode("请A001号", flash=3)
    huge = SOF + bytes([1, 0x10, 0]) + (0xFFFF).to_bytes(2, "big") + b"\x00" * 20
    return {
        "random flood": rng.randbytes(16_384),
        "a frame claiming 65535 bytes": huge,
        "frames claiming a huge length, again and again": huge * 50,
        "truncated frames": b"".join(good[:n] for n in range(1, len(good))),
        "bad XOR": good[:-2] + bytes([good[-2] ^ 0x5A]) + good[-1:],
        "bad EOF": good[:-1] + b"\x0a",
        "SOF storm": SOF * 4_000,
        "controller answers": SOF + bytes([1, 0x90, 0, 0, 0]) + bytes([xor(bytes([1, 0x90, 0, 0, 0])), EOF]),
    }


def test_hl1_decoder_takes_only_whole_checked_frames():
    rng = random.Random(5)
    good = HL1(address=2).encode("A012号办理中")
    for name, garbage in hl1_garbage(rng).items():
        frames = decode_hl1(garbage)
        for f in frames:
            body = bytes([f["address"], f["cmd"], f["colour"] | f["align"] << 2 | f["flash"] << 4]) + \
                len(f["data"]).to_bytes(2, "big") + f["data"]
            assert SOF + body + bytes([xor(body), EOF]) in garbage, name
        assert [f["text"] for f in decode_hl1(garbage + good) if f["address"] == 2][-1:] == ["A012号办理中"], name
    with pytest.raises(ValueError):
        HL1().frame(0x10, 0, b"x" * 1025)               # never sends a frame longer than the format allows


def test_the_led_driver_keeps_showing_calls_under_a_flood_from_the_strip(app, hall):
    line = Line()
    with LiveServer(app) as live:
        driver = LedDriver(live.url, LED, line.path, address=5, refresh=3600, heartbeat=30).start()
        try:
            got = bytearray()
            wait_for(lambda: got.extend(line.read(0.05)) or any(f["text"] == "欢迎光临" for f in decode_hl1(bytes(got))))
            for garbage in hl1_garbage(random.Random(9)).values():
                line.write(garbage)
            hall.issue("XK00101001")
            assert hall.op(1, "call-next").status_code == 200
            got.clear()
            wait_for(lambda: got.extend(line.read(0.05)) or any(f["text"] == "请A001号" for f in decode_hl1(bytes(got))),
                     timeout=10)
            assert driver.link.is_open and driver.link.opens == 1
        finally:
            driver.stop()
            line.close()
