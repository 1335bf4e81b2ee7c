"""申诉复核: the hall asks to set a rating aside (误评, 恶意差评) with a reason; a supervisor who did
not file it decides. An upheld appeal voids the rating (kept, with the reason) and stops its
follow-up; a rejected one changes nothing. Nothing is deleted."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..auth import Principal
from ..changes import change
from ..errors import bad_request, conflict, forbidden
from ..runtime import Runtime
from .models import Appeal, FollowUp, FollowUpStep, Rating
from .shapes import appeal_dict
from ..scoping import in_hall, of_hall

MAX_REASON = 1000


def file_appeal(rt: Runtime, hall_id: int, rating_id: int, reason: str, principal: Principal,
                origin: str | None = None) -> dict[str, Any]:
    reason = (reason or "").strip()
    if not reason:
        raise bad_request("missing_field", "请写明申诉理由", field="reason")
    if len(reason) > MAX_REASON:
        raise bad_request("field_too_long", f"申诉理由最多 {MAX_REASON} 个字")
    with change(rt, hall_id, principal.actor, origin) as ch:
        s = ch.session
        rating = in_hall(s, Rating, rating_id, hall_id)
        if principal.role == "clerk" and rating.window_id not in principal.window_ids:
            raise forbidden("not_your_window", "只能对本窗口的评价提出申诉")
        if rating.voided:
            raise conflict("already_voided", "这条评价已经作废")
        if rating.is_default:
            raise conflict("default_rating", "默认评价不能申诉")
        if s.scalar(select(Appeal.id).where(Appeal.rating_id == rating.id, Appeal.status == "pending")):
            raise conflict("appeal_pending", "这条评价已有待复核的申诉")
        appeal = Appeal(hall_id=hall_id, rating_id=rating.id, reason=reason, filed_by=principal.actor,
                        filed_at=ch.now, status="pending")
        s.add(appeal)
        s.flush()
        body = appeal_dict(s, appeal)
        ch.emit("rating.appealed", case_id=rating.case_id, appeal=body)
        return body


def decide_appeal(rt: Runtime, hall_id: int, appeal_id: int, upheld: bool, note: str, principal: Principal,
                  origin: str | None = None) -> dict[str, Any]:
    note = (note or "").strip()
    if not note:
        raise bad_request("missing_field", "请写明复核意见", field="note")
    if len(note) > MAX_REASON:
        raise bad_request("field_too_long", f"复核意见最多 {MAX_REASON} 个字")
    with change(rt, hall_id, principal.actor, origin) as ch:
        s = ch.session
        appeal = of_hall(s.scalar(select(Appeal).where(Appeal.id == appeal_id).with_for_update()), hall_id, Appeal)
        if appeal.status != "pending":
            raise conflict("already_decided", "这条申诉已经复核过了")
        if appeal.filed_by == principal.actor:
            raise forbidden("own_appeal", "申诉人不能复核自己提出的申诉，请由其他督查人员复核")
        appeal.status = "upheld" if upheld else "rejected"
        appeal.decided_by, appeal.decided_at, appeal.decision_note = principal.actor, ch.now, note
        rating = s.get(Rating, appeal.rating_id)
        if upheld:
            rating.voided, rating.voided_at, rating.void_kind = True, ch.now, "appeal"
            rating.void_reason = f"申诉成立：{appeal.reason}（复核意见：{note}）"
            follow_up = s.scalar(select(FollowUp).where(FollowUp.rating_id == rating.id))
            if follow_up is not None and follow_up.stage not in ("closed", "voided"):
                follow_up.stage, follow_up.closed_at = "voided", ch.now
                s.add(FollowUpStep(follow_up_id=follow_up.id, stage="voided", actor=principal.actor,
                                   note="申诉成立，差评作废，整改终止", at=ch.now))
        s.flush()
        body = appeal_dict(s, appeal)
        ch.emit("rating.appeal_decided", case_id=rating.case_id, appeal=body)
        return body
