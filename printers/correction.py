"""一次性补正告知单: the written notice, given once and on the spot, of exactly which materials an
application still lacks (行政许可法 §32). It names the case, the matter, the missing materials and
nothing unrelated, who received it and when, and says that the time limit has not started.
Printed on the same printers and through the same connectors as the notice slip.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import escpos as ep
from .profile import PrinterProfile
from .slip import _lines

LAW = "依据《中华人民共和国行政许可法》第三十二条，现一次性告知您需补正的全部材料。"
CLOCK = "材料补齐之日起受理，办理时限自受理之日起计算。"


@dataclass
class CorrectionNotice:
    hall_name: str
    case_number: str
    matter_name: str
    department_name: str
    window: str                    # "3号窗口 不动产登记"
    clerk: str                     # name and 工号, as the hall shows them
    received_at: datetime
    missing: list[str]
    complaint_phone: str = ""
    query_code: str = ""


def build_correction(notice: CorrectionNotice, profile: PrinterProfile) -> bytes:
    """The notice as ESC/POS bytes for ``profile``; same input, same bytes."""
    if not notice.missing:
        raise ValueError("补正告知单至少要列出一项缺少的材料")
    cols = profile.columns
    rule = ep.line("-" * cols)
    out = [ep.init(), ep.align(ep.CENTER), ep.bold(True), _lines(notice.hall_name, cols)]
    out += [ep.size(1, 2), ep.line("一次性补正告知单"), ep.size(1, 1), ep.bold(False), ep.align(ep.LEFT), rule]
    out.append(_lines(notice.case_number, cols, "办件编号："))
    out.append(_lines(notice.matter_name, cols, "申请事项："))
    out.append(_lines(notice.department_name, cols, "受理部门："))
    out.append(_lines(notice.window, cols, "收件窗口："))
    if notice.clerk:
        out.append(_lines(notice.clerk, cols, "承办人员："))
    out.append(_lines(notice.received_at.strftime("%Y-%m-%d %H:%M"), cols, "收件时间："))
    out += [rule, _lines(LAW, cols), ep.bold(True), ep.line("需补正的材料："), ep.bold(False)]
    width = len(str(len(notice.missing)))
    for i, item in enumerate(notice.missing, start=1):
        out.append(_lines(item, cols, f"{i:>{width}}. "))
    out += [rule, _lines(CLOCK, cols)]
    out.append(_lines("补齐后请携带本告知单到任一办理该事项的窗口", cols))
    if notice.query_code:
        out.append(_lines(notice.query_code, cols, "查询码："))
    if notice.complaint_phone:
        out.append(_lines(notice.complaint_phone, cols, "投诉电话："))
    out += [ep.feed(1), ep.line("申请人签收：______________"), ep.feed(1)]
    out.append(ep.finish(profile))
    return b"".join(out)
