"""Taking a rating: who may rate which case by which channel, once, and what a 差评 starts.

Each channel proves the rater's right differently: the window's rating device by its device
token (only its window's case just finished), SMS by the signed single-use link, the web page by
the query code printed on the slip, and the slip box by a supervisor scanning the slip. The
checks that depend on the database run inside the rating's own transaction, so two posts of the
same link or the same slip cannot both succeed. 一事一评: the first rating of a node, by whichever
channel, is the one; a later one by any channel is refused (`already_rated`, naming the first),
and the partial unique index on (case, node) holds that when two channels post at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..auth import Principal
from ..changes import change
from ..errors import HallError, bad_request, conflict, forbidden, unauthorized
from ..models import Case, Ticket
from ..runtime import Runtime
from .followups import open_follow_up
from .levels import CHANNELS, LEVELS, NODES, SUBMITTED_CHANNELS, TAGS, is_bad
from .links import open_link
from .models import Rating, SmsInvitation
from .settings import rating_settings
from .shapes import follow_up_dict, rating_dict
from ..scoping import in_hall

MAX_COMMENT = 500


@dataclass
class RatingRequest:
    level: Any
    channel: str
    case_id: int | None = None
    tags: list[str] = field(default_factory=list)
    comment: str = ""
    node: str = "finish"
    link: str | None = None            # sms: the token of the invitation link
    query_code: str | None = None      # web: the query code on the slip / QR page
    slip_batch_id: int | None = None   # slip: only a slip scanned in a batch counts (slips.scan)


def check_level(level: Any) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise bad_request("invalid_level", "评价等级应为 1–5（5 非常满意、4 满意、3 基本满意、2 不满意、1 非常不满意）")
    return level


def check_tags(level: int, tags: Any) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags) or len(tags) > 10:
        raise bad_request("invalid_tags", "标签应为文字列表（最多 10 个）")
    unknown = [t for t in tags if t not in TAGS[level]]
    if unknown:
        raise bad_request("invalid_tag", f"“{unknown[0]}”不是“{LEVELS[level]}”可选的标签")
    return list(dict.fromkeys(tags))


def _check_request(req: RatingRequest) -> tuple[int, list[str], str]:
    level = check_level(req.level)
    if req.channel not in SUBMITTED_CHANNELS:
        raise bad_request("invalid_channel", "评价渠道应为 device（评价器）、sms（短信）、slip（投箱评议）或 web（网页）")
    if req.node not in NODES:
        raise bad_request("invalid_node", "评价节点应为 finish（办结）或 accept（受理）")
    comment = (req.comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise bad_request("field_too_long", f"意见最多 {MAX_COMMENT} 个字")
    return level, check_tags(level, req.tags), comment


def _resolve_case(s: Session, rt: Runtime, req: RatingRequest, principal: Principal | None,
                  now: datetime, lock: bool = False) -> tuple[Case, SmsInvitation | None, str]:
    """The case this request may rate, the invitation it uses, and the source to record."""
    if req.channel == "sms":
        invitation = open_link(s, rt.secret, req.link or "", now, lock=lock)
        if req.case_id is not None and req.case_id != invitation.case_id:
            raise HallError("invalid_link", "评价链接与办件不符", 403)
        return s.get(Case, invitation.case_id), invitation, "citizen:sms"
    if req.channel == "web":
        code = (req.query_code or "").strip().upper()
        ticket = s.scalar(select(Ticket).where(Ticket.query_code == code)) if code else None
        if ticket is None:
            raise HallError("invalid_query_code", "查询码不正确，请核对告知单上的查询码", 403)
        case = s.scalar(select(Case).where(Case.ticket_id == ticket.id))
        if case is None or (req.case_id is not None and req.case_id != case.id):
            raise conflict("case_not_finished", "该号票还没有受理办件，办结后才能评价")
        return case, None, "citizen:web"
    if principal is None:
        raise unauthorized()
    if req.channel == "device":
        if principal.role != "rater":
            raise forbidden("forbidden_role", "只有窗口评价器可以提交评价器渠道的评价")
    elif principal.role not in ("supervisor", "admin"):
        raise forbidden("forbidden_role", "投箱评议由督查人员或管理员录入")
    if req.channel == "slip" and req.slip_batch_id is None:
        raise bad_request("slip_needs_batch", "投箱评议单只能在开箱评议时扫描条码录入"
                          "（POST /slips/batches，再逐张 /slips/batches/<id>/scan）")
    if req.case_id is not None:
        case = in_hall(s, Case, req.case_id, principal.hall_id)
    else:
        raise bad_request("missing_field", "缺少必填字段 case_id", field="case_id")
    return case, None, principal.actor


def _check_case(s: Session, rt: Runtime, req: RatingRequest, case: Case, principal: Principal | None,
                now: datetime) -> None:
    if req.node == "finish" and case.status != "finished":
        raise conflict("case_not_finished", f"办件 {case.number} 尚未办结，办结后才能评价")
    if req.node == "accept" and case.kind == "即办件":
        raise bad_request("invalid_node", "即办件只在办结时评价一次")
    if req.channel == "web" and web_expired(rt, case, req.node, now):
        days = rating_settings(rt, case.hall_id).web_days
        raise HallError("link_expired", f"网上评价已过期（{NODES.get(req.node, req.node)}后 {days} 天内可评价）", 410)
    if req.channel != "device":
        return
    if case.window_id not in principal.window_ids:
        raise forbidden("not_your_window", "评价器只能评价本窗口办理的事项")
    stamp = Case.finished_at if req.node == "finish" else Case.accepted_at
    latest = s.scalar(select(Case.id).where(Case.window_id == case.window_id, stamp.is_not(None))
                      .order_by(stamp.desc(), Case.id.desc()).limit(1))
    when = case.finished_at if req.node == "finish" else case.accepted_at
    limit = rating_settings(rt, case.hall_id).device_seconds
    if latest != case.id or when is None or now - when > timedelta(seconds=limit):
        raise conflict("rating_closed", "本次评价已结束（评价器只能评价本窗口刚办结的事项）")


def submit_rating(rt: Runtime, req: RatingRequest, principal: Principal | None = None,
                  origin: str | None = None) -> dict[str, Any]:
    """Record one rating; a 差评 opens its follow-up in the same change."""
    level, tags, comment = _check_request(req)
    with rt.read() as s:  # which hall: the change must be opened for it
        case, _, source = _resolve_case(s, rt, req, principal, rt.clock.now())
        hall_id, case_id = case.hall_id, case.id
    try:
        with change(rt, hall_id, source, origin) as ch:
            s = ch.session
            case, invitation, source = _resolve_case(s, rt, req, principal, ch.now, lock=True)
            _check_case(s, rt, req, case, principal, ch.now)
            first = counted_rating(s, case.id, req.node)
            if first is not None:
                raise already_rated(first, req.node)
            rating = Rating(hall_id=case.hall_id, case_id=case.id, ticket_id=case.ticket_id,
                            matter_id=case.matter_id, window_id=case.window_id, staff_id=case.staff_id,
                            department_id=case.department_id, channel=req.channel, level=level,
                            node=req.node, tags=tags, comment=comment, rated_at=ch.now,
                            source=source, slip_batch_id=req.slip_batch_id)
            s.add(rating)
            s.flush()
            if invitation is not None:
                invitation.used_at, invitation.rating_id = ch.now, rating.id
            _supersede_default(s, rating)
            follow_up = open_follow_up(rt, s, rating, ch.now) if is_bad(level) else None
            body = rating_dict(s, rating)
            ch.emit("rating.received", ticket_id=case.ticket_id, case_id=case.id, window_id=case.window_id,
                    rating=body, follow_up=follow_up_dict(s, follow_up, ch.now) if follow_up else None)
        return body
    except IntegrityError:
        # Another channel's rating of this node committed first (ux_ratings_case_node).
        with rt.read() as s:
            first = counted_rating(s, case_id, req.node)
        if first is None:
            raise
        raise already_rated(first, req.node) from None


def counted_rating(s: Session, case_id: int, node: str) -> Rating | None:
    """The citizen's rating of this case at this node, if any (一事一评: the first, by any channel)."""
    return s.scalar(select(Rating).where(Rating.case_id == case_id, Rating.node == node,
                                         Rating.is_default.is_(False),
                                         (Rating.void_kind.is_(None)) | (Rating.void_kind != "duplicate")))


def already_rated(first: Rating, node: str) -> HallError:
    return conflict("already_rated",
                    f"该办件的{NODES.get(node, node)}环节已于{first.rated_at:%Y-%m-%d %H:%M}通过"
                    f"{CHANNELS.get(first.channel, first.channel)}评价过。一事一评，每个环节只能评价一次，"
                    "以最先收到的评价为准")


def _supersede_default(s: Session, rating: Rating) -> None:
    """A real rating arriving after the default (e.g. a slip from the monthly box opening) wins."""
    default = s.scalar(select(Rating).where(Rating.case_id == rating.case_id, Rating.node == rating.node,
                                            Rating.channel == "default", Rating.voided.is_(False)))
    if default is not None:
        default.voided, default.voided_at, default.void_kind = True, rating.rated_at, "superseded"
        default.void_reason = f"收到{CHANNELS.get(rating.channel, rating.channel)}评价，默认评价不再计入"


def web_expired(rt: Runtime, case: Case, node: str, now: datetime) -> bool:
    """The QR page's rating expires like an SMS link: `[ratings] web_days` after the node."""
    when = case.finished_at if node == "finish" else case.accepted_at
    return when is not None and now - when > timedelta(days=rating_settings(rt, case.hall_id).web_days)


def case_rating_state(rt: Runtime, s: Session, case: Case, channel: str) -> dict[str, Any]:
    """What a rating page needs to know about a case: can it be rated by this channel now?"""
    rated = counted_rating(s, case.id, "finish")
    state = {"finished": case.status == "finished", "rated": rated is not None,
             "rating": rating_dict(s, rated) if rated is not None else None}
    if channel == "web":
        state["expired"] = web_expired(rt, case, "finish", rt.clock.now())
    return state
