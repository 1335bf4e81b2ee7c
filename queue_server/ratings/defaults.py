"""The default rating: a finished case nobody rated within N natural days gets the hall's default
level (Guangxi 非常满意, Guangdong 基本满意), stored as channel `default` with `is_default`, so
statistics can show it apart from what citizens actually said. It is dated when it became due
(办结 + N days), not when the job happened to run, so re-running or a late run changes nothing."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select

from ..changes import change
from ..models import Case
from ..runtime import Runtime
from .models import Rating
from .settings import rating_settings

BATCH = 500


def apply_defaults(rt: Runtime, now: datetime | None = None) -> int:
    """Give every due unrated case its default; returns how many were given (all halls)."""
    now = now or rt.clock.now()
    given = 0
    for hall_id in list(rt.halls):
        settings = rating_settings(rt, hall_id)
        cutoff = now - timedelta(days=settings.default_after_days)
        rated = exists().where(and_(Rating.case_id == Case.id, Rating.node == "finish"))
        while True:
            with change(rt, hall_id, "system:默认评价") as ch:
                s = ch.session
                cases = s.scalars(select(Case).where(Case.hall_id == hall_id, Case.status == "finished",
                                                     Case.finished_at <= cutoff, ~rated)
                                  .order_by(Case.id).limit(BATCH)).all()
                for case in cases:
                    assert case.finished_at is not None   # the query's Case.finished_at <= cutoff
                    s.add(Rating(hall_id=hall_id, case_id=case.id, ticket_id=case.ticket_id,
                                 matter_id=case.matter_id, window_id=case.window_id, staff_id=case.staff_id,
                                 department_id=case.department_id, channel="default",
                                 level=settings.default_level, node="finish", tags=[], comment="",
                                 rated_at=case.finished_at + timedelta(days=settings.default_after_days),
                                 is_default=True, source="system"))
                if cases:
                    ch.emit("rating.defaulted", count=len(cases), level=settings.default_level,
                            case_ids=[c.id for c in cases])
            given += len(cases)
            if len(cases) < BATCH:
                break
    return given
