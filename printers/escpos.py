"""ESC/POS byte helpers. Every byte the slip sends is made here, deterministically.

All text goes through :func:`text`, which encodes GB18030 after ``FS &`` has put the printer
in Chinese mode. python-escpos' "magic" encoder is not used: it switches code pages per
run and garbles punctuation-only runs such as ``（）：``.
"""
from __future__ import annotations

import logging
import unicodedata

import qrcode
from PIL import Image, ImageDraw

from . import code128
from .profile import PrinterProfile

ESC, GS, FS, LF = b"\x1b", b"\x1d", b"\x1c", b"\n"

LEFT, CENTER, RIGHT = 0, 1, 2

#: Raster barcode height and the default native bar height, in dots (10 mm at 203 dpi).
BARCODE_HEIGHT = 80
#: Preferred dots per CODE128 module; 1 is used only when 2 does not fit (and warned about).
BARCODE_MODULE_MAX = 3
QR_EC = {"L": 48, "M": 49, "Q": 50, "H": 51}

log = logging.getLogger(__name__)

#: Byte table flipping every bit: PIL packs white as 1, ESC/POS wants 1 = black dot.
INVERT = bytes(255 - i for i in range(256))


def init() -> bytes:
    """Reset the printer (ESC @) and enter Chinese mode (FS &) so GB18030 prints."""
    return ESC + b"@" + FS + b"&"


def clean(s: str) -> str:
    """Drop what must never reach the printer as text: control characters would be read as
    commands, and format characters (zero-width space, BOM, variation selectors) print as
    boxes."""
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat == "Cc" or cat == "Cf" or 0xFE00 <= ord(ch) <= 0xFE0F:
            if ch == "\t":
                out.append(" ")
            continue
        out.append(ch)
    return "".join(out)


def text(s: str) -> bytes:
    """THE text encoder: GB18030 for Chinese mode; unencodable code points (lone
    surrogates) become ``?`` rather than failing the slip."""
    return clean(s).encode("gb18030", errors="replace")


def line(s: str = "") -> bytes:
    """One printed line: text then LF."""
    return text(s) + LF


def align(how: int) -> bytes:
    """ESC a: 0 left, 1 centre, 2 right (takes effect at the start of a line)."""
    return ESC + b"a" + bytes([how])


def bold(on: bool) -> bytes:
    """ESC E: emphasised (double-strike) on or off."""
    return ESC + b"E" + bytes([1 if on else 0])


def size(width: int = 1, height: int = 1) -> bytes:
    """GS !: character magnification 1..8; applies to ASCII and Chinese alike."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError("字符放大倍数必须在 1 到 8 之间")
    return GS + b"!" + bytes([(width - 1) << 4 | (height - 1)])


def feed(lines: int) -> bytes:
    """ESC d: print the buffer and feed ``lines`` lines."""
    return ESC + b"d" + bytes([max(0, min(255, lines))])


def cut(partial: bool = True) -> bytes:
    """GS V: cut at the current position (partial leaves a hinge so the slip does not fall)."""
    return GS + b"V" + bytes([1 if partial else 0])


def barcode_module(payload: str, width_dots: int) -> int:
    """Whole dots per module so the symbol and both quiet zones fit the paper.

    Hand scanners need even bars: fractional module widths would vary bar by bar.
    """
    total = code128.total_modules(payload)
    mod = min(BARCODE_MODULE_MAX, width_dots // total)
    if mod < 1:
        raise ValueError(f"条码内容过长，{width_dots} 点宽的纸放不下：{payload!r}")
    if mod == 1:
        log.warning("条码 %r 只能用 1 点模块宽度打印，扫码枪可能读不出；请缩短办件编号", payload)
    return mod


def barcode_native(payload: str, module: int, height: int = BARCODE_HEIGHT) -> bytes:
    """GS k CODE128 (m=73) with HRI below, centred. The printer keeps its own quiet zone
    only if the line has room, which :func:`barcode_module` guarantees."""
    data = code128.native_data(payload)
    if len(data) > 255:
        raise ValueError(f"条码内容过长：{payload!r}")
    return (
        align(CENTER)
        + GS + b"H" + b"\x02"            # HRI below
        + GS + b"f" + b"\x00"            # HRI font A
        + GS + b"h" + bytes([height])
        + GS + b"w" + bytes([module])
        + GS + b"k" + bytes([73, len(data)]) + data
    )


def barcode_image(payload: str, module: int, height: int = BARCODE_HEIGHT) -> Image.Image:
    """CODE128 bars as a 1-bit image, ``module`` dots per module, quiet zones included."""
    runs = code128.modules(payload)
    quiet = code128.QUIET_MODULES * module
    img = Image.new("1", (sum(runs) * module + 2 * quiet, height), 1)
    draw = ImageDraw.Draw(img)
    x, bar = quiet, True
    for run in runs:
        w = run * module
        if bar:
            draw.rectangle([x, 0, x + w - 1, height - 1], fill=0)
        x += w
        bar = not bar
    return img


def barcode_raster(payload: str, module: int, width_dots: int, height: int = BARCODE_HEIGHT) -> bytes:
    """The barcode as a centred raster image followed by its HRI as a text line."""
    return raster(barcode_image(payload, module, height), width_dots) + align(CENTER) + line(payload)


def qr_module(matrix_size: int, width_dots: int) -> int:
    """Dots per QR module: the symbol with its quiet zone takes about half the paper
    width at 3..7 dots (0.4..0.9 mm) per module, which phones read comfortably."""
    return max(3, min(7, int(width_dots * 0.55) // (matrix_size + 8)))


def _qr(payload: str, ec: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=getattr(qrcode.constants, f"ERROR_CORRECT_{ec}"), border=0)
    qr.add_data(payload.encode("utf-8"))
    return qr


def qr_size(payload: str, ec: str = "M") -> int:
    """Modules per side, without building the symbol: the native printer builds it, and
    choosing the mask is most of the cost of building one."""
    return 17 + 4 * _qr(payload, ec).best_fit()


def qr_matrix(payload: str, ec: str = "M") -> list[list[bool]]:
    """QR model 2 modules (no quiet zone), the same symbol a native printer would make."""
    qr = _qr(payload, ec)
    qr.make(fit=True)
    return qr.get_matrix()


def qr_native(payload: str, module: int, ec: str = "M") -> bytes:
    """GS ( k QR model 2: select model, module size, error correction, store, print."""
    data = payload.encode("utf-8")
    if len(data) > 7000:
        raise ValueError("二维码内容过长")
    store_len = len(data) + 3

    def fn(body: bytes) -> bytes:
        return GS + b"(k" + bytes([len(body) & 0xFF, len(body) >> 8]) + body

    return (
        align(CENTER)
        + fn(b"1A2\x00")                           # cn=49 fn=65: model 2
        + fn(b"1C" + bytes([module]))              # fn=67: module size
        + fn(b"1E" + bytes([QR_EC[ec]]))           # fn=69: error correction
        + GS + b"(k" + bytes([store_len & 0xFF, store_len >> 8]) + b"1P0" + data
        + fn(b"1Q0")                               # fn=81: print
    )


def qr_image(matrix: list[list[bool]], module: int) -> Image.Image:
    """QR modules as a 1-bit image with a 4-module quiet zone."""
    n = len(matrix)
    border = 4
    img = Image.new("1", ((n + 2 * border) * module,) * 2, 1)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = (x + border) * module, (y + border) * module
                draw.rectangle([x0, y0, x0 + module - 1, y0 + module - 1], fill=0)
    return img


def raster(img: Image.Image, width_dots: int | None = None) -> bytes:
    """GS v 0 raster image. With ``width_dots`` the image is centred by left padding baked
    into the bitmap, because not every printer applies ESC a to raster images."""
    img = img.convert("1")
    pad = 0
    if width_dots is not None:
        if img.width > width_dots:
            raise ValueError(f"图像宽 {img.width} 点，超过纸宽 {width_dots} 点")
        pad = (width_dots - img.width) // 2
    width = pad + img.width
    row_bytes = (width + 7) // 8
    canvas = Image.new("1", (row_bytes * 8, img.height), 1)
    canvas.paste(img, (pad, 0))
    bits = canvas.tobytes().translate(INVERT)
    h = img.height
    return (
        align(LEFT)
        + GS + b"v0" + b"\x00"
        + bytes([row_bytes & 0xFF, row_bytes >> 8, h & 0xFF, h >> 8])
        + bits
    )


def barcode(payload: str, profile: PrinterProfile) -> bytes:
    """CODE128 in the form the profile's printer understands."""
    module = barcode_module(payload, profile.width_dots)
    if profile.native_barcode and module >= 2:  # GS w below 2 is ignored by many printers
        return barcode_native(payload, module) + LF
    return barcode_raster(payload, module, profile.width_dots)


def qr(payload: str, profile: PrinterProfile) -> bytes:
    """QR (model 2, EC M) in the form the profile's printer understands."""
    if profile.native_qr:
        return qr_native(payload, qr_module(qr_size(payload), profile.width_dots)) + LF
    matrix = qr_matrix(payload)
    return raster(qr_image(matrix, qr_module(len(matrix), profile.width_dots)), profile.width_dots)


def finish(profile: PrinterProfile) -> bytes:
    """Feed past the tear bar / cutter and cut if the printer has a cutter."""
    return feed(4) + (cut() if profile.cut else b"")
