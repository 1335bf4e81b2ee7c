"""Hall scoping: a row of another hall is, to this hall's callers, a row that does not exist.

Every look-up by id that a caller names goes through `in_hall` (or `of_hall` for a row already
read, e.g. locked FOR UPDATE), so the refusal is the same 404 and the same words everywhere and
no place can forget the hall."""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from .errors import not_found

T = TypeVar("T")

# What a missing row of each kind is called, for programs and for people.
NOT_FOUND: dict[str, tuple[str, str]] = {
    "Ticket": ("unknown_ticket", "没有找到这张号票"),
    "Case": ("unknown_case", "没有这个办件"),
    "Window": ("unknown_window", "没有这个窗口"),
    "Matter": ("unknown_matter", "没有这个事项，请重新选择"),
    "Device": ("unknown_device", "没有这个设备"),
    "Rating": ("unknown_rating", "没有这条评价"),
    "Appeal": ("unknown_appeal", "没有这条申诉"),
    "SlipBatch": ("unknown_batch", "没有这次开箱记录"),
    "FollowUp": ("unknown_follow_up", "没有这条差评整改记录"),
}


def of_hall(row: T | None, hall_id: int, kind: type, *, active: bool = False, message: str = "") -> T:
    """`row` if it is this hall's (and active, when asked); else the kind's 404 (in the caller's
    words when given, e.g. a transfer's target)."""
    if row is None or row.hall_id != hall_id or (active and not row.active):
        code, words = NOT_FOUND[kind.__name__]
        raise not_found(code, message or words)
    return row


def in_hall(s: Session, kind: type[T], row_id: int, hall_id: int, *, active: bool = False,
            message: str = "") -> T:
    """The row of `kind` with this id in this hall, or the kind's 404."""
    return of_hall(s.get(kind, row_id), hall_id, kind, active=active, message=message)

