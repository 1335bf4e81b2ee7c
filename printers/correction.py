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
from .slip import compose, contacts_block, field, heading, rule, title_block

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
    consult_phone: str = ""
    query_code: str = ""


def build_correction(notice: CorrectionNotice, profile: PrinterProfile) -> bytes:
    """The notice as ESC/POS bytes for ``profile``, from the notice slip's blocks; same input, same bytes."""
    if not notice.missing:
        raise ValueError("补正告知单至少要列出一项缺少的材料")
    cols = profile.columns
    width = len(str(len(notice.missing)))
    blocks = [title_block(notice.hall_name, "一次性补正告知单", cols), rule(cols),
              field(notice.case_number, cols, "办件编号："), field(notice.matter_name, cols, "申请事项："),
              field(notice.department_name, cols, "受理部门："), field(notice.window, cols, "收件窗口：")]
    if notice.clerk:
        blocks.append(field(notice.clerk, cols, "承办人员："))
    blocks += [field(notice.received_at.strftime("%Y-%m-%d %H:%M"), cols, "收件时间："), rule(cols),
               field(LAW, cols), heading("需补正的材料：", cols)]
    blocks += [field(item, cols, f"{i:>{width}}. ") for i, item in enumerate(notice.missing, start=1)]
    blocks += [rule(cols), field(CLOCK, cols), field("补齐后请携带本告知单到任一办理该事项的窗口", cols)]
    if notice.query_code:
        blocks.append(field(notice.query_code, cols, "查询码："))
    if notice.complaint_phone or notice.consult_phone:
        blocks.append(contacts_block(notice.consult_phone, notice.complaint_phone, cols))
    blocks += [ep.feed(1), ep.line("申请人签收：______________"), ep.feed(1)]
    return compose(blocks, profile)
