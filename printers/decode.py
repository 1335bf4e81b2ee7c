"""A small ESC/POS decoder: bytes back to a list of operations.

The tests read slips through it (text as printed, barcode and QR payloads, raster images)
and the preview renderer draws from it, so what is checked and what is shown are the same
reading of the bytes. It covers what the slip emits plus the commands common on receipt
printers; anything else becomes :class:`Unknown` rather than being silently mis-parsed.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from PIL import Image

from . import code128
from .escpos import INVERT


@dataclass(frozen=True)
class Style:
    """Print mode in force for a text run."""

    bold: bool = False
    width: int = 1          # magnification 1..8
    height: int = 1
    align: int = 0          # 0 left, 1 centre, 2 right
    underline: bool = False
    font_b: bool = False
    reverse: bool = False


@dataclass(frozen=True)
class Text:
    text: str
    style: Style


@dataclass(frozen=True)
class LineFeed:
    """LF: print the line buffer and advance one line."""


@dataclass(frozen=True)
class Feed:
    lines: int = 0
    dots: int = 0


@dataclass(frozen=True)
class Barcode:
    kind: str               # "CODE128", "CODE39", "EAN13" …
    payload: str
    module: int
    height: int
    hri: int                # 0 none, 1 above, 2 below, 3 both
    align: int


@dataclass(frozen=True)
class QRCode:
    payload: str
    module: int
    ec: str
    align: int


@dataclass(frozen=True)
class Raster:
    image: Image.Image = field(compare=False)
    align: int = 0


@dataclass(frozen=True)
class Cut:
    partial: bool


@dataclass(frozen=True)
class Init:
    """ESC @."""


@dataclass(frozen=True)
class ChineseMode:
    on: bool


@dataclass(frozen=True)
class Command:
    """A recognised command with no visible effect here (status, drawer, spacing …)."""

    name: str
    raw: bytes


@dataclass(frozen=True)
class Unknown:
    raw: bytes


Op = Text | LineFeed | Feed | Barcode | QRCode | Raster | Cut | Init | ChineseMode | Command | Unknown

_BARCODE_A = {0: "UPCA", 1: "UPCE", 2: "EAN13", 3: "EAN8", 4: "CODE39", 5: "ITF", 6: "CODABAR"}
_BARCODE_B = {65: "UPCA", 66: "UPCE", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF",
              71: "CODABAR", 72: "CODE93", 73: "CODE128"}
_QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}
# Commands with a fixed number of parameter bytes and nothing to show: name, length.
_ESC_FIXED = {b"2": ("line spacing default", 0), b"3": ("line spacing", 1), b"J": ("feed dots", 1),
              b"t": ("code page", 1), b"R": ("intl charset", 1), b"G": ("double strike", 1),
              b"{": ("upside down", 1), b"p": ("drawer pulse", 3), b"=": ("peripheral", 1),
              b"c": ("panel", 2), b"$": ("abs position", 2), b"\\": ("rel position", 2),
              b" ": ("char spacing", 1), b"V": ("rotate", 1), b"S": ("standard mode", 0),
              b"L": ("page mode", 0), b"U": ("unidirectional", 1)}
_GS_FIXED = {b"L": ("left margin", 2), b"W": ("print width", 2), b"a": ("auto status", 1),
             b"r": ("transmit status", 1), b"I": ("printer id", 1), b"P": ("motion units", 2),
             b"b": ("smoothing", 1), b"\\": ("rel vertical", 2), b"$": ("abs vertical", 2),
             b"T": ("line start", 1), b"^": ("macro run", 3), b":": ("macro define", 0),
             b"*": ("define image", -2), b"/": ("print defined image", 1)}
_FS_FIXED = {b"-": ("kanji underline", 1), b"S": ("kanji spacing", 2), b"W": ("kanji quad", 1),
             b"C": ("kanji code system", 1), b"p": ("nv image", 2)}


def _digit(n: int) -> int:
    """Many ESC/POS parameters accept both 0/1/2 and ASCII "0"/"1"/"2"."""
    return n - 48 if 48 <= n <= 57 else n


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.i = 0
        self.ops: list[Op] = []
        self.reset()

    def reset(self) -> None:
        self.style = Style()
        self.chinese = False
        self.bc_height, self.bc_module, self.bc_hri = 162, 3, 0
        self.qr_data, self.qr_module, self.qr_ec = b"", 3, "L"

    def take(self, n: int) -> bytes:
        chunk = self.data[self.i:self.i + n]
        if len(chunk) < n:
            raise ValueError(f"ESC/POS 数据在第 {self.i} 字节处被截断")
        self.i += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def set_style(self, **kw) -> None:
        self.style = replace(self.style, **kw)

    def run(self) -> list[Op]:
        while self.i < len(self.data):
            b = self.data[self.i]
            if b >= 0x20 and b != 0x7F:
                self.text_run()
                continue
            self.i += 1
            if b == 0x0A:
                self.ops.append(LineFeed())
            elif b == 0x09:
                self.ops.append(Text(" ", self.style))
            elif b == 0x1B:
                self.esc()
            elif b == 0x1D:
                self.gs()
            elif b == 0x1C:
                self.fs()
            elif b == 0x10:
                self.dle()
            elif b in (0x0D, 0x00, 0x7F):
                continue
            else:
                self.ops.append(Unknown(bytes([b])))
        return self.ops

    def text_run(self) -> None:
        """Printable bytes up to the next control byte: in GB18030 no byte of a multi-byte
        character is below 0x40 except the 0x30..0x39 of four-byte forms, so control bytes
        always end a run cleanly."""
        start = self.i
        while self.i < len(self.data) and self.data[self.i] >= 0x20 and self.data[self.i] != 0x7F:
            self.i += 1
        raw = self.data[start:self.i]
        encoding = "gb18030" if self.chinese else "cp437"
        self.ops.append(Text(raw.decode(encoding, errors="replace"), self.style))

    def esc(self) -> None:
        c = self.take(1)
        if c == b"@":
            self.reset()
            self.ops.append(Init())
        elif c == b"a":
            self.set_style(align=_digit(self.byte()))
        elif c == b"E":
            self.set_style(bold=bool(self.byte() & 1))
        elif c == b"-":
            self.set_style(underline=bool(_digit(self.byte())))
        elif c == b"M":
            self.set_style(font_b=bool(_digit(self.byte())))
        elif c == b"!":
            n = self.byte()
            self.set_style(font_b=bool(n & 1), bold=bool(n & 8), height=2 if n & 16 else 1,
                           width=2 if n & 32 else 1, underline=bool(n & 128))
        elif c == b"d":
            self.ops.append(Feed(lines=self.byte()))
        elif c == b"J":
            self.ops.append(Feed(dots=self.byte()))
        elif c == b"*":
            m, nl, nh = self.take(3)
            self.ops.append(Command("bit image", self.take((nl + nh * 256) * (3 if m >= 32 else 1))))
        elif c == b"D":
            start = self.i
            while self.byte() != 0:
                pass
            self.ops.append(Command("tabs", self.data[start:self.i]))
        elif c in _ESC_FIXED:
            name, n = _ESC_FIXED[c]
            self.ops.append(Command(name, self.take(n)))
        else:
            self.ops.append(Unknown(b"\x1b" + c))

    def gs(self) -> None:
        c = self.take(1)
        if c == b"!":
            n = self.byte()
            self.set_style(width=(n >> 4 & 7) + 1, height=(n & 7) + 1)
        elif c == b"B":
            self.set_style(reverse=bool(self.byte() & 1))
        elif c == b"V":
            m = self.byte()
            if m in (65, 66, 97, 98, 103, 104):
                n = self.byte()
                self.ops.append(Feed(dots=n))
            self.ops.append(Cut(partial=m in (1, 49, 66, 98, 104)))
        elif c == b"h":
            self.bc_height = self.byte()
        elif c == b"w":
            self.bc_module = self.byte()
        elif c == b"H":
            self.bc_hri = _digit(self.byte())
        elif c == b"f":
            self.byte()
        elif c == b"k":
            self.barcode()
        elif c == b"v":
            self.raster()
        elif c == b"(":
            self.gs_paren()
        elif c == b"8":
            fn = self.take(1)
            p = self.take(4)
            body = self.take(int.from_bytes(p, "little"))
            self.ops.append(Command("graphics " + fn.decode("latin-1"), body))
        elif c in _GS_FIXED:
            name, n = _GS_FIXED[c]
            if n == -2:  # GS * x y d1..d(x*y*8)
                x, y = self.take(2)
                n = x * y * 8
            self.ops.append(Command(name, self.take(n)))
        else:
            self.ops.append(Unknown(b"\x1d" + c))

    def barcode(self) -> None:
        m = self.byte()
        if m <= 6:
            start = self.i
            while self.byte() != 0:
                pass
            raw = self.data[start:self.i - 1]
            kind = _BARCODE_A[m]
        else:
            raw = self.take(self.byte())
            kind = _BARCODE_B.get(m, f"BARCODE{m}")
        payload = code128.parse_native_data(raw) if kind == "CODE128" else raw.decode("latin-1")
        self.ops.append(Barcode(kind, payload, self.bc_module, self.bc_height, self.bc_hri,
                                self.style.align))

    def raster(self) -> None:
        if self.take(1) != b"0":
            self.ops.append(Unknown(b"\x1dv"))
            return
        m, xl, xh, yl, yh = self.take(5)
        row_bytes, h = xl + xh * 256, yl + yh * 256
        bits = self.take(row_bytes * h)
        img = Image.frombytes("1", (row_bytes * 8, h), bits.translate(INVERT))
        sx, sy = (2 if m % 48 in (1, 3) else 1), (2 if m % 48 in (2, 3) else 1)
        if (sx, sy) != (1, 1):
            img = img.resize((img.width * sx, img.height * sy), Image.Resampling.NEAREST)
        self.ops.append(Raster(img, self.style.align))

    def gs_paren(self) -> None:
        fn = self.take(1)
        pl, ph = self.take(2)
        body = self.take(pl + ph * 256)
        if fn != b"k" or len(body) < 2 or body[0] != 49:   # only QR (cn=49) is interpreted
            self.ops.append(Command("GS ( " + fn.decode("latin-1"), body))
            return
        f = body[1]
        if f == 67:
            self.qr_module = body[2]
        elif f == 69:
            self.qr_ec = _QR_EC.get(body[2], "L")
        elif f == 80:
            self.qr_data = body[3:]
        elif f == 81:
            self.ops.append(QRCode(self.qr_data.decode("utf-8", errors="replace"), self.qr_module,
                                   self.qr_ec, self.style.align))
        else:
            self.ops.append(Command("QR", body))

    def fs(self) -> None:
        c = self.take(1)
        if c == b"&":
            self.chinese = True
            self.ops.append(ChineseMode(True))
        elif c == b".":
            self.chinese = False
            self.ops.append(ChineseMode(False))
        elif c == b"!":
            n = self.byte()
            self.set_style(width=2 if n & 4 else 1, height=2 if n & 8 else 1)
        elif c in _FS_FIXED:
            name, n = _FS_FIXED[c]
            self.ops.append(Command(name, self.take(n)))
        else:
            self.ops.append(Unknown(b"\x1c" + c))

    def dle(self) -> None:
        c = self.take(1)
        if c in (b"\x04", b"\x05"):
            self.ops.append(Command("realtime status" if c == b"\x04" else "realtime request",
                                    self.take(1)))
        elif c == b"\x14":
            self.ops.append(Command("realtime pulse", self.take(3)))
        else:
            self.ops.append(Unknown(b"\x10" + c))


def decode(data: bytes) -> list[Op]:
    """Decode ESC/POS bytes into operations, in order."""
    return _Decoder(data).run()


@dataclass(frozen=True)
class Line:
    """One printed text line: its runs joined, and the runs for style checks."""

    text: str
    runs: tuple[Text, ...]

    @property
    def columns(self) -> int:
        """Half-width columns the line occupies, magnification included."""
        from .wrap import char_width
        return sum(char_width(ch) * r.style.width for r in self.runs for ch in r.text)


def text_lines(ops: list[Op]) -> list[Line]:
    """Group text runs into printed lines (ended by LF, a feed or a graphic)."""
    lines: list[Line] = []
    runs: list[Text] = []
    for op in ops:
        if isinstance(op, Text):
            runs.append(op)
        elif isinstance(op, (LineFeed, Feed, Barcode, QRCode, Raster, Cut)):
            if runs or isinstance(op, LineFeed):
                lines.append(Line("".join(r.text for r in runs), tuple(runs)))
                runs = []
    if runs:
        lines.append(Line("".join(r.text for r in runs), tuple(runs)))
    return lines
