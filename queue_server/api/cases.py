"""The case desk's API: a hall's cases after their visits (cases.py), and the 补正 notice."""
from flask import Response, g, jsonify, request

from printers import profile_by_name, render_png
from printers.correction import CorrectionNotice, build_correction

from .. import auth, cases, desk_printer
from ..errors import bad_request, conflict
from ..models import Case, Department, Hall, Staff, Ticket, Window
from ..supervision.audit import mark
from ..shapes import matter_info
from . import api
from .common import field, json_body, runtime
from ..scoping import in_hall

DESK = ("clerk", "supervisor", "admin")


def _origin() -> str:
    return request.remote_addr or ""


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not lo <= int(raw) <= hi:
        raise bad_request("invalid_field", f"参数 {name} 应为 {lo}–{hi} 的整数", field=name)
    return int(raw)


@api.get("/cases")
@auth.require(*DESK)
def case_desk():
    """Open cases by due time: ?scope=window|department|hall&status=open|…&light=red|yellow&q=&matter_id="""
    a = request.args
    matter = _int_arg("matter_id", 0, 1, 2**62) if a.get("matter_id") else None
    query = cases.DeskQuery(scope=a.get("scope", "department"), status=a.get("status", "open"),
                            light=a.get("light") or None, matter_id=matter,
                            q=(a.get("q") or "").strip()[:60], limit=_int_arg("limit", 100, 1, 500),
                            offset=_int_arg("offset", 0, 0, 10**7))
    return jsonify(cases.desk_list(runtime(), g.principal, query))


@api.get("/cases/<int:case_id>")
@auth.require(*DESK)
def case_detail(case_id: int):
    return jsonify(cases.desk_detail(runtime(), g.principal, case_id))


@api.post("/cases/<int:case_id>/finish")
@auth.require(*DESK)
def case_finish(case_id: int):
    return jsonify({"case": cases.finish(runtime(), g.principal, case_id, _origin())})


@api.post("/cases/<int:case_id>/accept")
@auth.require(*DESK)
def case_accept(case_id: int):
    return jsonify({"case": cases.accept(runtime(), g.principal, case_id, _origin())})


@api.post("/cases/<int:case_id>/refuse")
@auth.require(*DESK)
def case_refuse(case_id: int):
    reason = field(json_body(), "reason", str, required=True, max_len=300)
    return jsonify({"case": cases.refuse(runtime(), g.principal, case_id, reason, _origin())})


@api.post("/cases/<int:case_id>/deliver")
@auth.require(*DESK)
def case_deliver(case_id: int):
    body = json_body()
    return jsonify({"case": cases.deliver(runtime(), g.principal, case_id, field(body, "how", str, required=True),
                                          field(body, "note", str, default="", max_len=200), _origin())})


def _profile(name: str):
    try:
        return profile_by_name(name[:40])
    except ValueError as exc:
        raise bad_request("invalid_profile", str(exc), field="profile") from None


def _notice(rt, case_id: int) -> tuple[CorrectionNotice, Case]:
    """The 补正 notice of a case the caller may see (the desk's department rule)."""
    with rt.read() as s:
        the_case = in_hall(s, Case, case_id, g.principal.hall_id)
        cases.desk_detail(rt, g.principal, case_id)     # the same department rule as the desk
        if not the_case.missing:
            raise conflict("no_correction", f"办件 {the_case.number} 没有补正告知")
        cfg = rt.hall_config(the_case.hall_id)
        matter = matter_info(s, the_case.matter_id)
        window = s.get(Window, the_case.window_id)
        staff = s.get(Staff, the_case.staff_id) if the_case.staff_id else None
        ticket = s.get(Ticket, the_case.ticket_id)
        hall = s.get(Hall, the_case.hall_id)
        department = s.get(Department, the_case.department_id)
        notice = CorrectionNotice(
            hall_name=hall.name, case_number=the_case.number, matter_name=matter.name if matter else "",
            department_name=department.name if department else "",
            window=f"{window.number}号窗口 {window.name}" if window else "",
            clerk=(f"{staff.name} 工号{staff.staff_no}" if staff.staff_no else staff.name) if staff else "",
            received_at=the_case.received_at, missing=list(the_case.missing),
            complaint_phone=cfg.complaint_phone, consult_phone=cfg.consult_phone, query_code=ticket.query_code if ticket else "")
        s.expunge(the_case)
    return notice, the_case


@api.get("/cases/<int:case_id>/correction-notice")
@auth.require(*DESK)
def correction_notice(case_id: int):
    """The 一次性补正告知单 as the printer's bytes (?format=escpos) or as a picture of exactly
    those bytes (?format=png, default: the caller shows it before it prints)."""
    fmt = request.args.get("format", "png")
    if fmt not in ("png", "escpos"):
        raise bad_request("invalid_format", "format 应为 png 或 escpos", field="format")
    profile = _profile(request.args.get("profile", "P80"))
    notice, _ = _notice(runtime(), case_id)
    data = build_correction(notice, profile)
    if fmt == "escpos":
        return Response(data, mimetype="application/octet-stream")
    return Response(render_png(data, profile.width_dots), mimetype="image/png")


@api.post("/cases/<int:case_id>/correction-notice/print")
@auth.require(*DESK)
def print_correction_notice(case_id: int):
    """Print the notice on a window's desk printer (the body's window_id, else the case's window).
    A window without one answers 409 no_desk_printer: the caller then prints through the browser."""
    rt = runtime()
    body = json_body()
    notice, the_case = _notice(rt, case_id)
    window_id = field(body, "window_id", int, default=None) or the_case.window_id
    with rt.read() as s:
        window = in_hall(s, Window, window_id, g.principal.hall_id)
        number = window.number
    configured = next((w for w in rt.hall_config(g.principal.hall_id).windows if w.number == number), None)
    if configured is None or not configured.printer:
        raise conflict("no_desk_printer", f"{number}号窗口没有配置打印机，请用浏览器打印")
    data = build_correction(notice, _profile(field(body, "profile", str, default="P80")))
    answer = desk_printer.print_paper(configured.printer, f"correction-{case_id}", data,
                                      f"办件 {notice.case_number} 的一次性补正告知单")
    mark("case.correction_notice_printed", case_id=case_id, window=number, outcome=answer["outcome"])
    return jsonify({**answer, "window": number})
