"""电子监察 API: suspensions of the clock, warnings, today live, statistics with drill-down and
exports, the monthly report, the audit trail. Supervisors and admins (clerks may suspend the
clock of their own window's cases)."""
from datetime import date, datetime, time, timedelta
from urllib.parse import quote

from flask import Response, g, jsonify, render_template, request
from sqlalchemy import select

from .. import auth
from ..clock import iso
from ..errors import bad_request
from ..models import Event
from ..supervision import alerts, live, stats, suspensions
from ..supervision.audit import flush as flush_audit, mark
from ..supervision.exports import table, to_csv, to_xlsx
from ..supervision.models import AuditEntry, SupervisionWarning
from ..supervision.report import month_bounds, report_data
from . import api
from .common import field, json_body, runtime

SUPERVISORS = ("supervisor", "admin")
MAX_DAYS = 400


def _origin() -> str:
    return request.remote_addr or ""


def _period() -> tuple[date, date]:
    today = runtime().clock.now().date()
    try:
        start = date.fromisoformat(request.args.get("from") or today.replace(day=1).isoformat())
        end = date.fromisoformat(request.args.get("to") or today.isoformat())
    except ValueError:
        raise bad_request("invalid_period", "日期格式应为 YYYY-MM-DD") from None
    if end < start:
        raise bad_request("invalid_period", "结束日期不能早于开始日期")
    if (end - start).days > MAX_DAYS:
        raise bad_request("invalid_period", f"统计期间最长 {MAX_DAYS} 天")
    return start, end


def _by() -> str | None:
    by = request.args.get("by") or None
    if by is not None and by not in stats.GROUPS:
        raise bad_request("invalid_group", "分组应为 department、window、staff 或 matter")
    return by


# --- 不计时环节 ---------------------------------------------------------------------------------

@api.post("/cases/<int:case_id>/suspend")
@auth.require("clerk", *SUPERVISORS)
def suspend(case_id: int):
    reason = field(json_body(), "reason", str, required=True, max_len=300)
    return jsonify(suspensions.suspend(runtime(), g.principal.hall_id, case_id, reason, g.principal, _origin()))


@api.post("/cases/<int:case_id>/resume-clock")
@auth.require("clerk", *SUPERVISORS)
def resume_clock(case_id: int):
    return jsonify(suspensions.resume(runtime(), g.principal.hall_id, case_id, g.principal, _origin()))


@api.get("/cases/<int:case_id>/suspensions")
@auth.require("clerk", *SUPERVISORS)
def case_suspensions(case_id: int):
    return jsonify({"suspensions": suspensions.suspensions_of(runtime(), g.principal.hall_id, case_id)})


# --- 预警 ---------------------------------------------------------------------------------------

@api.get("/supervision/warnings")
@auth.require(*SUPERVISORS)
def warnings():
    rt = runtime()
    q = select(SupervisionWarning).where(SupervisionWarning.hall_id == g.principal.hall_id)
    if request.args.get("state", "open") == "open":
        q = q.where(SupervisionWarning.resolved_at.is_(None))
    with rt.read() as s:
        rows = s.scalars(q.order_by(SupervisionWarning.raised_at.desc(), SupervisionWarning.id.desc()).limit(500))
        return jsonify({"warnings": [alerts.warning_dict(s, w) for w in rows]})


@api.post("/supervision/check")
@auth.require("admin")
def check_now():
    """Run the time-limit check now (it also runs every minute by itself)."""
    return jsonify({"raised": alerts.check_warnings(runtime())})


# --- 今日实时与统计 ------------------------------------------------------------------------------

@api.get("/supervision/live")
@auth.require(*SUPERVISORS)
def today_live():
    rt = runtime()
    now = rt.clock.now()
    with rt.read() as s:
        data = live.today(s, g.principal.hall_id, now)
    data["calendar_missing_years"] = rt.calendar.missing_years(now.date())
    return jsonify(data)


@api.get("/supervision/stats")
@auth.require(*SUPERVISORS)
def period_stats():
    start, end = _period()
    with runtime().read() as s:
        return jsonify(stats.period_stats(s, g.principal.hall_id, start, end, _by()))


def _drill():
    start, end = _period()
    only = request.args.get("only", "all")
    if only not in stats.DRILL_FILTERS:
        raise bad_request("invalid_filter", "筛选应为 " + "、".join(stats.DRILL_FILTERS))
    key = request.args.get("key")
    by = _by()
    try:
        key = None if key in (None, "", "null") else int(key)
        if key is not None and not -2**62 < key < 2**62:
            raise ValueError(key)
    except ValueError:
        raise bad_request("invalid_key", "key 应为编号") from None
    with runtime().read() as s:
        return stats.drill_cases(s, g.principal.hall_id, start, end, by, key, only), start, end


@api.get("/supervision/cases")
@auth.require(*SUPERVISORS)
def drill_down():
    cases, _, _ = _drill()
    return jsonify({"cases": cases})


@api.get("/supervision/export.<fmt>")
@auth.require(*SUPERVISORS)
def export(fmt: str):
    if fmt not in ("csv", "xlsx"):
        raise bad_request("invalid_format", "导出格式应为 csv 或 xlsx")
    what = request.args.get("what", "groups")
    if what == "cases":
        data, start, end = _drill()
        name = f"办件明细_{start}_{end}"
    else:
        start, end = _period()
        by = _by() or "department"
        with runtime().read() as s:
            result = stats.period_stats(s, g.principal.hall_id, start, end, by)
        data = result["groups"] + [{"name": "合计", **result["totals"]}]
        what, name = "groups", f"统计_按{stats.GROUPS[by]}_{start}_{end}"
    rows = table(what, data)
    mark("supervision.export", format=fmt, what=what, rows=len(rows) - 1)
    body = to_csv(rows) if fmt == "csv" else to_xlsx(rows, name[:31], what)
    mime = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mime, headers={
        "Content-Disposition": f"attachment; filename=export.{fmt}; filename*=UTF-8''{quote(name)}.{fmt}"})


@api.get("/supervision/report")
@auth.require(*SUPERVISORS)
def monthly_report():
    rt = runtime()
    month = request.args.get("month") or (rt.clock.now().date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    try:
        month_bounds(month)
    except ValueError:
        raise bad_request("invalid_month", "月份格式应为 YYYY-MM") from None
    with rt.read() as s:
        data = report_data(s, g.principal.hall_id, month, rt.clock.now())
    mark("supervision.report", month=month)
    if request.args.get("format") == "html":
        return Response(render_template("supervision/report_body.html", r=data), mimetype="text/html")
    return jsonify(data)


# --- 审计 ---------------------------------------------------------------------------------------

@api.get("/supervision/audit")
@auth.require(*SUPERVISORS)
def audit_trail():
    rt = runtime()
    start, end = _period()
    lo, hi = datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time())
    h = g.principal.hall_id
    actor = (request.args.get("actor") or "").strip()
    limit = max(1, min(request.args.get("limit", 300, type=int) or 300, 2000))
    flush_audit(rt)
    with rt.read() as s:
        # Requests no hall can be told from (no valid token on a server of several halls: refused
        # logins, probes) are for the admins of the deployment, not for every hall's supervisors.
        mine = AuditEntry.hall_id == h
        if g.principal.role == "admin":
            mine = mine | AuditEntry.hall_id.is_(None)
        q = select(AuditEntry).where(mine, AuditEntry.at >= lo, AuditEntry.at < hi)
        if actor:
            q = q.where(AuditEntry.actor.contains(actor))
        rows = [{"kind": "request", "id": a.id, "at": iso(a.at), "actor": a.actor, "action": a.action,
                 "target": a.target, "status": a.status, "origin": a.origin, "detail": a.detail}
                for a in s.scalars(q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))]
        if request.args.get("events") == "1":
            q = select(Event).where(Event.hall_id == h, Event.at >= lo, Event.at < hi)
            if actor:
                q = q.where(Event.actor.contains(actor))
            rows += [{"kind": "event", "id": e.seq, "at": iso(e.at), "actor": e.actor, "action": e.type,
                      "target": f"case:{e.case_id}" if e.case_id else (f"ticket:{e.ticket_id}" if e.ticket_id else ""),
                      "status": None, "origin": (e.data or {}).get("origin", ""), "detail": {}}
                     for e in s.scalars(q.order_by(Event.seq.desc()).limit(limit))]
            rows.sort(key=lambda r: r["at"], reverse=True)
            rows = rows[:limit]
    mark("supervision.audit_viewed")
    return jsonify({"entries": rows})
