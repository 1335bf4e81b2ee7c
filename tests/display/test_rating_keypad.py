"""The serial rating keypad over a pty pair against the real server: a key frame becomes one
`channel: device` rating of the window's just-finished case; nothing else is rated."""
from __future__ import annotations

import time

import pytest

from display.keypad import ACK, NAK, KeypadDriver, key_frame, parse_keys, reply_frame

from display_helpers import Pty, wait_for
from live import LiveServer

RATER = "test-rater-01"


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


def ratings_of(hall, case_id):
    r = hall.c.get(f"/api/v1/ratings?case_id={case_id}", headers=hall.headers("supervisor"))
    assert r.status_code == 200, r.get_json()
    return [x for x in r.get_json()["ratings"] if x["case_id"] == case_id]


def finish_a_case(hall, code="XK00102001") -> dict:   # a 即办件, finished at the window
    hall.issue(code)
    hall.op(1, "call-next")
    hall.op(1, "accept")
    return hall.op(1, "finish").get_json()["case"]


def replies(pty: Pty, n: int, timeout: float = 5.0) -> list[int]:
    got = bytearray()
    wait_for(lambda: got.extend(pty.read(0.05)) or len(got) >= 5 * n, timeout=timeout, what=f"{n} replies")
    return [got[i + 2] for i in range(0, len(got), 5)]


def test_key_frames_are_parsed_strictly():
    buf = bytearray(b"\x00\xff" + key_frame(1, 2) + b"\x02\x01\x39\x38\x03" + key_frame(3, 5)[:3])
    assert parse_keys(buf) == [(1, 2)]                      # noise and a bad key skipped, partial kept
    assert bytes(buf) == key_frame(3, 5)[:3]
    buf += key_frame(3, 5)[3:]
    assert parse_keys(buf) == [(3, 5)] and buf == bytearray()
    broken = bytearray(key_frame(1, 1))
    broken[3] ^= 0xFF                                       # wrong BCC
    assert parse_keys(broken) == []
    assert key_frame(1, 1) == bytes([0x02, 0x01, 0x31, 0x30, 0x03])
    assert reply_frame(1, ACK) == bytes([0x02, 0x01, 0x06, 0x07, 0x03])


def test_a_key_rates_the_just_finished_case_once(app, live, hall, tmp_path):
    pty = Pty(tmp_path / "ttyKEY")
    driver = KeypadDriver(live.url, RATER, str(pty.path), address=1, heartbeat=30).start()
    try:
        wait_for(lambda: driver.link.is_open and driver.client.stats["snapshots"], what="keypad ready")
        pty.write(key_frame(1, 1))                           # nothing finished yet
        assert replies(pty, 1) == [NAK]
        case = finish_a_case(hall)
        wait_for(lambda: driver.pending, what="case.finished seen")
        pty.write(key_frame(1, 2))                           # 2nd key from the left: 满意 = level 4
        assert replies(pty, 1) == [ACK]
        pty.write(key_frame(1, 1) + key_frame(1, 5))         # more taps: refused
        assert replies(pty, 2) == [NAK, NAK]
        pty.write(key_frame(9, 1))                           # another keypad's address: ignored
        time.sleep(0.2)
        assert pty.read(0.1) == b""
        rated = ratings_of(hall, case["id"])
        assert [(r["level"], r["channel"]) for r in rated] == [(4, "device")]
        assert [r["outcome"] for r in driver.results] == ["no_case", "rated", "no_case", "no_case"]
    finally:
        driver.stop()
        pty.unplug()


def test_unplugging_the_keypad_and_plugging_it_back(app, live, hall, tmp_path):
    pty = Pty(tmp_path / "ttyKEY")
    driver = KeypadDriver(live.url, RATER, str(pty.path), heartbeat=30).start()
    try:
        wait_for(lambda: driver.link.is_open, what="port open")
        pty.unplug()
        wait_for(lambda: not driver.link.is_open, what="unplug noticed")
        case = finish_a_case(hall)
        wait_for(lambda: driver.pending, what="case.finished seen while unplugged")
        pty.plug()
        wait_for(lambda: driver.link.is_open and driver.link.opens == 2, what="re-opened")
        pty.write(key_frame(1, 5))                           # 非常不满意 = level 1
        assert replies(pty, 1) == [ACK]
        assert [(r["level"], r["channel"]) for r in ratings_of(hall, case["id"])] == [(1, "device")]
    finally:
        driver.stop()
        pty.unplug()
