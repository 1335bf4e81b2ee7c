"""The preview renderer: slips rendered to PNG under tests/_artifacts/slips/ (for a human to
look at) and read back by zxing-cpp, so the preview is proven to show scannable codes."""
from __future__ import annotations

import io

import pytest
import zxingcpp
from slip_samples import LONG_MATERIALS, make_slip
from slip_samples import artifacts  # noqa: F401  (fixtures)
from PIL import Image

from printers import P58, P80, build_slip, render_png
from printers import testslip
from printers.render import find_cjk_font, main, render_image, write_png

CASES = {
    "p80_native": (P80, {}),
    "p58_native": (P58, {}),
    "p80_raster": (P80.raster(), {}),
    "p58_raster": (P58.raster(), {}),
    "p58_long_materials": (P58, {"materials": LONG_MATERIALS}),
    "p80_long_materials": (P80.raster(), {"materials": LONG_MATERIALS}),
    "p58_priority_appointment": (P58, {"priority": "老年人", "appointment_code": "YY20240611-0031"}),
    "p80_reprint_military": (P80, {"priority": "军人", "reprint": True, "matter_kind": "即办件",
                                   "promised_days": 0, "windows": [("1号窗口 军人优先窗口", "")]}),
    "p80_full_limits_steps_phones": (P80, {"legal_days": 20, "process": "窗口受理→审核→决定→领取执照",
                                           "consult_phone": "0633-8779000", "reprint": True,
                                           "windows": [("3号窗口 商事登记窗口", "张丽 工号DG0101")]}),
    "p58_full_limits_steps_phones": (P58.raster(), {"legal_days": 20, "process": "窗口受理→审核→决定→领取执照",
                                                    "consult_phone": "0633-8779000",
                                                    "windows": [("3号窗口 商事登记窗口", "张丽 工号DG0101")]}),
}


def codes(img: Image.Image) -> set[tuple[str, str]]:
    return {(r.format.name, r.text) for r in zxingcpp.read_barcodes(img)}


@pytest.mark.parametrize("name", CASES)
def test_render_slip_and_scan_it(name, artifacts):
    profile, overrides = CASES[name]
    slip = make_slip(**overrides)
    data = build_slip(slip, profile)
    path = write_png(data, artifacts / f"{name}.png", profile.width_dots)
    img = Image.open(path)
    assert img.width == profile.width_dots
    assert img.height > 900
    assert codes(img.convert("L")) == {("Code128", slip.ticket_id), ("QRCode", slip.progress_url)}


def test_double_size_ticket_number_is_taller_than_body_text():
    from printers import escpos as ep
    small = render_image(ep.init() + ep.line("A012"), 576)
    big = render_image(ep.init() + ep.size(2, 2) + ep.line("A012"), 576)
    sb, bb = small.point(lambda v: 255 - v).getbbox(), big.point(lambda v: 255 - v).getbbox()
    assert (bb[3] - bb[1]) >= 1.8 * (sb[3] - sb[1])
    assert (bb[2] - bb[0]) >= 1.8 * (sb[2] - sb[0])


def test_chinese_glyphs_are_drawn_not_boxes():
    from printers import escpos as ep
    # Different characters must give different pixels; a missing font draws identical tofu.
    a = render_image(ep.init() + ep.line("政"), 576).tobytes()
    b = render_image(ep.init() + ep.line("务"), 576).tobytes()
    assert a != b


def test_png_bytes_and_cli(tmp_path, artifacts):
    data = testslip.test_slip(P58)
    png = render_png(data, 384)
    assert png.startswith(b"\x89PNG")
    src = tmp_path / "t.bin"
    src.write_bytes(data)
    assert main([str(src), str(artifacts / "test_page_p58.png"), "--profile", "P58"]) == 0
    assert main([str(src), str(tmp_path / "x.png"), "--profile", "P99"]) == 2
    assert main([str(tmp_path / "missing.bin"), str(tmp_path / "x.png")]) == 2
    img = Image.open(io.BytesIO(png))
    found = codes(img.convert("L"))
    assert ("Code128", testslip.SAMPLE.ticket_id) in found


def test_font_is_found():
    path, index = find_cjk_font()
    assert path and index >= 0


def test_missing_font_is_a_clear_error(monkeypatch, tmp_path):
    from printers import render
    render.find_cjk_font.cache_clear()
    monkeypatch.setenv("HALL_CJK_FONT", str(tmp_path / "none.ttc"))
    try:
        with pytest.raises(render.FontNotFound, match="字体"):
            render.find_cjk_font()
    finally:
        monkeypatch.delenv("HALL_CJK_FONT")
        render.find_cjk_font.cache_clear()


@pytest.mark.parametrize("profile", [P80, P58, P58.raster()], ids=["P80", "P58", "P58r"])
def test_test_page_fits_and_names_the_profile(profile):
    from printers.decode import decode, text_lines
    lines = text_lines(decode(testslip.test_slip(profile)))
    assert all(line.columns <= profile.columns for line in lines), [l.text for l in lines if l.columns > profile.columns]
    text = "".join(line.text for line in lines)
    assert f"型号：{profile.name}" in text and "统一受理告知单" in text
