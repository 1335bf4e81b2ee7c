"""差评整改: every 差评 is verified (核实), fixed (整改) and the rater called back (回访), who then
rates the fix (满意/基本满意/不满意). The deadline is counted in working days from the 差评, so a
差评 on the eve of National Day is due after the holiday (行政许可法 §82 style counting)."""
from __future__ import annotations


from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth import Principal
from ..changes import change
from ..deadlines import count_due
from .. import schemas
from ..errors import bad_request, conflict, forbidden
from ..models import Window
from ..runtime import Runtime
from .levels import FIX_RATINGS
from .models import FollowUp, FollowUpStep, Rating
from .settings import rating_settings
from .shapes import STAGE_WORDS, follow_up_dict
from ..scoping import of_hall

# The step a follow-up waits for → the step after it.
NEXT_STAGE = {"verify": "fix", "fix": "callback", "callback": "closed"}
MAX_NOTE = 1000


def open_follow_up(rt: Runtime, s: Session, rating: Rating, now) -> FollowUp:
    cfg = rt.hall_config(rating.hall_id)
    days = rating_settings(rt, rating.hall_id).follow_up_days
    due = count_due(rt.calendar, cfg, now, days)
    follow_up = FollowUp(hall_id=rating.hall_id, rating_id=rating.id, case_id=rating.case_id,
                         department_id=rating.department_id, stage="verify", opened_at=now, due_at=due.at,
                         due_days=days, due_guessed=due.guessed)
    s.add(follow_up)
    s.flush()
    s.add(FollowUpStep(follow_up_id=follow_up.id, stage="opened", actor="system",
                       note=f"差评自动立案，{days}个工作日内办结", at=now))
    return follow_up


def clerk_departments(s: Session, principal: Principal) -> set[int] | None:
    """The departments whose follow-ups a principal sees: a clerk's windows' (none without a
    window); None for supervisors and admins (the whole hall)."""
    if principal.role != "clerk":
        return None
    if not principal.window_ids:
        return set()
    return {d for d in s.scalars(select(Window.department_id).where(Window.id.in_(principal.window_ids)))
            if d is not None}


def _may_act(s: Session, principal: Principal, follow_up: FollowUp) -> None:
    """Supervisors and admins; clerks of a window of the department the follow-up is assigned to,
    except the clerk who served the rated case: nobody verifies, fixes and closes their own 差评,
    nor records the citizen's verdict on it."""
    if principal.role in ("supervisor", "admin"):
        return
    rating = s.get(Rating, follow_up.rating_id)
    own = rating is not None and (rating.staff_id == principal.staff_id if rating.staff_id is not None
                                  else rating.window_id in principal.window_ids)
    if principal.role == "clerk" and own:
        raise forbidden("own_bad_rating", "这条差评针对您本人办理的事项，请由本部门其他工作人员或督查人员核实、整改和回访")
    if principal.role == "clerk" and principal.window_ids:
        departments = set(s.scalars(select(Window.department_id).where(Window.id.in_(principal.window_ids))))
        if follow_up.department_id in departments:
            return
    raise forbidden("not_your_department", "只有承办部门的工作人员或督查人员可以办理这条差评整改")


def advance(rt: Runtime, hall_id: int, follow_up_id: int, step: str, note: str, principal: Principal,
            fix_rating: str | None = None, origin: str | None = None) -> schemas.FollowUp:
    """Record one step; steps go in order verify → fix → callback (which closes it)."""
    if step not in NEXT_STAGE:
        raise bad_request("invalid_step", "步骤应为 verify（核实）、fix（整改）或 callback（回访）")
    note = (note or "").strip()
    if not note:
        raise bad_request("missing_field", "请填写办理情况说明", field="note")
    if len(note) > MAX_NOTE:
        raise bad_request("field_too_long", f"说明最多 {MAX_NOTE} 个字")
    if step == "callback" and fix_rating not in FIX_RATINGS:
        raise bad_request("invalid_fix_rating", "回访时请记录评价人对整改的评价：满意、基本满意或不满意")
    with change(rt, hall_id, principal.actor, origin) as ch:
        s = ch.session
        locked = s.scalar(select(FollowUp).where(FollowUp.id == follow_up_id).with_for_update())
        follow_up = of_hall(locked, hall_id, FollowUp)
        _may_act(s, principal, follow_up)
        if follow_up.stage != step:
            raise conflict("wrong_stage", f"这条整改当前{STAGE_WORDS.get(follow_up.stage, follow_up.stage)}，不能进行这一步")
        follow_up.stage = NEXT_STAGE[step]
        if step == "callback":
            follow_up.fix_rating, follow_up.closed_at = fix_rating, ch.now
        s.add(FollowUpStep(follow_up_id=follow_up.id, stage=step, note=note, actor=principal.actor, at=ch.now))
        s.flush()
        body = follow_up_dict(s, follow_up, ch.now)
        ch.emit("follow_up.updated", case_id=follow_up.case_id, follow_up=body)
        return body

