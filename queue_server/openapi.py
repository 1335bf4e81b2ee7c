"""The OpenAPI 3.1 description of /api/v1: routes by hand, answers' shapes from `schemas.py`.

The tickets, cases, windows, ratings and the other things the answers carry are generated from
their declared types (`shape_schemas`, refs under #/components/schemas), so the document says
what the code builds. The rest lives in the tables below: the request bodies (field names,
types, which are required and the `max_len` each view passes to `api.common.field()`), the
error and principal shapes, and one row per route (method, path, who may call it, body, answers).
`tests/security/test_openapi.py` checks the rows against `app.url_map` and the bodies' required
fields against what the views answer, so a route or a field added to the code and not here
fails the tests.
"""
from __future__ import annotations

import copy
import re
from typing import Any

from flask import Flask, current_app, jsonify

from . import schemas

API_PREFIX = "/api/v1"

# --- shared shapes -------------------------------------------------------------------------------

STR = {"type": "string"}
INT = {"type": "integer"}
ID = {"type": "integer", "minimum": 1}
WHEN = {"type": ["string", "null"], "format": "date-time"}
OBJ = {"type": "object"}


def _s(max_len: int, **extra: Any) -> dict:
    return {"type": "string", "maxLength": max_len, **extra}


def _obj(required: list[str] | None = None, **props: Any) -> dict:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


ERROR_CODES = [
    # from the HTTP layer (app._HTTP_CODES) and api.common
    "bad_request", "unauthorized", "forbidden", "not_found", "method_not_allowed", "payload_too_large",
    "unsupported_media_type", "too_many_requests", "invalid_json", "invalid_body", "missing_field",
    "invalid_field", "field_too_long", "unknown_hall", "hall_required", "forbidden_role",
    "not_your_window", "login_locked", "database_unavailable", "storage_full", "invalid_characters",
    # tickets and windows
    "unknown_matter", "unknown_ticket", "unknown_window", "invalid_priority", "invalid_phone",
    "invalid_id_number", "queue_empty", "window_busy", "window_paused", "wrong_state",
    "no_current_ticket", "invalid_transfer", "already_requeued", "ticket_expired", "not_this_window",
    "hall_closed", "matter_closed_today", "quota_full", "id_limit_reached", "already_checked_in",
    "too_many_tickets", "id_too_frequent",
    # staffed windows (staffing.py), transfers only where they can be done, 老年人 checked by ID
    "window_closed", "window_not_serving", "same_matter", "no_open_window", "not_elderly",
    # ratings, appeals, follow-ups, slips, SMS
    "invalid_level", "invalid_tags", "invalid_tag", "case_not_finished", "already_rated",
    "invalid_link", "link_expired", "link_used", "invalid_decision", "invalid_step", "unknown_follow_up",
    "slip_needs_batch", "own_bad_rating", "not_your_department",
    "unknown_action", "unknown_message", "unknown_code",
    # supervision and devices
    "invalid_period", "invalid_group", "invalid_filter", "invalid_key", "invalid_format",
    "invalid_month", "devices_only", "invalid_status", "unknown_device", "device_revoked",
    # web hardening: a state-changing request from a page of another site
    "cross_origin",
]

# --- request bodies: what each view reads with field() ------------------------------------------

PRIORITIES = ["elderly", "disabled", "military", "pregnant", "appointment"]

BODIES: dict[str, dict] = {
    "Login": _obj(["username", "password"], username=_s(64), password=_s(200),
                  hall=_s(32, description="the hall's code, when several halls share a user name")),
    "IssueTicket": _obj(["matter_id"], matter_id=ID,
                        priority=_s(16, enum=PRIORITIES), phone=_s(20, description="11-digit mobile"),
                        id_number=_s(24, description="18-character resident ID"),
                        request_id=_s(64, description="idempotency key: the same one returns the same ticket")),
    "Requeue": _obj(["ticket_id"], ticket_id=ID),
    "Transfer": {**_obj(None, to_window=ID, to_matter=ID),
                 "description": "exactly one of to_window, to_matter (else 400 invalid_transfer)"},
    "BookAppointment": _obj(["matter_id", "id_number", "slot_start"], matter_id=ID, id_number=_s(24),
                            slot_start=_s(40, description="ISO date-time of a 30-minute slot"),
                            phone=_s(20)),
    "CheckIn": {**_obj(None, code=_s(16), id_number=_s(24), request_id=_s(64)),
                "description": "code or id_number (neither: 400 missing_field)",
                "x-required-one-of": ["code", "id_number"]},
    "Rate": _obj(["channel", "level"],
                 channel=_s(16, enum=["device", "sms", "web", "slip"],
                            description="slip: refused here (400 slip_needs_batch); slips count only "
                                        "when scanned in a slip batch"),
                 level={"type": "integer", "minimum": 1, "maximum": 5},
                 case_id=ID, tags={"type": "array", "items": STR},
                 comment=_s(2000), node=_s(16, default="finish"),
                 link=_s(64, description="sms channel: the signed link token"),
                 query_code=_s(32, description="web channel: the code on the slip")),
    "Appeal": _obj(["reason"], reason=_s(2000)),
    "Decide": _obj(["decision", "note"], decision=_s(16, enum=["upheld", "rejected"]), note=_s(2000)),
    "FollowUpStep": _obj(["note"], note=_s(2000),
                         fix_rating=_s(8, description="callback step: the citizen's view of the fix")),
    "SlipScan": _obj(["code"], code=_s(64), level={"type": ["integer", "null"], "minimum": 1, "maximum": 5}),
    "Suspend": _obj(["reason"], reason=_s(300)),
    "Accept": _obj(None, case_id=ID, finish={"type": "boolean", "default": False}),
    "Correct": _obj(["missing"], missing={"type": "array", "minItems": 1, "items": STR,
                                          "description": "the matter's own materials that are missing"}),
    "Refuse": _obj(["reason"], reason=_s(300)),
    "PrintNotice": _obj(None, window_id=ID, profile=_s(40)),
    "Deliver": _obj(["how"], how=_s(8, enum=["window", "mail"]), note=_s(200, description="mail: tracking number")),
    "Heartbeat": _obj(None, status={"type": "object", "maxProperties": 20,
                                    "additionalProperties": {"type": ["string", "integer", "number", "boolean", "null"]}}),
}

# A minimal valid body per schema (used by the documentation's examples and the tests).
EXAMPLES: dict[str, dict] = {
    "Login": {"username": "clerk01", "password": "******"},
    "IssueTicket": {"matter_id": 1},
    "Requeue": {"ticket_id": 1},
    "Transfer": {"to_window": 2},
    "BookAppointment": {"matter_id": 1, "id_number": "11010519491231002X", "slot_start": "2026-03-11T09:00"},
    "CheckIn": {"code": "AB12CD34"},
    "Rate": {"channel": "web", "level": 5, "query_code": "ABCD1234"},
    "Appeal": {"reason": "评价人误操作"},
    "Decide": {"decision": "upheld", "note": "核实属实"},
    "FollowUpStep": {"note": "已核实"},
    "SlipScan": {"code": "ABCD1234"},
    "Suspend": {"reason": "补正材料"},
    "Accept": {},
    "Correct": {"missing": ["公司章程（原件1份）"]},
    "Refuse": {"reason": "不属于本机关职权范围"},
    "Deliver": {"how": "window"},
    "PrintNotice": {"window_id": 1},
    "Heartbeat": {"status": {"printer": "ok"}},
}

# --- the routes ----------------------------------------------------------------------------------
# (method, path, roles, summary, body, {status: response schema}, extra error codes, query params)
# roles: None = public; () = any valid token; otherwise the roles (staff roles or device kinds).
# "optional" = public, but a token adds what the caller's hall may see.

ANY_TOKEN: tuple = ()
SUP = ("supervisor", "admin")
CLERK = ("clerk", "admin")
READERS = ("admin", "kiosk", "clerk", "supervisor")


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _wrap(key: str, schema: dict) -> dict:
    return _obj([key], **{key: schema})


def _list(key: str, name: str) -> dict:
    return _wrap(key, {"type": "array", "items": _ref(name)})


Q = dict  # query parameter: name -> schema

ROUTES: list[tuple] = [
    ("post", "/auth/login", None, "登录 (staff)", "Login",
     {200: _obj(["token", "expires_in", "staff"], token=STR, expires_in=INT, staff=OBJ)},
     ["login_locked", "hall_required"], {}),
    ("post", "/auth/refresh", ("clerk", "supervisor", "admin"),
     "续期 (staff): a new token with a fresh expiry; the old one stops working at once", None,
     {200: _obj(["token", "expires_in"], token=STR, expires_in=INT)}, [], {}),
    ("post", "/auth/logout", ANY_TOKEN, "注销 (staff tokens only)", None, {200: _wrap("ok", {"const": True})}, [], {}),
    ("get", "/me", ANY_TOKEN, "who am I", None, {200: _ref("Principal")}, [], {}),
    ("get", "/matters", "optional", "事项目录", None,
     {200: _obj(["hall", "departments", "matters", "windows"], hall=OBJ, departments={"type": "array"},
                matters={"type": "array"}, windows={"type": "array"})},
     ["unknown_hall", "hall_required"], {"hall": _s(32)}),
    ("get", "/matters/availability", "optional", "which matters take tickets now", None, {200: OBJ},
     ["unknown_hall", "hall_required"], {"hall": _s(32)}),
    ("post", "/tickets", ("kiosk", "admin"), "取号", "IssueTicket",
     {201: _wrap("ticket", _ref("Ticket")), 200: _wrap("ticket", _ref("Ticket"))},
     ["unknown_matter", "invalid_priority", "invalid_phone", "invalid_id_number", "hall_closed",
      "matter_closed_today", "quota_full", "id_limit_reached",
      "too_many_tickets", "id_too_frequent", "not_elderly"], {}),  # both 429, with detail.retry_after (seconds)
    ("get", "/tickets/{ref}", "optional",
     "a ticket by id (hall token) or by its query code (anyone; no personal data)", None,
     {200: _obj(["ticket", "history"], ticket=_ref("Ticket"), history={"type": "array"})}, ["unknown_ticket"], {}),
    ("get", "/queue", ANY_TOKEN, "queue snapshot", None,
     {200: _obj(["seq"], seq=INT)}, [], {}),
    ("get", "/windows", ANY_TOKEN, "windows with state and waiting counts", None, {200: _list("windows", "Window")}, [], {}),
    ("get", "/windows/{window_id}/skipped", CLERK, "today's no-shows at this window", None,
     {200: _list("tickets", "Ticket")}, [], {}),
    ("get", "/windows/{window_id}/transfer-targets", CLERK,
     "where the called ticket may go: open windows serving its matter, matters with an open window", None,
     {200: _obj(["ticket", "windows", "matters"], ticket={"type": "object"}, windows={"type": "array"},
                matters={"type": "array"})}, ["no_current_ticket", "unknown_window"], {}),
    *[("post", f"/windows/{{window_id}}/{op}", CLERK, words, body, {200: _wrap(key, _ref(schema))}, codes, {})
      for op, words, body, key, schema, codes in [
          ("call-next", "叫号 (on a closed window: signs the caller in first)", None, "ticket", "Ticket",
           ["queue_empty", "window_busy", "window_paused", "unknown_window"]),
          ("recall", "重呼", None, "ticket", "Ticket", ["no_current_ticket", "wrong_state", "unknown_window"]),
          ("skip", "过号", None, "ticket", "Ticket", ["no_current_ticket", "wrong_state", "unknown_window"]),
          ("requeue", "过号重排 (once)", "Requeue", "ticket", "Ticket",
           ["unknown_ticket", "wrong_state", "already_requeued", "ticket_expired", "not_this_window"]),
          ("transfer", "转窗口 / 转事项", "Transfer", "ticket", "Ticket",
           ["invalid_transfer", "unknown_window", "unknown_matter", "no_current_ticket", "wrong_state",
            "window_not_serving", "window_closed", "window_paused", "same_matter", "no_open_window"]),
          ("pause", "暂停", None, "window", "WindowBrief", ["wrong_state", "unknown_window"]),
          ("sign-in", "签到: the window opens to citizens (again: the idle clock restarts)", None, "window",
           "WindowBrief", ["unknown_window"]),
          ("sign-out", "签退: the window closes (未开放)", None, "window", "WindowBrief",
           ["window_closed", "window_busy", "unknown_window"]),
          ("resume", "恢复", None, "window", "WindowBrief", ["wrong_state", "unknown_window"]),
      ]],
    *[("post", f"/windows/{{window_id}}/{op}", CLERK, words, body,
       {200: _obj(["case", "ticket"], case=_ref("Case"), ticket=_ref("Ticket"))}, codes, {})
      for op, words, body, codes in [
          ("accept", "受理 (承诺件: the visit ends; finish=true: 即办件 done in one step)", "Accept",
           ["no_current_ticket", "wrong_state", "unknown_window", "unknown_case", "wrong_matter"]),
          ("correct", "补正: the missing materials; no clock", "Correct",
           ["no_current_ticket", "wrong_state", "unknown_window", "missing_materials", "unknown_material"]),
          ("refuse", "不予受理", "Refuse", ["no_current_ticket", "wrong_state", "unknown_window"]),
          ("finish", "办结 (the 即办件 being served)", None, ["no_current_ticket", "wrong_state", "unknown_window"]),
      ]],
    ("get", "/cases", ("clerk", *SUP), "办件台: cases after their visits, open ones by due time", None,
     {200: _obj(["cases", "total"], cases={"type": "array", "items": _ref("Case")}, total=INT, now=WHEN)},
     ["invalid_scope", "invalid_status", "invalid_light", "invalid_field"],
     {"scope": {"type": "string", "enum": ["window", "department", "hall"]}, "status": _s(20),
      "light": {"type": "string", "enum": ["red", "yellow"]}, "q": _s(60), "matter_id": INT,
      "limit": INT, "offset": INT}),
    ("get", "/cases/{case_id}", ("clerk", *SUP), "one case with its history", None,
     {200: _obj(["case", "history"], case=_ref("Case"), history={"type": "array"}, suspensions={"type": "array"})},
     ["unknown_case", "not_your_department"], {}),
    *[("post", f"/cases/{{case_id}}/{op}", ("clerk", *SUP), words, body, {200: _wrap("case", _ref("Case"))},
       ["unknown_case", "not_your_department", "wrong_state"] + codes, {})
      for op, words, body, codes in [
          ("finish", "办结 at the desk (the SMS rating invitation follows)", None, ["case_suspended", "at_the_window"]),
          ("accept", "材料补齐: 受理, the clock starts", None, []),
          ("refuse", "不予受理", "Refuse", []),
          ("deliver", "出件: picked up at a window or mailed", "Deliver", ["invalid_delivery", "already_delivered"]),
      ]],
    ("get", "/cases/{case_id}/correction-notice", ("clerk", *SUP),
     "一次性补正告知单: PNG (default) or the printer's ESC/POS bytes", None, {200: OBJ},
     ["unknown_case", "no_correction", "invalid_format", "invalid_profile"],
     {"format": {"type": "string", "enum": ["png", "escpos"]}, "profile": _s(40)}),
    ("post", "/cases/{case_id}/correction-notice/print", ("clerk", *SUP),
     "一次性补正告知单 on a window's desk printer (`[[windows]] printer`); printed, or sent but unconfirmed",
     "PrintNotice",
     {200: _obj(["outcome", "message", "window"], outcome={"type": "string", "enum": ["printed", "unconfirmed"]},
                message=STR, window=INT)},
     ["unknown_case", "not_your_department", "no_correction", "unknown_window", "no_desk_printer",
      "invalid_profile", "printer_failed"], {}),
    ("post", "/appointments", ("admin",), "预约", "BookAppointment",
     {201: _wrap("appointment", _ref("Appointment"))}, ["unknown_matter", "invalid_id_number"], {}),
    ("get", "/appointments/slots", READERS, "a day's slots for a matter", None,
     {200: _obj(["slots", "capacity", "minutes"], slots={"type": "array"}, capacity=INT, minutes=INT)}, [],
     {"matter_id": {"type": "string", "pattern": "^[0-9]+$"}, "date": {"type": "string", "format": "date"}}),
    ("get", "/appointments/{code}", READERS, "one booking", None, {200: _wrap("appointment", _ref("Appointment"))}, [], {}),
    ("post", "/appointments/{code}/cancel", ("admin",), "取消预约 (≥ 2 h before)", None,
     {200: _wrap("appointment", _ref("Appointment"))}, [], {}),
    ("post", "/appointments/check-in", ("kiosk", "admin"), "预约签到 → ticket", "CheckIn",
     {201: _obj(["ticket", "appointment"], ticket=_ref("Ticket"), appointment=_ref("Appointment")),
      200: _obj(["ticket", "appointment"], ticket=_ref("Ticket"), appointment=_ref("Appointment"))},
     ["already_checked_in", "too_many_tickets"], {}),
    ("get", "/ratings/levels", None, "the five levels and their tags", None, {200: OBJ}, [], {}),
    ("post", "/ratings", "optional",
     "好差评: device (rater token), sms (link), web (query_code); 一事一评: one rating per case per node, "
     "the first channel wins, later ones 409 already_rated", "Rate",
     {201: _wrap("rating", _ref("Rating"))},
     ["invalid_level", "invalid_tags", "invalid_tag", "case_not_finished", "already_rated", "invalid_link",
      "link_expired", "link_used", "not_your_window", "slip_needs_batch"], {}),
    ("get", "/ratings", SUP, "ratings", None, {200: _list("ratings", "Rating")}, [],
     {"case_id": INT, "bad": {"type": "string", "enum": ["1"]}, "limit": INT}),
    ("get", "/ratings/device", ("rater",), "the case a rating device may rate now", None,
     {200: _obj(["case", "levels"], case={"type": ["object", "null"]}, levels={"type": "array"})}, [], {}),
    ("get", "/ratings/web/{code}", None, "a ticket's case for the QR progress page", None, {200: OBJ}, ["unknown_ticket"], {}),
    ("get", "/ratings/link/{token}", None, "what an SMS rating link rates", None, {200: OBJ},
     ["invalid_link", "link_expired", "link_used"], {}),
    ("post", "/ratings/{rating_id}/appeal", ("clerk", *SUP), "申诉", "Appeal", {201: _wrap("appeal", _ref("Appeal"))}, [], {}),
    ("get", "/appeals", SUP, "appeals", None, {200: _list("appeals", "Appeal")}, [], {"status": _s(200)}),
    ("post", "/appeals/{appeal_id}/decide", SUP, "复核", "Decide", {200: _wrap("appeal", _ref("Appeal"))},
     ["invalid_decision"], {}),
    ("get", "/follow-ups", ("clerk", *SUP), "差评整改", None, {200: _list("follow_ups", "FollowUp")}, [],
     {"state": {"type": "string", "enum": ["open", "closed", "all"]}}),
    ("get", "/follow-ups/{follow_up_id}", ("clerk", *SUP), "one follow-up", None,
     {200: _wrap("follow_up", _ref("FollowUp"))}, ["unknown_follow_up"], {}),
    ("post", "/follow-ups/{follow_up_id}/{step}", ("clerk", *SUP), "核实 → 整改 → 回访", "FollowUpStep",
     {200: _wrap("follow_up", _ref("FollowUp"))},
     ["invalid_step", "unknown_follow_up", "wrong_state", "own_bad_rating", "not_your_department"], {}),
    ("post", "/slips/batches", SUP, "开箱 (a slip batch)", None, {201: _wrap("batch", _ref("SlipBatch"))}, [], {}),
    ("get", "/slips/batches/{batch_id}", SUP, "one batch", None, {200: _wrap("batch", _ref("SlipBatch"))}, [], {}),
    ("post", "/slips/batches/{batch_id}/scan", SUP, "录入一张评议单", "SlipScan",
     {200: _obj(["ok"], ok={"type": "boolean"}, ticket=OBJ, case=OBJ, rating=_ref("Rating"))},
     ["unknown_code", "already_rated", "case_not_finished", "invalid_level"], {}),
    ("post", "/slips/batches/{batch_id}/close", SUP, "封箱统计", None, {200: _wrap("batch", _ref("SlipBatch"))}, [], {}),
    ("get", "/sms/outbox", SUP, "短信发件箱 (phones masked, rating links hidden; status not_needed when the "
     "case was rated before the held invitation went out)", None,
     {200: _obj(["gateway", "messages"], gateway=STR, messages={"type": "array"})}, [], {"status": _s(200)}),
    ("post", "/sms/outbox/{message_id}/{action}", ("admin",), "retry / mark-sent", None,
     {200: _wrap("message", OBJ)}, ["unknown_action", "unknown_message"], {}),
    ("post", "/cases/{case_id}/suspend", ("clerk", *SUP), "不计时环节: 开始", "Suspend", {200: OBJ}, [], {}),
    ("post", "/cases/{case_id}/resume-clock", ("clerk", *SUP), "不计时环节: 结束", None, {200: OBJ}, [], {}),
    ("get", "/cases/{case_id}/suspensions", ("clerk", *SUP), "a case's suspensions", None,
     {200: _wrap("suspensions", {"type": "array", "items": _ref("Suspension")})}, [], {}),
    ("get", "/supervision/warnings", SUP, "时限预警", None, {200: _wrap("warnings", {"type": "array", "items": _ref("Warning")})}, [],
     {"state": _s(200)}),
    ("post", "/supervision/check", ("admin",), "run the time-limit check now", None,
     {200: _wrap("raised", {})}, [], {}),
    ("get", "/supervision/live", SUP, "今日实时", None, {200: _ref("Live")}, [], {}),
    *[("get", f"/supervision/{name}", SUP, words, None, {200: shape},
       ["invalid_period", "invalid_group"] + extra, query)
      for name, words, shape, extra, query in [
          ("stats", "统计", _ref("Stats"), [], {"from": {"type": "string", "format": "date"},
                                      "to": {"type": "string", "format": "date"},
                                      "by": {"type": "string", "enum": ["department", "window", "staff", "matter"]}}),
          ("cases", "drill-down", _wrap("cases", {"type": "array", "items": _ref("CaseLine")}), ["invalid_filter", "invalid_key"],
           {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
            "by": STR, "only": STR, "key": STR}),
          ("export.{fmt}", "导出 CSV / XLSX", {"type": "string", "contentMediaType": "text/csv"},
           ["invalid_format", "invalid_filter", "invalid_key"],
           {"what": {"type": "string", "enum": ["groups", "cases"]}, "from": STR, "to": STR, "by": STR,
            "only": STR, "key": STR}),
          ("audit", "审计", _wrap("entries", {"type": "array"}), [],
           {"from": STR, "to": STR, "actor": _s(200), "limit": INT, "events": {"type": "string", "enum": ["1"]}}),
      ]],
    ("get", "/supervision/report", SUP, "月度通报", None, {200: OBJ}, ["invalid_month"],
     {"month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "format": {"type": "string", "enum": ["html"]}}),
    ("post", "/devices/heartbeat", ANY_TOKEN, "设备心跳 (device tokens only)", "Heartbeat", {200: OBJ},
     ["devices_only", "invalid_status"], {}),
    ("get", "/devices", SUP, "devices and their state", None,
     {200: _obj(["devices", "quiet_after"], devices={"type": "array", "items": _ref("DeviceListed")}, quiet_after={})}, [], {}),
    ("post", "/devices/{device_id}/revoke", ("admin",), "吊销设备令牌", None, {200: _wrap("device", _ref("Device"))}, ["unknown_device"], {}),
    ("post", "/devices/{device_id}/token", ("admin",),
     "更换设备令牌: the new token is in this answer only; the old one stops working", None,
     {200: _obj(["device", "token"], device=_ref("Device"), token=STR)}, ["unknown_device", "device_revoked"], {}),
    ("post", "/devices/{device_id}/pairing-code", ("admin",),
     "取号机配对码: a one-time code (8 digits, 30 minutes) to pair a kiosk browser; shown only here", None,
     {200: _obj(["code", "expires_at", "minutes"], code=STR, expires_at=STR, minutes=INT)},
     ["unknown_device", "device_revoked", "not_pairable"], {}),
    ("post", "/devices/pair", "optional",
     "配对取号机浏览器: {code}, or the kiosk's own token as Bearer; the device credential is set as an "
     "HttpOnly cookie (Path=/kiosk), never in the answer", None,
     {200: _obj(["paired", "device"], paired={"type": "boolean"}, device=OBJ)},
     ["invalid_pairing_code", "too_many_tries", "missing_field"], {}),
]

# Path parameters: integers for Flask's <int:...> converter (never negative), strings otherwise.
PATH_PARAMS: dict[str, dict] = {
    "window_id": {"type": "integer", "minimum": 0}, "case_id": {"type": "integer", "minimum": 0},
    "device_id": {"type": "integer", "minimum": 0}, "rating_id": {"type": "integer", "minimum": 0},
    "appeal_id": {"type": "integer", "minimum": 0}, "follow_up_id": {"type": "integer", "minimum": 0},
    "batch_id": {"type": "integer", "minimum": 0}, "message_id": {"type": "integer", "minimum": 0},
    "ref": {"type": "string", "description": "a ticket id or its query code; cut to 32 characters"},
    "code": {"type": "string", "description": "cut to 16 characters (appointments) or 32 (ratings/web)"},
    "token": {"type": "string", "description": "a signed rating link; cut to 64 characters"},
    "step": {"type": "string", "enum": ["verify", "fix", "callback"]},
    "action": {"type": "string", "enum": ["retry", "mark-sent"]},
    "fmt": {"type": "string", "enum": ["csv", "xlsx"]},
}

# --- building the document -----------------------------------------------------------------------


def _security(roles) -> list:
    if roles is None:
        return []
    if roles == "optional":
        return [{}, {"bearer": []}]
    return [{"bearer": []}]


def _who(roles) -> str:
    if roles is None:
        return "public"
    if roles == "optional":
        return "public; a token of the hall adds what its staff and devices may see"
    if not roles:
        return "any valid token"
    return "bearer token of role " + ", ".join(roles)


def _operation(method, path, roles, summary, body, responses, codes, query) -> dict:
    params = [{"name": name, "in": "path", "required": True, "schema": copy.deepcopy(PATH_PARAMS[name])}
              for name in re.findall(r"{(\w+)}", path)]
    params += [{"name": name, "in": "query", "required": False, "schema": copy.deepcopy(schema)}
               for name, schema in query.items()]
    errors = ["bad_request", "not_found"]
    if roles is not None and roles != "optional":
        errors += ["unauthorized"] + (["forbidden_role"] if roles else [])
    if body:
        errors += ["invalid_json", "invalid_body", "missing_field", "invalid_field", "field_too_long",
                   "payload_too_large"]
    if roles in (CLERK,):
        errors.append("not_your_window")
    if method != "get":
        errors.append("cross_origin")
    op: dict[str, Any] = {
        "operationId": (method + "_" + re.sub(r"\W+", "_", path)).strip("_"),
        "summary": summary,
        "description": "Who: " + _who(roles) + ".",
        "security": _security(roles),
        "x-roles": None if roles in (None, "optional") else list(roles),
        "x-error-codes": sorted(set(errors + codes)),
        "parameters": params,
        "responses": {},
    }
    if body:
        op["requestBody"] = {"required": bool(BODIES[body].get("required")), "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}, "example": EXAMPLES[body]}}}
    for status, schema in responses.items():
        media = "text/csv" if path.endswith("export.{fmt}") else "application/json"
        op["responses"][str(status)] = {"description": "OK", "content": {media: {"schema": schema}}}
    err = {"content": {"application/json": {"schema": _ref("Error")}}}
    op["responses"]["4XX"] = {"description": "refused: " + ", ".join(op["x-error-codes"]), **err}
    op["responses"]["503"] = {"description": "database_unavailable / storage_full", **err}
    return op


def shape_schemas() -> dict[str, dict]:
    """The component schemas of `schemas.DOCUMENTED` and every shape they contain, by name."""
    out: dict[str, dict] = {}
    for shape in schemas.DOCUMENTED:
        generated = schemas.adapter(shape).json_schema(ref_template="#/components/schemas/{model}")
        out.update(generated.pop("$defs", {}))
        out[shape.__name__] = generated
    out["ErrorBody"]["properties"]["code"]["examples"] = ERROR_CODES
    return out


def build_spec(server_url: str = API_PREFIX) -> dict:
    paths: dict[str, dict] = {}
    for method, path, *rest in ROUTES:
        paths.setdefault(path, {})[method] = _operation(method, path, *rest)
    return {
        "openapi": "3.1.0",
        "info": {"title": "政务服务大厅 排队叫号 API", "version": "1",
                 "description": "Errors are {\"error\": {\"code\", \"message\"}} with a 4xx status "
                                "(503 when the database is down); bad input never gives a 500."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "staff: the token from POST /auth/login; devices: their configured token"}},
            "schemas": {**shape_schemas(), **copy.deepcopy(BODIES)},
        },
    }


def openapi_spec(app: Flask) -> dict:
    """The description of `app`'s API (the app decides the server prefix: its blueprint's)."""
    prefix = app.blueprints["api"].url_prefix if "api" in app.blueprints else API_PREFIX
    return build_spec(prefix or API_PREFIX)


def serve_openapi():
    """GET /api/v1/openapi.json (registered in api/openapi_route.py)."""
    return jsonify(openapi_spec(current_app))
