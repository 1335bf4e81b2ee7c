"""How ratings, follow-ups and appeals look in the API, the events and the pages."""
from __future__ import annotations

from typing import cast

from .. import schemas

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import iso
from ..models import Case, Department, Matter, Staff, Window
from .levels import CHANNELS, NODES, is_bad, level_word
from .models import VOID_KINDS, Appeal, FollowUp, FollowUpStep, Rating

STAGE_WORDS = {"verify": "待核实", "fix": "待整改", "callback": "待回访", "closed": "已办结",
               "voided": "已撤销（评价作废）"}
STEP_WORDS = {"opened": "立案", "verify": "核实", "fix": "整改", "callback": "回访", "voided": "撤销"}
APPEAL_WORDS = {"pending": "待复核", "upheld": "申诉成立", "rejected": "申诉不成立"}


def _names(session: Session, row) -> schemas.RatedWhere:
    matter = session.get(Matter, row.matter_id)
    window = session.get(Window, row.window_id)
    staff = session.get(Staff, row.staff_id) if row.staff_id else None
    department = session.get(Department, row.department_id)
    return {
        "matter": schemas.MatterBrief(id=matter.id, code=matter.code, name=matter.name) if matter else None,
        "window": schemas.WindowBrief(id=window.id, number=window.number, name=window.name) if window else None,
        "staff": schemas.StaffBrief(id=staff.id, name=staff.name, staff_no=staff.staff_no) if staff else None,
        "department": schemas.Named(id=department.id, name=department.name) if department else None,
    }


def rating_dict(session: Session, r: Rating) -> schemas.Rating:
    case = session.get(Case, r.case_id)
    follow_up = session.scalar(select(FollowUp.id).where(FollowUp.rating_id == r.id))
    return schemas.Rating(
        id=r.id, case_id=r.case_id, case_number=case.number if case else None,
        ticket_id=r.ticket_id, **_names(session, r),
        channel=r.channel, channel_word=CHANNELS.get(r.channel, r.channel),
        level=r.level, level_word=level_word(r.level), bad=is_bad(r.level),
        node=r.node, node_word=NODES.get(r.node, r.node), tags=list(r.tags or []),
        comment=r.comment, rated_at=iso(r.rated_at), is_default=r.is_default,
        voided=r.voided, void_reason=r.void_reason, voided_at=iso(r.voided_at),
        void_kind=cast(schemas.VoidKind | None, r.void_kind), void_word=VOID_KINDS.get(r.void_kind or "") if r.voided else None,
        follow_up_id=follow_up,
    )


def follow_up_dict(session: Session, f: FollowUp, now=None) -> schemas.FollowUp:
    rating = session.get(Rating, f.rating_id)
    case = session.get(Case, f.case_id)
    department = session.get(Department, f.department_id)
    steps = session.scalars(select(FollowUpStep).where(FollowUpStep.follow_up_id == f.id)
                            .order_by(FollowUpStep.id)).all()
    open_ = f.stage not in ("closed", "voided")
    return schemas.FollowUp(
        id=f.id, rating_id=f.rating_id, case_id=f.case_id,
        case_number=case.number if case else None,
        department=schemas.Named(id=department.id, name=department.name) if department else None,
        stage=f.stage, stage_word=STAGE_WORDS.get(f.stage, f.stage), open=open_,
        opened_at=iso(f.opened_at), due_at=iso(f.due_at), due_guessed=f.due_guessed,
        closed_at=iso(f.closed_at),
        overdue=bool(open_ and now is not None and now > f.due_at) or bool(
            f.closed_at is not None and f.closed_at > f.due_at),
        fix_rating=f.fix_rating,
        rating=schemas.RatedBrief(level=rating.level, level_word=level_word(rating.level), channel=rating.channel,
                                  channel_word=CHANNELS.get(rating.channel, rating.channel),
                                  tags=list(rating.tags or []), comment=rating.comment,
                                  rated_at=iso(rating.rated_at), **_names(session, rating)) if rating else None,
        steps=[schemas.FollowUpStep(stage=st.stage, stage_word=STEP_WORDS.get(st.stage, st.stage),
                                         note=st.note, actor=st.actor, at=iso(st.at)) for st in steps],
    )


def appeal_dict(session: Session, a: Appeal) -> schemas.Appeal:
    rating = session.get(Rating, a.rating_id)
    return schemas.Appeal(
        id=a.id, rating_id=a.rating_id, reason=a.reason, filed_by=a.filed_by,
        filed_at=iso(a.filed_at), status=cast(schemas.AppealStatus, a.status), status_word=APPEAL_WORDS.get(a.status, a.status),
        decided_by=a.decided_by, decided_at=iso(a.decided_at), decision_note=a.decision_note,
        rating=rating_dict(session, rating) if rating else None,
    )
