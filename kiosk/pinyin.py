"""Pinyin keys for the kiosk's search box: 「sbk」 (initials) and 「shebao」 (whole syllables)
find 社会保障卡申领.

Each character of a name becomes the set of first letters of its readings, and the list of its
readings without tones (the shipped tables in pinyin_data.py, made by make_pinyin_table.py); the
page matches typed letters against those sequences. Letters and digits in a name stand for
themselves; punctuation is dropped.
"""
from __future__ import annotations

import functools

from .pinyin_data import INITIALS, SYLLABLES


def _invert(by_key: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, chars in by_key.items():
        for ch in chars:
            out.setdefault(ch, []).append(key)
    return out


@functools.lru_cache(maxsize=1)
def table() -> dict[str, str]:
    """character -> its initials, e.g. 行 -> "hx"."""
    return {ch: "".join(sorted(letters)) for ch, letters in _invert(INITIALS).items()}


@functools.lru_cache(maxsize=1)
def syllable_table() -> dict[str, list[str]]:
    """character -> its readings without tones, e.g. 行 -> ["hang", "xing"]."""
    return {ch: sorted(readings) for ch, readings in _invert(SYLLABLES).items()}


def _keys(text: str, known: dict, plain) -> list:
    """Per searchable character its entry in `known`; `plain(letter)` for an ASCII letter or digit."""
    return [known[ch] if ch in known else plain(ch.lower()) for ch in text
            if ch in known or (ch.isascii() and ch.isalnum())]


def initials(text: str) -> list[str]:
    """One entry per searchable character: its possible initials ("s", "hx", "a")."""
    return _keys(text, table(), str)


def syllables(text: str) -> list[list[str]]:
    """One entry per searchable character: its possible syllables (["she"], ["hang", "xing"], ["a"])."""
    return _keys(text, syllable_table(), lambda ch: [ch])
