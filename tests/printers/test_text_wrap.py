"""Display width and wrapping: the rules that keep Chinese lines inside the paper."""
from __future__ import annotations

import random

import pytest

from printers.wrap import NO_LINE_END, NO_LINE_START, char_width, display_width, wrap


def test_widths():
    assert display_width("A012") == 4
    assert display_width("窗口") == 4
    assert display_width("（）：") == 6          # full-width punctuation is double
    assert display_width("□√·") == 6             # GB18030 two-byte symbols print double
    assert display_width("𠀀") == 2               # four-byte GB18030, one character
    assert char_width("\u0301") == 0              # combining mark rides on its base


def test_fits_without_wrapping():
    assert wrap("有限责任公司设立登记", 32, "事项：") == ["事项：有限责任公司设立登记"]


def test_continuation_is_indented_under_the_value():
    lines = wrap("法定代表人、董事、监事和经理的任职文件原件", 20, "1. ")
    assert lines[0].startswith("1. ") and all(l.startswith("   ") for l in lines[1:])
    assert "".join(l[3:] for l in lines) == "法定代表人、董事、监事和经理的任职文件原件"
    assert all(display_width(l) <= 20 for l in lines)


def test_closing_punctuation_pulls_previous_character_down():
    # 14 characters fill 28 columns exactly; the "，" may not start line 2.
    lines = wrap("一二三四五六七八九十一二三四，五", 28)
    assert lines == ["一二三四五六七八九十一二三", "四，五"]


def test_opening_punctuation_does_not_end_a_line():
    lines = wrap("一二三四五六七八九十一二三（四）", 28)
    assert lines[0] == "一二三四五六七八九十一二三" and lines[1] == "（四）"


def test_number_stays_with_its_counter():
    lines = wrap("一二三四五六七八九十一二三原件1份", 30)
    assert lines == ["一二三四五六七八九十一二三原件", "1份"]


def test_ascii_word_kept_whole_when_it_fits_and_split_when_not():
    assert wrap("请下载 HallApp 客户端", 12) == ["请下载", "HallApp 客户", "端"]
    url = "https://zwfw.example.gov.cn/progress/371102202406110012"
    lines = wrap(url, 20, "网址：")
    assert "".join(l.strip() for l in lines).replace("网址：", "") == url
    assert all(display_width(l) <= 20 for l in lines)


def test_characters_are_never_split():
    text = "𠀀𠀁𠀂" * 10 + "é\u0301x"
    lines = wrap(text, 7)
    assert "".join(lines) == text
    assert all(display_width(l) <= 7 for l in lines)


def test_all_punctuation_falls_back_to_a_hard_break():
    # Nothing but closing punctuation: no legal break, yet it must still fit.
    lines = wrap("，" * 20, 10)
    assert "".join(lines) == "，" * 20 and all(display_width(l) <= 10 for l in lines)


def test_prefix_wider_than_line_is_an_error():
    with pytest.raises(ValueError):
        wrap("x", 4, "一次性告知：")


@pytest.mark.parametrize("seed", range(30))
def test_random_text_keeps_every_character_and_fits(seed):
    rng = random.Random(seed)
    alphabet = "政务服务中心窗口材料原件复印件份" + "".join(NO_LINE_START) + "".join(NO_LINE_END) + "A1b-/ "
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 200)))
    width = rng.choice([16, 32, 48])
    prefix = rng.choice(["", "1. ", "查询码："])
    lines = wrap(text, width, prefix)
    assert all(display_width(l) <= width for l in lines)
    got = "".join(lines).replace(" ", "")
    assert got == (prefix + text).replace(" ", "")
