"""Display width and line wrapping for a fixed-cell thermal printer.

In Chinese mode the printer draws every multi-byte GB18030 character in a 24x24 cell and
every ASCII byte in a 12x24 cell, so width is counted in half-width columns: ASCII = 1,
anything else = 2. Combining marks ride on the previous character and are never split off.
"""
from __future__ import annotations

import unicodedata

#: Closing punctuation that must not start a line (避头).
NO_LINE_START = set("，。、；：？！）》」』】〉〕｝］”’…—·～%‰℃,.;:?!)]}>'\"")
#: Opening punctuation that must not end a line (避尾).
NO_LINE_END = set("（《「『【〈〔｛［“‘([{<")
#: Counters that stay with the number before them ("原件1份" never ends in "1").
COUNTERS = set("份张页本套个件次项元人")


def char_width(ch: str) -> int:
    """Columns one code point takes on the printer."""
    if ord(ch) < 0x80:
        return 1
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me"):
        return 0
    return 2


def display_width(text: str) -> int:
    """Columns a string takes at normal size."""
    return sum(char_width(ch) for ch in text)


def _units(text: str) -> list[str]:
    """Split into unbreakable units: one character with its combining marks, or one ASCII
    word (letters, digits and joiners such as ``-`` ``/`` ``.``) so ``A4`` or a URL part
    is not torn unless it is longer than a line."""
    units: list[str] = []
    for ch in text:
        if units and char_width(ch) == 0:
            units[-1] += ch
        elif units and _is_word(ch) and _is_word(units[-1][-1]):
            units[-1] += ch
        else:
            units.append(ch)
    return units


def _is_word(ch: str) -> bool:
    return ord(ch) < 0x80 and (ch.isalnum() or ch in "-_/.:@#&=?%+~")


def _break_ok(prev: str, nxt: str) -> bool:
    """May a line end after unit ``prev`` and the next begin with ``nxt``?"""
    if prev[-1].isdigit() and ord(prev[-1]) < 0x80 and nxt[0] in COUNTERS:
        return False
    return nxt[0] not in NO_LINE_START and prev[-1] not in NO_LINE_END


def _split_long(unit: str, width: int) -> list[str]:
    """Hard-split a unit (an ASCII word such as a URL) that cannot fit on any line,
    preferring to break after ``/ . ? & - _ =`` when that keeps the piece over half full."""
    pieces: list[str] = []
    cur = ""
    for ch in unit:
        if cur and display_width(cur) + char_width(ch) > width:
            cut = max(cur.rfind(sep) for sep in "/.?&-_=") + 1
            if cut <= len(cur) // 2:
                cut = len(cur)
            pieces.append(cur[:cut])
            cur = cur[cut:]
        cur += ch
    if cur:
        pieces.append(cur)
    return pieces


def wrap(text: str, width: int, first_prefix: str = "", indent: int | None = None) -> list[str]:
    """Wrap ``text`` to lines of at most ``width`` columns.

    The first line starts with ``first_prefix`` (e.g. ``"1. "`` or ``"事项："``); later
    lines are indented by ``indent`` spaces (default: the prefix width) so numbered items
    and labelled values line up. Spaces at a line break are dropped; every other character
    is kept. Closing punctuation never starts a line and opening punctuation never ends one:
    the character before it moves down with it, as Chinese typesetting does.
    """
    if indent is None:
        indent = display_width(first_prefix)
    if display_width(first_prefix) >= width or indent >= width:
        raise ValueError(f"前缀过宽：{first_prefix!r}，行宽 {width}")
    room = width - max(indent, display_width(first_prefix))
    units: list[str] = []
    for u in _units(" ".join(text.split())):
        units.extend(_split_long(u, room) if display_width(u) > room else [u])

    lines: list[str] = []
    prefix = first_prefix
    i = 0
    while i < len(units):
        avail = width - display_width(prefix)
        j, used = i, 0
        while j < len(units) and used + display_width(units[j]) <= avail:
            used += display_width(units[j])
            j += 1
        if j < len(units):
            # Back off to the last position where a break is allowed; if none, break hard.
            k = j
            while k > i + 1 and not _break_ok(units[k - 1], units[k]):
                k -= 1
            if k > i + 1 or _break_ok(units[i], units[i + 1] if i + 1 < len(units) else " "):
                j = k
        lines.append(prefix + "".join(units[i:j]).rstrip(" "))
        i = j
        while i < len(units) and units[i] == " ":
            i += 1
        prefix = " " * indent
    return lines or [first_prefix.rstrip()]
