"""Serial rating keypad driver (评价器, five keys): a key press becomes the window's rating.

    python -m display.keypad --server http://127.0.0.1:8000 --token demo-rater-01 --port /dev/ttyUSB1

Key frame, keypad → driver (5 bytes):

    offset  field  value
    0       STX    0x02
    1       ADDR   keypad address 0x01–0xFE (checked against --address unless --any-address)
    2       KEY    ASCII '1'–'5' (0x31–0x35): the key's position, left to right, printed
                   非常满意 · 满意 · 基本满意 · 不满意 · 非常不满意  → level 5, 4, 3, 2, 1
    3       BCC    ADDR XOR KEY
    4       ETX    0x03

Reply, driver → keypad: STX ADDR RESULT BCC ETX, RESULT 0x06 (ACK: rating taken, the keypad
lights 「谢谢」) or 0x15 (NAK: nothing to rate, already rated, or the server refused), BCC = ADDR
XOR RESULT. Keys are ASCII digits so a key byte can never be mistaken for STX or ETX.

Only the window's just-finished case can be rated (the `case.finished` event of the token's
window, for `--rate-within` seconds), and only once: the first valid key takes it, every later
key gets a NAK until the next case is finished. The server checks the same again. Bytes that are
no key frame (noise, a wrong baud rate, a failing keypad) are dropped, and why is logged.
"""
from __future__ import annotations

import argparse
import logging
import threading
import time
from collections import Counter

from .hallclient import ApiError, HallClient
from .seriallink import SerialLink, run_until_signalled

log = logging.getLogger("hall.keypad")

STX, ETX, ACK, NAK = 0x02, 0x03, 0x06, 0x15
LEVEL_WORDS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
IGNORED_LOG_EVERY = 10.0


def key_frame(address: int, key: int) -> bytes:
    """What the keypad sends for key 1–5 (tests, and a bench keypad simulator)."""
    k = 0x30 + key
    return bytes([STX, address, k, address ^ k, ETX])


def reply_frame(address: int, result: int) -> bytes:
    return bytes([STX, address, result, address ^ result, ETX])


def parse_keys(buffer: bytearray, skipped: Counter | None = None) -> list[tuple[int, int]]:
    """Take every complete, valid key frame out of `buffer` (in place): [(address, key 1–5)].
    Noise and broken frames are skipped byte by byte; a partial frame stays for the next read.
    `skipped`, when given, counts why: noise bytes, and frames with no ETX, a bad BCC or a bad key."""
    keys: list[tuple[int, int]] = []
    skipped = Counter() if skipped is None else skipped
    while True:
        start = buffer.find(bytes([STX]))
        if start < 0:
            skipped["noise"] += len(buffer)
            buffer.clear()
            return keys
        skipped["noise"] += start
        del buffer[:start]
        if len(buffer) < 5:
            return keys
        addr, key, bcc, etx = buffer[1], buffer[2], buffer[3], buffer[4]
        if etx == ETX and bcc == addr ^ key and 0x31 <= key <= 0x35:
            keys.append((addr, key - 0x30))
            del buffer[:5]
        else:
            skipped["no ETX" if etx != ETX else "bad BCC" if bcc != addr ^ key else "key not 1-5"] += 1
            del buffer[:1]


class KeypadDriver:
    def __init__(self, server: str, token: str, port: str, *, baudrate: int = 9600, address: int | None = 1,
                 rate_within: float = 300.0, heartbeat: float = 30.0):
        self.address = address
        self.rate_within = rate_within
        self.window_id: int | None = None
        self.pending: tuple[int, float] | None = None    # (case id, when finished, monotonic)
        self.results: list[dict] = []                     # what each key led to (diagnostics, tests)
        self.ignored: Counter = Counter()                 # bytes and frames dropped, by reason (diagnostics, tests)
        self._unlogged: Counter = Counter()
        self._ignored_logged = float("-inf")
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self.link = SerialLink(port, baudrate, on_data=self._data)
        self.client = HallClient(server, token, on_snapshot=lambda snap: None, on_event=self._event,
                                 status=self._status, heartbeat=heartbeat)

    def start(self) -> "KeypadDriver":
        me = self.client.api("GET", "/me")
        if not me.get("window_ids"):
            raise SystemExit("this token has no window: the keypad needs a `rater` device token with `window`")
        self.window_id = me["window_ids"][0]
        self.link.start()
        self.client.start()
        return self

    def stop(self) -> None:
        self.client.stop()
        self.link.stop()

    def _status(self) -> dict:
        return {"serial": "ok" if self.link.is_open else "disconnected", "keypad": "ok"}

    def _event(self, e: dict) -> None:
        if e.get("type") == "case.finished" and (e.get("window") or {}).get("id") == self.window_id:
            with self._lock:
                self.pending = (e["case"]["id"], time.monotonic())
            log.info("case %s finished: waiting for a key", e["case"].get("number"))

    def _data(self, chunk: bytes) -> None:
        self._buffer += chunk
        skipped: Counter = Counter()
        for address, key in parse_keys(self._buffer, skipped):
            if self.address is not None and address != self.address:
                continue
            threading.Thread(target=self._key, args=(address, key), daemon=True).start()
        if any(skipped.values()):
            self._ignored(skipped)

    def _ignored(self, skipped: Counter) -> None:
        """Say why bytes were dropped (a loose wire, a wrong baud rate, a failing keypad): at once
        the first time, then at most every IGNORED_LOG_EVERY s, so a flood cannot flood the log."""
        self.ignored.update(skipped)
        self._unlogged.update(skipped)
        now = time.monotonic()
        if now - self._ignored_logged >= IGNORED_LOG_EVERY:
            log.warning("ignored serial bytes that are no valid key frame: %s",
                        ", ".join(f"{why} {n}" for why, n in sorted(self._unlogged.items()) if n))
            self._unlogged.clear()
            self._ignored_logged = now

    def _key(self, address: int, key: int) -> None:
        level = 6 - key
        with self._lock:
            pending, self.pending = self.pending, None          # the first key takes the case
        if pending is None or time.monotonic() - pending[1] > self.rate_within:
            self._answer(address, NAK, level, None, "no_case")
            return
        case_id = pending[0]
        try:
            self.client.api("POST", "/ratings", {"case_id": case_id, "level": level, "channel": "device", "tags": []})
        except ApiError as exc:
            self._answer(address, NAK, level, case_id, exc.code)
            return
        except Exception as exc:  # noqa: BLE001 - the server is away: the citizen may press again
            with self._lock:
                if self.pending is None:
                    self.pending = pending
            self._answer(address, NAK, level, case_id, f"unreachable: {exc}")
            return
        self._answer(address, ACK, level, case_id, "rated")

    def _answer(self, address: int, result: int, level: int, case_id: int | None, outcome: str) -> None:
        log.info("key %s (%s) for case %s: %s", 6 - level, LEVEL_WORDS[level], case_id, outcome)
        self.results.append({"level": level, "case_id": case_id, "outcome": outcome})
        self.link.send(reply_frame(address, result))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m display.keypad", description="评价键盘 rating keypad driver")
    ap.add_argument("--server", required=True)
    ap.add_argument("--token", required=True, help="the window's rating device token (kind = \"rater\")")
    ap.add_argument("--port", required=True, help="serial device or pyserial URL")
    ap.add_argument("--baudrate", type=int, default=9600)
    ap.add_argument("--address", type=lambda v: int(v, 0), default=1)
    ap.add_argument("--any-address", action="store_true", help="accept key frames from any address")
    ap.add_argument("--rate-within", type=float, default=300.0, help="seconds after 办结 a key still rates")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    driver = KeypadDriver(args.server, args.token, args.port, baudrate=args.baudrate,
                          address=None if args.any_address else args.address, rate_within=args.rate_within)
    return run_until_signalled(driver)


if __name__ == "__main__":
    raise SystemExit(main())
