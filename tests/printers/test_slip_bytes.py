"""The slip's bytes, read back through the decoder: every fact the citizen needs is there,
exactly, and the codes carry the right payloads in both native and raster form."""
from __future__ import annotations

import pytest
import zxingcpp
from slip_samples import LONG_MATERIALS, make_slip
from slip_samples import slip  # noqa: F401  (fixtures)
from PIL import Image

from printers import P58, P80, build_slip
from printers.decode import Barcode, ChineseMode, Init, QRCode, Raster, Text, decode, text_lines
from printers.slip import RATING_BOXES, RATING_HOWTO
from printers.wrap import display_width

PROFILES = [P80, P58, P80.raster(), P58.raster()]
IDS = [p.name for p in PROFILES]


def joined(data: bytes) -> str:
    """All printed text with line breaks and continuation indents removed, so a wrapped
    value reads back as one string."""
    return "".join(line.text.strip() for line in text_lines(decode(data)))


@pytest.mark.parametrize("profile", PROFILES, ids=IDS)
def test_every_fact_is_printed_exactly(profile, slip):
    text = joined(build_slip(slip, profile))
    for fact in ["日照市政务服务中心", "统一受理告知单", "A012", "有限责任公司设立登记",
                 "市场监督管理局", "3号窗口 商事登记窗口", "张丽", "5号窗口 综合窗口",
                 "前面还有 5 人等候", "2024-06-11 09:30:12", "不收费", "承诺件",
                 "3个工作日", "8F3K2Q", "zwfw.rizhao.gov.cn/q/8F3K2Q", "0633-12345",
                 RATING_HOWTO.replace("，", "，")]:
        assert fact in text, fact
    for i, item in enumerate(slip.materials, start=1):
        assert f"{i}. {item}" in text, item
    for box in RATING_BOXES:
        assert box in text
    assert "【补打】" not in text and "【优先" not in text and "【预约】" not in text


@pytest.mark.parametrize("profile", PROFILES, ids=IDS)
def test_starts_with_init_then_chinese_mode(profile, slip):
    ops = decode(build_slip(slip, profile))
    assert isinstance(ops[0], Init) and ops[1] == ChineseMode(True)
    assert data_has_no_code_page_switch(build_slip(slip, profile))


def data_has_no_code_page_switch(data: bytes) -> bool:
    """No ESC t / FS . anywhere: one encoding for the whole slip."""
    return b"\x1bt" not in data and b"\x1c." not in data


def test_native_codes_carry_ticket_id_and_url(slip):
    ops = decode(build_slip(slip, P80))
    barcodes = [o for o in ops if isinstance(o, Barcode)]
    qrs = [o for o in ops if isinstance(o, QRCode)]
    assert [(b.kind, b.payload, b.hri) for b in barcodes] == [("CODE128", slip.ticket_id, 2)]
    assert [(q.payload, q.ec) for q in qrs] == [(slip.progress_url, "M")]
    assert not [o for o in ops if isinstance(o, Raster)]


@pytest.mark.parametrize("profile", [P80, P58], ids=["P80", "P58"])
def test_native_barcode_module_fits_paper(profile, slip):
    from printers import code128
    (bc,) = [o for o in decode(build_slip(slip, profile)) if isinstance(o, Barcode)]
    assert bc.module >= 2
    assert code128.total_modules(bc.payload) * bc.module <= profile.width_dots


@pytest.mark.parametrize("profile", [P80.raster(), P58.raster()], ids=["P80r", "P58r"])
@pytest.mark.parametrize("ticket_id", ["371102202406110012", "RZ-A012"])
def test_raster_codes_scan_back(profile, ticket_id, slip):
    slip.ticket_id = ticket_id
    ops = decode(build_slip(slip, profile))
    assert not [o for o in ops if isinstance(o, (Barcode, QRCode))]
    bar_img, qr_img = [o.image for o in ops if isinstance(o, Raster)]
    assert bar_img.width <= profile.width_dots and qr_img.width <= profile.width_dots
    assert scan(bar_img) == [("Code128", ticket_id)]
    assert scan(qr_img) == [("QRCode", slip.progress_url)]
    # The HRI is printed under the raster barcode as text.
    assert ticket_id in [line.text.strip() for line in text_lines(ops)]


def scan(img: Image.Image) -> list[tuple[str, str]]:
    framed = Image.new("L", (img.width + 40, img.height + 40), 255)
    framed.paste(img.convert("L"), (20, 20))
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(framed)]


def bar_runs(img: Image.Image) -> tuple[int, int, list[int]]:
    """First and last dark column of the middle row, and the run lengths between them."""
    row = [img.getpixel((x, img.height // 2)) for x in range(img.width)]
    dark = [x for x, v in enumerate(row) if v == 0]
    first, last = dark[0], dark[-1]
    runs, run, prev = [], 0, row[first]
    for v in row[first:last + 1]:
        if v == prev:
            run += 1
        else:
            runs.append(run)
            run, prev = 1, v
    runs.append(run)
    return first, last, runs


@pytest.mark.parametrize("profile", [P80.raster(), P58.raster()], ids=["P80r", "P58r"])
def test_raster_barcode_uses_whole_dot_modules(profile, slip):
    (bar_img, _qr) = [o.image for o in decode(build_slip(slip, profile)) if isinstance(o, Raster)]
    _first, _last, runs = bar_runs(bar_img)
    module = min(runs)
    assert module >= 2, "bars thinner than 2 dots do not scan reliably"
    assert all(r % module == 0 and r // module <= 4 for r in runs)


@pytest.mark.parametrize("ticket_id", ["371102202406110012", "RZ-2024-A0012", "ABCDEFGHIJKL",
                                       "ABCDEFGHIJKLM", "RZ20240611-A012", "ABCDEFGHIJKLMNOPQR"])
@pytest.mark.parametrize("profile", [P80.raster(), P58.raster()], ids=["P80r", "P58r"])
def test_raster_barcode_keeps_its_quiet_zone_on_the_paper(profile, ticket_id, slip):
    # Long ids push the symbol towards the paper edges: the module must shrink before the
    # 10-module quiet zone does.
    slip.ticket_id = ticket_id
    (bar_img, _qr) = [o.image for o in decode(build_slip(slip, profile)) if isinstance(o, Raster)]
    first, last, runs = bar_runs(bar_img)
    module = min(runs)
    assert first >= 10 * module
    assert (profile.width_dots - 1) - last >= 10 * module
    assert scan(bar_img) == [("Code128", ticket_id)]


@pytest.mark.parametrize("profile", PROFILES, ids=IDS)
@pytest.mark.parametrize("materials", [None, LONG_MATERIALS], ids=["short", "long"])
def test_no_line_exceeds_the_paper(profile, materials, slip):
    if materials:
        slip.materials = materials
    for line in text_lines(decode(build_slip(slip, profile))):
        assert line.columns <= profile.columns, (line.text, line.columns)


@pytest.mark.parametrize("profile", [P80, P58], ids=["P80", "P58"])
def test_long_material_list_keeps_every_character(profile):
    slip = make_slip(materials=LONG_MATERIALS)
    lines = [line.text for line in text_lines(decode(build_slip(slip, profile)))]
    start = lines.index("一次性告知（请备齐以下材料）：") + 1
    end = next(i for i, t in enumerate(lines) if t.startswith("收费："))
    block = lines[start:end]
    assert len(block) > len(LONG_MATERIALS)          # it did wrap
    width = len(str(len(LONG_MATERIALS)))
    items, current = [], None
    for t in block:
        if t[:width + 2].strip().rstrip(".").isdigit() and t[width:width + 2] == ". ":
            current = [t[width + 2:]]
            items.append(current)
        else:
            assert t.startswith(" " * (width + 2)), f"continuation not indented: {t!r}"
            current.append(t[width + 2:])
    got = ["".join(parts) for parts in items]
    want = ["".join(m.split()) for m in LONG_MATERIALS]
    assert ["".join(g.split()) for g in got] == want


@pytest.mark.parametrize("profile", [P80, P58], ids=["P80", "P58"])
def test_no_closing_punctuation_starts_a_line(profile):
    slip = make_slip(materials=LONG_MATERIALS)
    for line in text_lines(decode(build_slip(slip, profile))):
        body = line.text.lstrip(" ")
        assert not body or body[0] not in "，。、；：？！）》」』】”", line.text


def test_big_ticket_number_is_double_and_centred(slip):
    (run,) = [o for o in decode(build_slip(slip, P80)) if isinstance(o, Text) and o.text == "A012"]
    assert (run.style.width, run.style.height, run.style.align) == (2, 2, 1)


@pytest.mark.parametrize("profile", [P80, P58], ids=["P80", "P58"])
def test_rating_boxes_fit_in_two_lines(profile, slip):
    lines = [line.text for line in text_lines(decode(build_slip(slip, profile)))]
    rows = [t for t in lines if t.startswith("□")]
    assert len(rows) == 2
    assert " ".join(rows).split() == list(RATING_BOXES)
    assert all(display_width(r) <= profile.columns for r in rows)


def test_priority_appointment_and_reprint_marks():
    slip = make_slip(priority="老年人", appointment_code="YY20240611-0031", reprint=True)
    text = joined(build_slip(slip, P58))
    assert "【优先·老年人】【预约】" in text
    assert "预约码：YY20240611-0031" in text
    assert text.count("【补打】") == 2  # top and bottom, so a torn slip still shows it


def test_immediate_matter_says_done_on_the_spot():
    text = joined(build_slip(make_slip(matter_kind="即办件", promised_days=0), P80))
    assert "办件类型：即办件" in text and "承诺时限：当场办结" in text


def test_single_window_without_staff_and_no_windows():
    text = joined(build_slip(make_slip(windows=[("1号窗口 综合窗口", "")]), P80))
    assert "请到：1号窗口 综合窗口" in text and "经办人" not in text and "以上窗口" not in text
    assert "请到：服务台咨询" in joined(build_slip(make_slip(windows=[]), P80))


def test_bytes_are_deterministic(slip):
    assert build_slip(slip, P58.raster()) == build_slip(make_slip(), P58.raster())


def test_control_characters_in_data_cannot_inject_commands():
    # A cut (GS V) hidden in a material name must print as nothing, not cut the paper.
    slip = make_slip(materials=["身份证\x1dV\x00原件", "复印件\u200b1份\ufe0f"])
    data = build_slip(slip, P80)
    text = joined(data)
    assert "1. 身份证V原件" in text and "2. 复印件1份" in text
    cuts = [o for o in decode(data) if type(o).__name__ == "Cut"]
    assert len(cuts) == 1


def test_punctuation_only_run_is_gb18030(slip):
    # python-escpos' magic encoder garbles runs like this; ours must not.
    slip.fees = "（）：；“”"
    data = build_slip(slip, P80)
    assert "（）：；“”".encode("gb18030") in data
    assert "收费：（）：；“”" in joined(data)


def test_rare_characters_survive(slip):
    slip.windows = [("3号窗口", "王𠀀䶮")]  # a 4-byte GB18030 character and an extension-A one
    assert "王𠀀䶮" in joined(build_slip(slip, P80))


@pytest.mark.parametrize("bad", [dict(matter_kind="加急件"), dict(promised_days=-1),
                                 dict(ticket_id="编号1"), dict(ticket_id=""), dict(progress_url=""),
                                 dict(waiting_ahead=-2)])
def test_invalid_slips_are_refused(bad):
    with pytest.raises(ValueError):
        build_slip(make_slip(**bad), P80)


def test_too_long_barcode_is_refused_not_truncated():
    with pytest.raises(ValueError, match="条码内容过长"):
        build_slip(make_slip(ticket_id="X" * 80), P58)


def test_no_cut_profile_only_feeds(slip):
    from printers import profile_by_name
    ops = decode(build_slip(slip, profile_by_name("P58-nocut")))
    assert not [o for o in ops if type(o).__name__ == "Cut"]


def test_native_profile_falls_back_to_raster_when_bars_would_be_one_dot(slip):
    # GS w 1 is out of range on many printers (they keep 3 dots and drop the barcode).
    slip.ticket_id = "RZ20240611-A012"
    ops = decode(build_slip(slip, P58))
    assert not [o for o in ops if isinstance(o, Barcode)]
    (bar_img,) = [o.image for o in ops if isinstance(o, Raster)]
    assert scan(bar_img) == [("Code128", slip.ticket_id)]
    assert [o for o in ops if isinstance(o, QRCode)]       # the QR stays native


FULL = dict(legal_days=20, process="窗口受理→审核→决定→领取执照", consult_phone="0633-8779000",
            windows=[("3号窗口 商事登记窗口", "张丽 工号DG0101"), ("5号窗口 综合窗口", "")])


@pytest.mark.parametrize("profile", PROFILES, ids=IDS)
def test_legal_limit_steps_consult_phone_and_clerk_number(profile):
    data = build_slip(make_slip(**FULL), profile)
    lines = [line.text.rstrip() for line in text_lines(decode(data))]
    text = joined(data)
    # The statutory limit beside the promised one: same line on 80 mm, the next on 58 mm.
    if profile.columns >= 48:
        assert "承诺时限：3个工作日　法定时限：20个工作日" in lines
        assert "咨询电话：0633-8779000　投诉电话：0633-12345" in lines
    else:
        i = lines.index("承诺时限：3个工作日")
        assert lines[i + 1] == "法定时限：20个工作日"
        assert "咨询电话：0633-8779000" in lines and "投诉电话：0633-12345" in lines
    assert "办理流程：窗口受理→审核→决定→领取执照" in text
    assert "经办人：张丽 工号DG0101" in text
    assert all(display_width(line) <= profile.columns for line in lines)


def test_nothing_printed_for_what_the_config_lacks(slip):
    text = joined(build_slip(slip, P80))
    assert "法定时限" not in text and "办理流程" not in text and "咨询电话" not in text and "工号" not in text


def test_immediate_matter_still_shows_its_legal_limit():
    text = joined(build_slip(make_slip(matter_kind="即办件", promised_days=0, legal_days=3), P80))
    assert "承诺时限：当场办结　法定时限：3个工作日" in text
