"""The notice slip 统一受理告知单: what the citizen carries to the window and back to the box.

It tells where to go and whom to see, how many are ahead, the one-time list of materials
(一次性告知), fees and the promised time limit, and carries the barcode staff scan when the
ticked slip comes back from the rating box (投箱评议) and the QR for progress and rating.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import code128
from . import escpos as ep
from .profile import PrinterProfile
from .wrap import display_width, wrap

MATTER_KINDS = ("即办件", "承诺件", "联办件", "上报件")
RATING_BOXES = ("□非常满意", "□满意", "□基本满意", "□不满意", "□非常不满意")
RATING_HOWTO = "办结后请在对应方框内打“√”，投入评议箱"


@dataclass
class Slip:
    """Everything printed on one slip, as plain values (no database objects)."""

    hall_name: str
    ticket_id: str                       # CODE128 payload: the ticket/case id staff scan
    ticket_number: str                   # "A012"
    matter_name: str
    department_name: str
    windows: list[tuple[str, str]]       # ("3号窗口 商事登记窗口", staff name or "")
    waiting_ahead: int
    issued_at: datetime
    materials: list[str]
    fees: str
    matter_kind: str                     # 即办件 / 承诺件 / 联办件 / 上报件
    promised_days: int
    query_code: str
    progress_url: str                    # QR payload
    complaint_phone: str
    priority: str | None = None          # "老年人", "军人" …
    appointment_code: str | None = None
    reprint: bool = False


def _check(slip: Slip) -> None:
    """Refuse slips that would print wrong rather than print a misleading one."""
    if slip.matter_kind not in MATTER_KINDS:
        raise ValueError(f"办件类型“{slip.matter_kind}”无效，应为：{'、'.join(MATTER_KINDS)}")
    if slip.promised_days < 0:
        raise ValueError(f"承诺时限不能为负数：{slip.promised_days}")
    if slip.waiting_ahead < 0:
        raise ValueError(f"等候人数不能为负数：{slip.waiting_ahead}")
    code128.check_payload(slip.ticket_id)
    if not slip.progress_url:
        raise ValueError("进度查询网址为空，无法生成二维码")


def _lines(value: str, cols: int, label: str = "") -> bytes:
    """``label：value`` wrapped, continuation lines aligned under the value. Cleaned first
    so widths are measured on exactly what will print."""
    return b"".join(ep.line(s) for s in wrap(ep.clean(value), cols, label))


def _time_limit(slip: Slip) -> str:
    if slip.matter_kind == "即办件":
        return "当场办结"
    if slip.promised_days == 0:
        return "以窗口告知为准"
    return f"{slip.promised_days}个工作日"


def rating_rows(cols: int) -> list[str]:
    """The five rating boxes on as few rows as fit, split evenly, widest gap that fits."""
    n = len(RATING_BOXES)
    for rows in range(1, n + 1):
        per = -(-n // rows)
        chunks = [RATING_BOXES[i:i + per] for i in range(0, n, per)]
        for gap in (4, 3, 2, 1):
            lines = [(" " * gap).join(c) for c in chunks]
            if all(display_width(s) <= cols for s in lines):
                return lines
    raise ValueError(f"行宽 {cols} 放不下评议方框")


def _marks(slip: Slip) -> str:
    marks = []
    if slip.priority:
        marks.append(f"【优先·{slip.priority}】")
    if slip.appointment_code:
        marks.append("【预约】")
    return "".join(marks)


def build_slip(slip: Slip, profile: PrinterProfile) -> bytes:
    """The slip as ESC/POS bytes for ``profile``; same input, same bytes."""
    _check(slip)
    cols = profile.columns
    rule = ep.line("-" * cols)
    out = [ep.init(), ep.align(ep.CENTER), ep.bold(True), _lines(slip.hall_name, cols)]
    out += [ep.size(1, 2), ep.line("统一受理告知单"), ep.size(1, 1), ep.bold(False)]
    if slip.reprint:
        out += [ep.bold(True), ep.line("【补打】"), ep.bold(False)]
    out += [ep.feed(1), ep.bold(True), ep.size(2, 2), _lines(slip.ticket_number, cols // 2), ep.size(1, 1)]
    marks = _marks(slip)
    if marks:
        out.append(_lines(marks, cols))
    out += [ep.bold(False), ep.align(ep.LEFT), rule]

    out.append(_lines(slip.matter_name, cols, "事项："))
    out.append(_lines(slip.department_name, cols, "部门："))
    if slip.appointment_code:
        out.append(_lines(slip.appointment_code, cols, "预约码："))
    label = "请到："
    pad = " " * display_width(label)
    for n, (window, staff) in enumerate(slip.windows):
        who = f"（经办人：{staff}）" if staff else ""
        first = label if n == 0 else pad
        if display_width(ep.clean(first + window + who)) <= cols:
            out.append(ep.line(first + window + who))
        else:  # the staff name on its own line rather than torn across two
            out.append(_lines(window, cols, first))
            if staff:
                out.append(_lines(staff, cols, pad + "经办人："))
    if len(slip.windows) > 1:
        out.append(_lines("以上窗口均可办理", cols, pad))
    if not slip.windows:
        out.append(_lines("服务台咨询", cols, label))
    out += [ep.bold(True), ep.line(f"前面还有 {slip.waiting_ahead} 人等候"), ep.bold(False)]
    out.append(_lines(slip.issued_at.strftime("%Y-%m-%d %H:%M:%S"), cols, "取号时间："))

    out += [rule, ep.bold(True), ep.line("一次性告知（请备齐以下材料）："), ep.bold(False)]
    if slip.materials:
        width = len(str(len(slip.materials)))
        for i, item in enumerate(slip.materials, start=1):
            out.append(_lines(item, cols, f"{i:>{width}}. "))
    else:
        out.append(ep.line("无需提交材料"))
    out.append(_lines(slip.fees or "不收费", cols, "收费："))
    out.append(_lines(slip.matter_kind, cols, "办件类型："))
    out.append(_lines(_time_limit(slip), cols, "承诺时限："))

    out += [rule, _lines(slip.query_code, cols, "查询码：")]
    out.append(_lines(slip.progress_url.split("://", 1)[-1], cols, "查询网址："))
    out += [ep.feed(1), ep.barcode(slip.ticket_id, profile), ep.feed(1)]
    out += [ep.qr(slip.progress_url, profile)]
    out += [ep.align(ep.CENTER), _lines("扫码查询办理进度、评价服务", cols), ep.align(ep.LEFT)]

    out += [rule, ep.bold(True), ep.line("投箱评议"), ep.bold(False)]
    out += [ep.line(s) for s in rating_rows(cols)]
    if display_width(RATING_HOWTO) <= cols:
        out.append(ep.line(RATING_HOWTO))
    else:  # break after the comma rather than mid-phrase
        out += [_lines(part, cols) for part in RATING_HOWTO.replace("，", "，\n").split("\n")]
    out.append(_lines(slip.complaint_phone, cols, "投诉电话："))
    if slip.reprint:
        out += [ep.align(ep.CENTER), ep.bold(True), ep.line("【补打】"), ep.bold(False), ep.align(ep.LEFT)]
    out.append(ep.finish(profile))
    return b"".join(out)
