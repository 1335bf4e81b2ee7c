"""Pinyin initials for the kiosk's search box: 「sbk」 finds 社会保障卡申领.

Each character of a name becomes the set of first letters of its readings (the shipped table in
pinyin_data.py, made by make_pinyin_table.py); the page matches typed letters against that
sequence. Letters and digits in a name stand for themselves; punctuation is dropped.
"""
from __future__ import annotations

import functools

from .pinyin_data import INITIALS


@functools.lru_cache(maxsize=1)
def table() -> dict[str, str]:
    """character -> its initials, e.g. 行 -> "hx"."""
    out: dict[str, set[str]] = {}
    for letter, chars in INITIALS.items():
        for ch in chars:
            out.setdefault(ch, set()).add(letter)
    return {ch: "".join(sorted(letters)) for ch, letters in out.items()}


def initials(text: str) -> list[str]:
    """One entry per searchable character: its possible initials ("s", "hx", "a")."""
    known = table()
    out = []
    for ch in text:
        if ch in known:
            out.append(known[ch])
        elif ch.isascii() and ch.isalnum():
            out.append(ch.lower())
    return out
