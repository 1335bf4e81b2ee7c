"""投箱评议: the monthly opening of the rating box. A supervisor scans each slip's CODE128 barcode
(the ticket's ballot code, 16 random digits typed by a keyboard-wedge scanner), ticks the level
seen on the slip, next. Every scan is kept — rated or refused and why — so the tally at the end
counts both. The code is random so that nobody can make up slips by counting ticket ids; tickets
issued before it existed have no ballot code and their slips are refused. A slip counts only
when scanned in an open batch: POST /ratings refuses the slip channel."""
from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from .. import schemas
from ..auth import Principal
from ..changes import change
from ..clock import iso
from ..errors import HallError, conflict
from ..models import Case, Ticket
from ..runtime import Runtime
from .levels import CHANNELS, LEVELS
from .models import SlipBatch, SlipScan
from .service import RatingRequest, counted_rating, submit_rating
from ..scoping import in_hall

BALLOT_LENGTH = 16  # tickets.new_ballot_code

REFUSALS = {"unknown_code": "无法识别的条码（不是本大厅的号票）", "already_rated": "重复：该办件的评议单已录入",
            "case_not_finished": "该号票没有办结的办件，不能评议"}


def open_batch(rt: Runtime, principal: Principal, origin: str | None = None) -> schemas.SlipBatch:
    with change(rt, principal.hall_id, principal.actor, origin) as ch:
        batch = SlipBatch(hall_id=principal.hall_id, opened_by=principal.actor, opened_at=ch.now)
        ch.session.add(batch)
        ch.session.flush()
        return batch_dict(ch.session, batch)


def _batch(s, hall_id: int, batch_id: int, open_only: bool = True) -> SlipBatch:
    batch = in_hall(s, SlipBatch, batch_id, hall_id)
    if open_only and batch.closed_at is not None:
        raise conflict("batch_closed", "这次开箱评议已结束，请重新开始一次")
    return batch


def _lookup(s, hall_id: int, code: str) -> tuple[Ticket, Case]:
    """The ticket and finished case a slip's barcode names, or the refusal."""
    ticket = s.scalar(select(Ticket).where(Ticket.ballot_code == code)) if len(code) == BALLOT_LENGTH \
        and code.isascii() and code.isdigit() else None
    if ticket is None or ticket.hall_id != hall_id:
        why = "（旧式号票条码或手工输入的编号不能计入评议）" if code.isdigit() and len(code) < BALLOT_LENGTH else ""
        raise HallError("unknown_code", f"{REFUSALS['unknown_code']}：{code}{why}", 404)
    case = s.scalar(select(Case).where(Case.ticket_id == ticket.id))
    if case is None or case.status != "finished":
        raise conflict("case_not_finished", f"{ticket.number}号：{REFUSALS['case_not_finished']}")
    first = counted_rating(s, case.id, "finish")
    if first is not None:
        reason = REFUSALS["already_rated"] if first.channel == "slip" else \
            f"该办件已通过{CHANNELS.get(first.channel, first.channel)}评价过（一事一评），评议单不再计入"
        raise conflict("already_rated", f"{ticket.number}号：{reason}")
    return ticket, case


def scan(rt: Runtime, principal: Principal, batch_id: int, code: str, level: int | None,
         origin: str | None = None) -> dict[str, Any]:
    """Without `level`: check the code (refusals are recorded). With it: record the slip's rating."""
    code = (code or "").strip()[:64]
    hall_id = principal.hall_id
    try:
        with rt.read() as s:
            _batch(s, hall_id, batch_id)
            ticket, case = _lookup(s, hall_id, code)
            case_id = case.id
            found = {"ticket": {"id": ticket.id, "number": ticket.number, "matter_name": ticket.matter.name},
                     "case": {"id": case.id, "number": case.number}}
        if level is None:
            return {"ok": True, **found}
        rating = submit_rating(rt, RatingRequest(level=level, channel="slip", case_id=case_id,
                                                 slip_batch_id=batch_id), principal, origin)
        _record(rt, hall_id, batch_id, code, level, "rated", "", rating["id"])
        return {"ok": True, **found, "rating": rating}
    except HallError as refusal:
        if refusal.code in REFUSALS:
            _record(rt, hall_id, batch_id, code, level, refusal.code, refusal.message, None)
        raise


def _record(rt: Runtime, hall_id: int, batch_id: int, code: str, level: int | None, outcome: str,
            message: str, rating_id: int | None) -> None:
    with rt.writing() as s:
        s.add(SlipScan(batch_id=batch_id, code=code, level=level, outcome=outcome, message=message[:200],
                       rating_id=rating_id, at=rt.clock.now()))
        s.commit()


def close_batch(rt: Runtime, principal: Principal, batch_id: int, origin: str | None = None) -> schemas.SlipBatch:
    with change(rt, principal.hall_id, principal.actor, origin) as ch:
        batch = _batch(ch.session, principal.hall_id, batch_id)
        batch.closed_at = ch.now
        ch.session.flush()
        body = batch_dict(ch.session, batch)
        ch.emit("slips.tallied", batch=body)
        return body


def show_batch(rt: Runtime, hall_id: int, batch_id: int) -> schemas.SlipBatch:
    with rt.read() as s:
        return batch_dict(s, _batch(s, hall_id, batch_id, open_only=False))


def batch_dict(s, batch: SlipBatch) -> schemas.SlipBatch:
    scans = s.scalars(select(SlipScan).where(SlipScan.batch_id == batch.id).order_by(SlipScan.id)).all()
    rated = [x for x in scans if x.outcome == "rated"]
    counts = Counter(x.level for x in rated)
    return schemas.SlipBatch(
        id=batch.id, opened_by=batch.opened_by, opened_at=iso(batch.opened_at),
        closed_at=iso(batch.closed_at), rated=len(rated),
        counts=[schemas.LevelCount(level=n, word=LEVELS[n], count=counts.get(n, 0)) for n in LEVELS],
        refused=[schemas.SlipRefusal(code=x.code, reason=x.outcome, message=x.message, at=iso(x.at))
                 for x in scans if x.outcome != "rated"],
    )
