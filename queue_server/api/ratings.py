"""好差评 API: ratings from every channel, what the rating pages and device need, 差评 follow-ups,
申诉复核, the slip box opening and the SMS outbox."""
import re
from urllib.parse import urlsplit

from flask import g, jsonify, request
from sqlalchemy import select

from .. import auth, lookups
from ..clock import iso
from ..errors import HallError, bad_request, not_found
from ..identity import mask_phone
from ..models import Case, Event, Ticket
from ..ratings import appeals, followups, slips
from ..ratings.levels import catalogue
from ..ratings.links import open_link
from ..ratings.models import Appeal, FollowUp, Rating, SmsMessage
from ..scoping import in_hall
from ..ratings.service import RatingRequest, case_rating_state, check_level, submit_rating
from ..ratings.settings import rating_settings
from ..ratings.sms import sender
from ..ratings.shapes import appeal_dict, follow_up_dict, rating_dict
from ..shapes import case_dict
from ..supervision.audit import mark
from ..supervision.models import Suspension
from . import api
from .common import field, json_body, runtime

SUPERVISORS = ("supervisor", "admin")


def _origin() -> str:
    return request.remote_addr or ""


@api.get("/ratings/levels")
def rating_levels():
    """The five levels and their tags (public: every rating page shows them)."""
    return jsonify(catalogue())


@api.post("/ratings")
def rate():
    """One rating. device: rater token; sms: `link`; web: `query_code`. Slips only through a slip
    batch's scan (their barcode's ballot code), never here."""
    rt = runtime()
    body = json_body()
    principal = auth.authenticate(rt, auth.bearer_token())
    g.principal = principal
    tags = body.get("tags")
    if tags is not None and not isinstance(tags, list):
        raise bad_request("invalid_tags", "标签应为文字列表")
    req = RatingRequest(
        level=body.get("level"), channel=field(body, "channel", str, required=True, max_len=16),
        case_id=field(body, "case_id", int), tags=tags,
        comment=field(body, "comment", str, max_len=2000, default=""),
        node=field(body, "node", str, max_len=16, default="finish"),
        link=field(body, "link", str, max_len=64), query_code=field(body, "query_code", str, max_len=32))
    if req.level is None:
        raise bad_request("missing_field", "缺少必填字段 level", field="level")
    if req.channel == "web":   # a query code from anyone: guessing is slow (lookups.py)
        lookups.guard()
    try:
        return jsonify({"rating": submit_rating(rt, req, principal, _origin())}), 201
    except HallError as exc:
        if req.channel == "web" and exc.code == "invalid_query_code":
            lookups.missed()
        raise


@api.get("/ratings/device")
@auth.require("rater")
def device_case():
    """For a window's rating device: the case it may rate now (its window's last, just finished)."""
    rt = runtime()
    p = g.principal
    limit = rating_settings(rt, p.hall_id).device_seconds
    with rt.read() as s:
        now = rt.clock.now()
        case = s.scalar(select(Case).where(Case.window_id.in_(p.window_ids), Case.finished_at.is_not(None))
                        .order_by(Case.finished_at.desc(), Case.id.desc()).limit(1)) if p.window_ids else None
        if case is None or (now - case.finished_at).total_seconds() > limit:
            return jsonify({"case": None, "levels": catalogue()["levels"]})
        ticket = s.get(Ticket, case.ticket_id)
        state = case_rating_state(rt, s, case, "device")
        return jsonify({"case": case_dict(s, case) | {"ticket_number": ticket.number if ticket else None, **state},
                        "seconds_left": max(0, int(limit - (now - case.finished_at).total_seconds())),
                        "levels": catalogue()["levels"]})


@api.get("/ratings/web/<code>")
def web_state(code: str):
    """For the QR progress page: the ticket's case and whether it can be rated on the web now."""
    rt = runtime()
    lookups.guard()
    with rt.read() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.query_code == code[:32].upper()))
        if ticket is None:
            lookups.missed()
            raise not_found("unknown_ticket", "没有找到这张号票，请核对查询码")
        case = s.scalar(select(Case).where(Case.ticket_id == ticket.id))
        if case is None:   # a 补正 visit whose case was accepted at a later visit: the slip still finds it
            later = s.scalar(select(Event.case_id).where(Event.ticket_id == ticket.id, Event.case_id.is_not(None))
                             .order_by(Event.seq.desc()).limit(1))
            case = s.get(Case, later) if later is not None else None
        if case is None:
            return jsonify({"case": None, "finished": False, "rated": False, "rating": None})
        suspended = s.scalar(select(Suspension.reason).where(Suspension.case_id == case.id,
                                                             Suspension.ended_at.is_(None)))
        return jsonify({"case": case_dict(s, case) | {"suspended": suspended is not None,
                                                      "suspension_reason": suspended},
                        **case_rating_state(rt, s, case, "web")})


@api.get("/ratings/link/<token>")
def link_state(token: str):
    """For the SMS rating page: what this link rates (refuses forged, used, expired links)."""
    rt = runtime()
    with rt.read() as s:
        invitation = open_link(s, rt.secret, token[:64], rt.clock.now())
        case = s.get(Case, invitation.case_id)
        return jsonify({"case": case_dict(s, case), "expires_at": iso(invitation.expires_at),
                        **case_rating_state(rt, s, case, "sms")})


@api.get("/ratings")
@auth.require(*SUPERVISORS)
def list_ratings():
    rt = runtime()
    h = g.principal.hall_id
    q = select(Rating).where(Rating.hall_id == h)
    case_id = request.args.get("case_id", type=int)
    if case_id is not None and not 0 < case_id < 2**62:
        raise bad_request("invalid_field", "case_id 应为办件编号", field="case_id")
    if case_id:
        q = q.where(Rating.case_id == case_id)
    if request.args.get("bad") == "1":
        q = q.where(Rating.level <= 2)
    limit = max(1, min(request.args.get("limit", 200, type=int) or 200, 1000))
    with rt.read() as s:
        return jsonify({"ratings": [rating_dict(s, r) for r in s.scalars(q.order_by(Rating.id.desc()).limit(limit))]})


# --- 申诉复核 -----------------------------------------------------------------------------------

@api.post("/ratings/<int:rating_id>/appeal")
@auth.require("clerk", *SUPERVISORS)
def appeal(rating_id: int):
    reason = field(json_body(), "reason", str, required=True, max_len=2000)
    body = appeals.file_appeal(runtime(), g.principal.hall_id, rating_id, reason, g.principal, _origin())
    return jsonify({"appeal": body}), 201


@api.get("/appeals")
@auth.require(*SUPERVISORS)
def list_appeals():
    rt = runtime()
    q = select(Appeal).where(Appeal.hall_id == g.principal.hall_id)
    if request.args.get("status"):
        q = q.where(Appeal.status == request.args["status"])
    with rt.read() as s:
        return jsonify({"appeals": [appeal_dict(s, a) for a in s.scalars(q.order_by(Appeal.id.desc()).limit(500))]})


@api.post("/appeals/<int:appeal_id>/decide")
@auth.require(*SUPERVISORS)
def decide(appeal_id: int):
    body = json_body()
    decision = field(body, "decision", str, required=True, max_len=16)
    if decision not in ("upheld", "rejected"):
        raise bad_request("invalid_decision", "复核结论应为 upheld（申诉成立）或 rejected（申诉不成立）")
    note = field(body, "note", str, required=True, max_len=2000)
    return jsonify({"appeal": appeals.decide_appeal(runtime(), g.principal.hall_id, appeal_id,
                                                    decision == "upheld", note, g.principal, _origin())})


# --- 差评整改 -----------------------------------------------------------------------------------

@api.get("/follow-ups")
@auth.require("clerk", *SUPERVISORS)
def list_follow_ups():
    rt = runtime()
    q = select(FollowUp).where(FollowUp.hall_id == g.principal.hall_id)
    state = request.args.get("state", "open")
    if state == "open":
        q = q.where(FollowUp.stage.in_(("verify", "fix", "callback")))
    elif state == "closed":
        q = q.where(FollowUp.stage.in_(("closed", "voided")))
    with rt.read() as s:
        departments = followups.clerk_departments(s, g.principal)   # a clerk: their department's only
        if departments is not None:
            q = q.where(FollowUp.department_id.in_(departments))
        now = rt.clock.now()
        return jsonify({"follow_ups": [follow_up_dict(s, f, now)
                                       for f in s.scalars(q.order_by(FollowUp.due_at, FollowUp.id).limit(500))]})


@api.get("/follow-ups/<int:follow_up_id>")
@auth.require("clerk", *SUPERVISORS)
def show_follow_up(follow_up_id: int):
    rt = runtime()
    with rt.read() as s:
        f = in_hall(s, FollowUp, follow_up_id, g.principal.hall_id)
        departments = followups.clerk_departments(s, g.principal)
        if departments is not None and f.department_id not in departments:   # as if not there
            raise not_found("unknown_follow_up", "没有这条差评整改记录")
        return jsonify({"follow_up": follow_up_dict(s, f, rt.clock.now())})


@api.post("/follow-ups/<int:follow_up_id>/<step>")
@auth.require("clerk", *SUPERVISORS)
def follow_up_step(follow_up_id: int, step: str):
    body = json_body()
    return jsonify({"follow_up": followups.advance(
        runtime(), g.principal.hall_id, follow_up_id, step, field(body, "note", str, required=True, max_len=2000),
        g.principal, fix_rating=field(body, "fix_rating", str, max_len=8), origin=_origin())})


# --- 投箱评议 -----------------------------------------------------------------------------------

@api.post("/slips/batches")
@auth.require(*SUPERVISORS)
def open_slip_batch():
    return jsonify({"batch": slips.open_batch(runtime(), g.principal, _origin())}), 201


@api.get("/slips/batches/<int:batch_id>")
@auth.require(*SUPERVISORS)
def show_slip_batch(batch_id: int):
    return jsonify({"batch": slips.show_batch(runtime(), g.principal.hall_id, batch_id)})


@api.post("/slips/batches/<int:batch_id>/scan")
@auth.require(*SUPERVISORS)
def scan_slip(batch_id: int):
    body = json_body()
    code = field(body, "code", str, required=True, max_len=64)
    level = body.get("level")
    if level is not None:
        level = check_level(level)
    return jsonify(slips.scan(runtime(), g.principal, batch_id, code, level, _origin()))


@api.post("/slips/batches/<int:batch_id>/close")
@auth.require(*SUPERVISORS)
def close_slip_batch(batch_id: int):
    return jsonify({"batch": slips.close_batch(runtime(), g.principal, batch_id, _origin())})


# --- 短信发件箱 ---------------------------------------------------------------------------------

_LINK = re.compile(r"/r/[0-9a-z]+\.[A-Za-z0-9_-]+")


def shown_text(text: str) -> str:
    """The message as staff see it: the rating link's token hidden. It is the citizen's one
    rating; whoever reads the outbox must not be able to use it."""
    return _LINK.sub("/r/••••••（链接已隐藏）", text)


def _message_dict(m: SmsMessage) -> dict:
    return {"id": m.id, "phone": mask_phone(m.phone), "text": shown_text(m.text), "status": m.status,
            "attempts": m.attempts, "created_at": iso(m.created_at), "next_attempt_at": iso(m.next_attempt_at),
            "sent_at": iso(m.sent_at), "gateway": m.gateway, "provider_id": m.provider_id,
            "last_error": m.last_error}


def _gateway_shown(url: str) -> str:
    """The gateway without its credentials (user:password, API keys in the query)."""
    parts = urlsplit(url)
    if not parts.netloc:
        return url
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


@api.get("/sms/outbox")
@auth.require(*SUPERVISORS)
def outbox():
    rt = runtime()
    q = select(SmsMessage).where(SmsMessage.hall_id == g.principal.hall_id)
    if request.args.get("status"):
        q = q.where(SmsMessage.status == request.args["status"])
    mark("sms.outbox_viewed")
    with rt.read() as s:
        return jsonify({"gateway": _gateway_shown(rating_settings(rt, g.principal.hall_id).sms_gateway),
                        "messages": [_message_dict(m) for m in s.scalars(q.order_by(SmsMessage.id.desc()).limit(300))]})


@api.post("/sms/outbox/<int:message_id>/<action>")
@auth.require("admin")
def outbox_action(message_id: int, action: str):
    if action not in ("retry", "mark-sent"):
        raise not_found("unknown_action", "操作应为 retry（重发）或 mark-sent（标记为已发送）")
    m = sender.requeue(runtime(), g.principal.hall_id, message_id, mark_sent=action == "mark-sent")
    if m is None:
        raise not_found("unknown_message", "没有这条待处理（失败、待核实或限流未发）的短信")
    return jsonify({"message": _message_dict(m)})
