"""Numbers that are unique under any concurrency and never reused: A001, A002 … per hall, day, series.

The counter row is bumped with one INSERT … ON CONFLICT DO UPDATE … RETURNING, atomic on both
SQLite and PostgreSQL; it runs inside the issuing transaction, so a rolled-back issue gives its
number back only together with everything else it did, and a committed number is never given again.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import Counter


def _upsert(insert):
    stmt = insert(Counter).values(hall_id=bindparam("hall_id"), day=bindparam("day"),
                                  series=bindparam("series"), last=1)
    return stmt.on_conflict_do_update(
        index_elements=[Counter.hall_id, Counter.day, Counter.series],
        set_={"last": Counter.last + 1},
    ).returning(Counter.last)


_UPSERT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def next_number(session: Session, hall_id: int, day: date, series: str) -> int:
    conn = session.connection()
    return conn.execute(_UPSERT[conn.dialect.name],
                        {"hall_id": hall_id, "day": day, "series": series}).scalar_one()


def ticket_number(prefix: str, n: int) -> str:
    return f"{prefix}{n:03d}"


def case_number(hall_code: str, day: date, n: int) -> str:
    """办件编号: hall code + date + serial; no national format exists (DOMAIN §5)."""
    return f"{hall_code}{day:%Y%m%d}{n:04d}"
