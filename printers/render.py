"""Preview renderer: ESC/POS bytes back to a PNG of the paper.

It draws from :mod:`printers.decode`, so the kiosk screen, the tests and the printer all
read the same bytes: a slip that looks right here prints the same lines on paper. Font A
cells are 12x24 (ASCII) and 24x24 (Chinese) dots, as on the printers we target.
"""
from __future__ import annotations

import argparse
import functools
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from . import code128
from .decode import Barcode, Cut, Feed, Init, LineFeed, QRCode, Raster, Style, Text, decode
from .escpos import qr_matrix
from .wrap import char_width

CELL_H = 24          # font A: 12x24 half-width cell
LINE_SPACING = 30    # default line feed in dots (ESC 2)
WHITE, BLACK, GREY = 255, 0, 160

_FAMILIES = ("Noto Sans Mono CJK SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei Mono",
             "WenQuanYi Zen Hei Mono", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Source Han Sans SC", "Droid Sans Fallback")
_KNOWN_PATHS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
                "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")


class FontNotFound(RuntimeError):
    pass


def _fc_match(family: str) -> tuple[str, int] | None:
    """Ask fontconfig; accept only a real match (fc-match always returns *some* font)."""
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}\n%{index}\n%{family}", f"{family}:lang=zh-cn"],
                             capture_output=True, text=True, timeout=5).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) >= 3 and family.lower() in out[2].lower() and os.path.exists(out[0]):
        return out[0], int(out[1] or 0)
    return None


def _best_face(path: str) -> int:
    """In a font collection prefer the simplified-Chinese monospace face."""
    best, best_score = 0, -1
    for index in range(16):
        try:
            name = " ".join(ImageFont.truetype(path, 24, index=index).getname())
        except OSError:
            break
        score = ("SC" in name or "Micro Hei" in name or "Zen Hei" in name) * 2 + ("Mono" in name)
        if score > best_score:
            best, best_score = index, score
    return best


@functools.lru_cache(maxsize=1)
def find_cjk_font() -> tuple[str, int]:
    """(path, face index) of a font with Chinese glyphs; ``HALL_CJK_FONT`` overrides."""
    env = os.environ.get("HALL_CJK_FONT")
    if env:
        path, _, index = env.partition(":")
        if not os.path.exists(path):
            raise FontNotFound(f"HALL_CJK_FONT 指定的字体文件不存在：{path}")
        return path, int(index) if index else _best_face(path)
    for family in _FAMILIES:
        found = _fc_match(family)
        if found:
            return found
    for path in _KNOWN_PATHS:
        if os.path.exists(path):
            return path, _best_face(path)
    raise FontNotFound("未找到中文字体，无法预览告知单。请安装：apt-get install fonts-noto-cjk "
                       "（或 fonts-wqy-microhei），或设置环境变量 HALL_CJK_FONT=字体文件路径")


@functools.lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont:
    path, index = find_cjk_font()
    return ImageFont.truetype(path, 22, index=index)


@functools.lru_cache(maxsize=4096)
def _glyph(ch: str, bold: bool) -> Image.Image:
    """One character in its printer cell, thresholded to dots like a thermal head."""
    w = 12 * max(1, char_width(ch))
    cell = Image.new("L", (w, CELL_H), WHITE)
    draw = ImageDraw.Draw(cell)
    for dx in ((0, 1) if bold else (0,)):
        draw.text((w / 2 + dx, CELL_H / 2), ch, font=_font(), fill=BLACK, anchor="mm")
    return cell.point(lambda v: BLACK if v < 150 else WHITE)


class _Paper:
    """Accumulates printed bands top to bottom."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.bands: list[Image.Image] = []
        self.runs: list[Text] = []

    def skip(self, dots: int) -> None:
        if dots > 0:
            self.bands.append(Image.new("L", (self.width, dots), WHITE))

    def place(self, img: Image.Image, align: int) -> None:
        band = Image.new("L", (self.width, img.height), WHITE)
        x = {1: (self.width - img.width) // 2, 2: self.width - img.width}.get(align, 0)
        band.paste(img.convert("L"), (max(0, x), 0))
        self.bands.append(band)

    def flush(self, empty_feeds: bool) -> None:
        """Print the line buffer; an LF with nothing buffered still feeds one line."""
        if not self.runs:
            if empty_feeds:
                self.skip(LINE_SPACING)
            return
        cells: list[tuple[Image.Image, Style]] = []
        for run in self.runs:
            for ch in run.text:
                if char_width(ch) == 0:
                    continue
                g = _glyph(ch, run.style.bold)
                if (run.style.width, run.style.height) != (1, 1):
                    g = g.resize((g.width * run.style.width, g.height * run.style.height), Image.NEAREST)
                if run.style.underline:
                    g = g.copy()
                    ImageDraw.Draw(g).line([(0, g.height - 1), (g.width, g.height - 1)], fill=BLACK)
                cells.append((g, run.style))
        align = self.runs[0].style.align
        self.runs = []
        # The printer wraps a line wider than the paper at the character that overflows.
        line: list[Image.Image] = []
        used = 0
        for g, _style in cells:
            if line and used + g.width > self.width:
                self._print_line(line, align)
                line, used = [], 0
            line.append(g)
            used += g.width
        self._print_line(line, align)

    def _print_line(self, cells: list[Image.Image], align: int) -> None:
        height = max((g.height for g in cells), default=CELL_H)
        img = Image.new("L", (min(self.width, sum(g.width for g in cells)), height), WHITE)
        x = 0
        for g in cells:
            img.paste(g, (x, height - g.height))
            x += g.width
        self.place(img, align)
        self.skip(max(0, LINE_SPACING - height))

    def barcode(self, op: Barcode) -> None:
        if op.kind != "CODE128":
            self.runs = [Text(f"[{op.kind} {op.payload}]", Style(align=op.align))]
            self.flush(True)
            return
        module, height = max(1, op.module), max(1, op.height)
        runs = code128.modules(op.payload)
        width = sum(runs) * module
        if width > self.width:
            self.runs = [Text("[条码超出纸宽，打印机不会打印]", Style(align=op.align))]
            self.flush(True)
            return
        img = Image.new("L", (width, height), WHITE)
        draw = ImageDraw.Draw(img)
        x, bar = 0, True
        for r in runs:
            if bar:
                draw.rectangle([x, 0, x + r * module - 1, height - 1], fill=BLACK)
            x += r * module
            bar = not bar
        hri = [Text(op.payload, Style(align=op.align))]
        if op.hri in (1, 3):
            self.runs = list(hri)
            self.flush(False)
        self.place(img, op.align)
        if op.hri in (2, 3):
            self.runs = list(hri)
            self.flush(False)

    def qr(self, op: QRCode) -> None:
        matrix = qr_matrix(op.payload, op.ec)
        m = max(1, op.module)
        img = Image.new("L", (len(matrix) * m,) * 2, WHITE)
        draw = ImageDraw.Draw(img)
        for y, row in enumerate(matrix):
            for x, dark in enumerate(row):
                if dark:
                    draw.rectangle([x * m, y * m, x * m + m - 1, y * m + m - 1], fill=BLACK)
        self.place(img, op.align)

    def cut(self) -> None:
        band = Image.new("L", (self.width, 9), WHITE)
        draw = ImageDraw.Draw(band)
        for x in range(0, self.width, 12):
            draw.line([(x, 4), (x + 6, 4)], fill=GREY)
        self.bands.append(band)

    def image(self) -> Image.Image:
        height = sum(b.height for b in self.bands) or 1
        out = Image.new("L", (self.width, height), WHITE)
        y = 0
        for b in self.bands:
            out.paste(b, (0, y))
            y += b.height
        return out


def render_image(data: bytes, width_dots: int = 576) -> Image.Image:
    """The paper as a greyscale image, one pixel per printer dot."""
    paper = _Paper(width_dots)
    for op in decode(data):
        if isinstance(op, Text):
            paper.runs.append(op)
        elif isinstance(op, LineFeed):
            paper.flush(True)
        elif isinstance(op, Feed):
            paper.flush(False)
            paper.skip(op.lines * LINE_SPACING + op.dots)
        elif isinstance(op, (Barcode, QRCode, Raster, Cut, Init)):
            paper.flush(False)
            if isinstance(op, Barcode):
                paper.barcode(op)
            elif isinstance(op, QRCode):
                paper.qr(op)
            elif isinstance(op, Raster):
                paper.place(op.image.crop((0, 0, min(op.image.width, width_dots), op.image.height)), op.align)
            elif isinstance(op, Cut):
                paper.cut()
    paper.flush(False)
    return paper.image()


def render_png(data: bytes, width_dots: int = 576) -> bytes:
    """The paper as PNG bytes (for the kiosk screen and the preview printer)."""
    buf = io.BytesIO()
    render_image(data, width_dots).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def write_png(data: bytes, path: str | os.PathLike, width_dots: int = 576) -> Path:
    """Render to a file, creating its folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_png(data, width_dots))
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m printers slip.bin slip.png --profile P58``: preview a captured print job
    (e.g. one written by a ``file:`` printer)."""
    from .profile import profile_by_name

    ap = argparse.ArgumentParser(prog="python -m printers", description="把 ESC/POS 打印数据渲染为 PNG 预览")
    ap.add_argument("input", help="ESC/POS 字节文件（- 表示标准输入）")
    ap.add_argument("output", help="输出 PNG 路径")
    ap.add_argument("--profile", default="P80", help="打印机型号：P80 或 P58")
    args = ap.parse_args(argv)
    try:
        width = profile_by_name(args.profile).width_dots
        data = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
        write_png(data, args.output, width)
    except (OSError, ValueError, FontNotFound) as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    print(args.output)
    return 0
