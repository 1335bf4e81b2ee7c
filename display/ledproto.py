"""Frame formats for window LED strips (窗口屏). A protocol turns text into the bytes a strip's
controller understands: `encode(text, **opts) -> bytes`. Pick one per device (`--protocol`).

`hl1` — the framed binary format of the usual RS-485 strip controllers, documented byte by byte:

    offset  size  field     value
    0       1     SOF1      0xAA
    1       1     SOF2      0x55
    2       1     ADDR      strip address on the RS-485 bus, 0x01–0xFE; 0xFF = every strip
                            (broadcast, no reply); 0x00 = the only strip on an RS-232 line
    3       1     CMD       0x10 SHOW text · 0x20 CLEAR · 0x30 BRIGHTNESS · 0x00 PING
    4       1     ATTR      bits 0–1 colour (0 red, 1 green, 2 yellow)
                            bits 2–3 alignment (0 left, 1 centre, 2 right)
                            bits 4–7 flash count (0 = steady; n = flash n times, then steady)
    5       2     LEN       N, payload length in bytes, big-endian, 0–1024
    7       N     DATA      SHOW: the text in GB18030 (= GB2312 for the characters it has);
                            BRIGHTNESS: 1 byte 0–15; CLEAR, PING: empty
    7+N     1     XOR       XOR of bytes 2 … 6+N (ADDR through the last DATA byte)
    8+N     1     EOF       0x0D

  Example: address 3, SHOW 「请A012号」 centred, red, flash 3 times:
    AA 55 03 10 34 00 08 C7 EB 41 30 31 32 BA C5 0E 0D
  A controller may answer `AA 55 ADDR (0x80|CMD) STATUS 00 00 XOR 0D` (STATUS 0 = done); the
  driver reads and ignores such answers, since many strips never send one.

`plain` — strips in "text mode": the GB18030 text followed by CR LF, nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass, fields as dataclass_fields

SOF = b"\xaa\x55"
EOF = 0x0D
CMD_PING, CMD_SHOW, CMD_CLEAR, CMD_BRIGHTNESS = 0x00, 0x10, 0x20, 0x30
COLOURS = {"red": 0, "green": 1, "yellow": 2}
ALIGN = {"left": 0, "center": 1, "centre": 1, "right": 2}
MAX_DATA = 1024


def xor(data: bytes) -> int:
    out = 0
    for b in data:
        out ^= b
    return out


@dataclass
class HL1:
    """The framed RS-485 format above. `address`, `colour`, `align`, `encoding` are per device."""
    address: int = 0x01
    colour: str = "red"
    align: str = "center"
    encoding: str = "gb18030"
    name: str = "hl1"

    def frame(self, cmd: int, attr: int = 0, data: bytes = b"") -> bytes:
        if len(data) > MAX_DATA:
            raise ValueError(f"payload too long ({len(data)} > {MAX_DATA} bytes)")
        body = bytes([self.address & 0xFF, cmd, attr & 0xFF]) + len(data).to_bytes(2, "big") + data
        return SOF + body + bytes([xor(body), EOF])

    def encode(self, text: str, *, flash: int = 0, colour: str | None = None, align: str | None = None) -> bytes:
        if not text:
            return self.frame(CMD_CLEAR)
        attr = (COLOURS[colour or self.colour] | (ALIGN[align or self.align] << 2)
                | (max(0, min(15, flash)) << 4))
        return self.frame(CMD_SHOW, attr, text.encode(self.encoding, errors="replace"))

    def brightness(self, level: int) -> bytes:
        return self.frame(CMD_BRIGHTNESS, 0, bytes([max(0, min(15, level))]))


@dataclass
class Plain:
    """Text mode: GB18030 text + CR LF; flash and colour cannot be said."""
    encoding: str = "gb18030"
    name: str = "plain"

    def encode(self, text: str, **_opts) -> bytes:
        return text.encode(self.encoding, errors="replace") + b"\r\n"


def decode_hl1(stream: bytes) -> list[dict]:
    """Split a byte stream into HL1 frames (tests and diagnostics); checks XOR and EOF. A length
    the format does not allow, or one running past the end of the bytes, is noise: the search
    goes on from the next byte, so noise never hides the frames after it (an incomplete last
    frame is simply not returned yet)."""
    frames: list[dict] = []
    i = 0
    while True:
        i = stream.find(SOF, i)
        if i < 0 or len(stream) < i + 9:
            return frames
        n = int.from_bytes(stream[i + 5:i + 7], "big")
        end = i + 9 + n
        if n > MAX_DATA or len(stream) < end:
            i += 1
            continue
        body = stream[i + 2:i + 7 + n]
        if stream[i + 7 + n] != xor(body) or stream[end - 1] != EOF:
            i += 1
            continue
        attr = body[2]
        frames.append({"address": body[0], "cmd": body[1], "colour": attr & 3, "align": (attr >> 2) & 3,
                       "flash": attr >> 4, "data": body[5:], "text": body[5:].decode("gb18030", "replace")})
        i = end


PROTOCOLS = {"hl1": HL1, "plain": Plain}


def make_protocol(name: str, **opts):
    try:
        cls = PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown LED protocol {name!r}; choose from {', '.join(PROTOCOLS)}") from None
    fields = {f.name for f in dataclass_fields(cls)}
    return cls(**{k: v for k, v in opts.items() if k in fields and v is not None})
