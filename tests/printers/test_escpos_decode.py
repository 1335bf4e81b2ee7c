"""The decoder reads the common ESC/POS commands, not just the ones the slip emits, so the
preview of bytes from elsewhere (a test page, another tool) is still right."""
from __future__ import annotations

import pytest
from PIL import Image

from printers import escpos as ep
from printers.decode import (Barcode, ChineseMode, Command, Cut, Feed, Init, LineFeed, QRCode,
                             Raster, Text, Unknown, decode, text_lines)


def test_text_needs_chinese_mode():
    data = "中文".encode("gb18030")
    with_mode = [o for o in decode(b"\x1b@\x1c&" + data + b"\n") if isinstance(o, Text)]
    without = [o for o in decode(b"\x1b@" + data + b"\n") if isinstance(o, Text)]
    assert with_mode[0].text == "中文"
    assert without[0].text != "中文"       # printed as code page 437 garbage, as a printer would


def test_styles():
    data = (ep.init() + ep.align(ep.CENTER) + ep.bold(True) + ep.size(2, 3) + ep.text("A")
            + ep.size(1, 1) + ep.bold(False) + b"\x1b!\x30" + ep.text("B") + b"\x1b-\x01" + ep.line("C"))
    a, b, c = [o for o in decode(data) if isinstance(o, Text)]
    assert (a.style.bold, a.style.width, a.style.height, a.style.align) == (True, 2, 3, 1)
    assert (b.style.width, b.style.height, b.style.bold) == (2, 2, False)
    assert c.style.underline
    (line,) = text_lines(decode(data))
    assert line.text == "ABC" and line.columns == 2 + 2 + 2


def test_ascii_digit_parameters():
    (t,) = [o for o in decode(b"\x1ba1" + b"x") if isinstance(o, Text)]
    assert t.style.align == 1


def test_feeds_cuts_and_misc_commands():
    data = (b"\x1b@\x1b2\x1b3\x20\x1bd\x03\x1bJ\x10\x1bp\x00\x19\xfa\x1dL\x00\x00\x1dW\x40\x02"
            b"\x1dV\x00\x1dVB\x05\x10\x04\x01\x1d\x42\x01\x1ct\x07")
    ops = decode(data)
    assert Feed(lines=3) in ops and Feed(dots=16) in ops
    assert [o for o in ops if isinstance(o, Cut)] == [Cut(False), Cut(True)]
    assert Command("drawer pulse", b"\x00\x19\xfa") in ops
    assert any(isinstance(o, Command) and o.name == "realtime status" for o in ops)
    assert isinstance(ops[-1], Unknown)    # FS t is not something we know


def test_native_barcode_function_a_and_b():
    ops = decode(b"\x1dh\x50\x1dw\x02\x1dH\x02\x1dk\x04CODE39\x00" + b"\x1dkI\x06{BA012")
    bcs = [o for o in ops if isinstance(o, Barcode)]
    assert [(b.kind, b.payload, b.module, b.height, b.hri) for b in bcs] == [
        ("CODE39", "CODE39", 2, 80, 2), ("CODE128", "A012", 2, 80, 2)]


def test_native_qr_sequence():
    ops = decode(ep.qr_native("https://例子.cn/q?a=1", module=5, ec="M"))
    (qr,) = [o for o in ops if isinstance(o, QRCode)]
    assert (qr.payload, qr.module, qr.ec, qr.align) == ("https://例子.cn/q?a=1", 5, "M", 1)


def test_raster_roundtrip_with_padding():
    img = Image.new("1", (20, 3), 1)
    img.putpixel((0, 0), 0)
    img.putpixel((19, 2), 0)
    (r,) = [o for o in decode(ep.raster(img, width_dots=64)) if isinstance(o, Raster)]
    pad = (64 - 20) // 2
    assert r.image.width % 8 == 0 and r.image.height == 3
    assert r.image.getpixel((pad, 0)) == 0 and r.image.getpixel((pad + 19, 2)) == 0
    assert r.image.convert("L").histogram()[0] == 2


def test_raster_wider_than_paper_is_refused():
    with pytest.raises(ValueError):
        ep.raster(Image.new("1", (600, 2), 1), width_dots=576)


def test_truncated_data_is_reported():
    with pytest.raises(ValueError, match="截断"):
        decode(b"\x1dv0\x00\x10\x00\x10\x00\xff")


def test_text_helper_is_the_only_encoder():
    assert ep.text("（）") == "（）".encode("gb18030")
    assert ep.text("a\x1b@b\tc") == b"a@b c"    # ESC dropped: "@" prints, nothing resets
    assert ep.text("\ud800") == b"?"            # a lone surrogate cannot kill the slip
    assert ep.init() == b"\x1b@\x1c&"
    ops = decode(ep.init())
    assert ops == [Init(), ChineseMode(True)]


def test_empty_lf_is_a_blank_line():
    lines = text_lines(decode(ep.line("a") + b"\n" + ep.line("b")))
    assert [l.text for l in lines] == ["a", "", "b"]
    assert isinstance(decode(b"\n")[0], LineFeed)


@pytest.mark.parametrize("payload", ["https://zwfw.rizhao.gov.cn/q/8F3K2Q", "x" * 300, "中文网址/查询"])
def test_native_qr_size_matches_the_symbol(payload):
    # The module size for native QR is chosen from qr_size without building the symbol.
    assert ep.qr_size(payload) == len(ep.qr_matrix(payload))
