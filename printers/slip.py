"""The notice slip 统一受理告知单: what the citizen carries to the window and back to the box.

It tells where to go and whom to see (with the clerk's 工号), how many are ahead, the one-time
list of materials (一次性告知), fees, the promised and the statutory time limit, the steps of the
matter (办理流程), and carries the barcode staff scan when the ticked slip comes back from the
rating box (投箱评议) and the QR for progress and rating.

A slip is composed of blocks (``compose``): each block is ESC/POS bytes that starts and ends
left-aligned, 1×1, not bold, so any slip the hall prints (this notice, a 一次性补正告知单) is
a list of the same blocks and goes through the same connectors and print queue.
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
    windows: list[tuple[str, str]]       # ("3号窗口 商事登记窗口", staff name and 工号 or "")
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
    legal_days: int = 0                  # 法定时限, 0 = none given
    process: str = ""                    # 办理流程, one line
    consult_phone: str = ""              # 咨询电话


def _check(slip: Slip) -> None:
    """Refuse slips that would print wrong rather than print a misleading one."""
    if slip.matter_kind not in MATTER_KINDS:
        raise ValueError(f"办件类型“{slip.matter_kind}”无效，应为：{'、'.join(MATTER_KINDS)}")
    if slip.promised_days < 0:
        raise ValueError(f"承诺时限不能为负数：{slip.promised_days}")
    if slip.legal_days < 0:
        raise ValueError(f"法定时限不能为负数：{slip.legal_days}")
    if slip.waiting_ahead < 0:
        raise ValueError(f"等候人数不能为负数：{slip.waiting_ahead}")
    code128.check_payload(slip.ticket_id)
    if not slip.progress_url:
        raise ValueError("进度查询网址为空，无法生成二维码")


# --- blocks: reusable by any slip ------------------------------------------------------------

def field(value: str, cols: int, label: str = "") -> bytes:
    """``label：value`` wrapped, continuation lines aligned under the value. Cleaned first
    so widths are measured on exactly what will print."""
    return b"".join(ep.line(s) for s in wrap(ep.clean(value), cols, label))



def pair(first: tuple[str, str], second: tuple[str, str] | None, cols: int) -> bytes:
    """Two short ``label：value`` fields side by side when they fit, else one under the other."""
    if second is None or not second[1]:
        return field(first[1], cols, first[0])
    together = ep.clean(f"{first[0]}{first[1]}　{second[0]}{second[1]}")
    if display_width(together) <= cols:
        return ep.line(together)
    return field(first[1], cols, first[0]) + field(second[1], cols, second[0])


def rule(cols: int) -> bytes:
    return ep.line("-" * cols)


def heading(text: str, cols: int) -> bytes:
    return ep.bold(True) + field(text, cols) + ep.bold(False)


def title_block(hall_name: str, title: str, cols: int, *, reprint: bool = False) -> bytes:
    """The hall's name, the slip's title double height, 【补打】 on a reprint."""
    out = [ep.align(ep.CENTER), ep.bold(True), field(hall_name, cols),
           ep.size(1, 2), ep.line(title), ep.size(1, 1), ep.bold(False)]
    if reprint:
        out += [ep.bold(True), ep.line("【补打】"), ep.bold(False)]
    out.append(ep.align(ep.LEFT))
    return b"".join(out)


def reprint_mark() -> bytes:
    """【补打】 again at the foot, so a torn-off half still says it."""
    return ep.align(ep.CENTER) + ep.bold(True) + ep.line("【补打】") + ep.bold(False) + ep.align(ep.LEFT)


def codes_block(barcode: str, url: str, caption: str, profile: PrinterProfile) -> bytes:
    """The CODE128 staff scan and the QR citizens scan, with a line saying what the QR is for."""
    cols = profile.columns
    return b"".join([ep.feed(1), ep.barcode(barcode, profile), ep.feed(1), ep.qr(url, profile),
                     ep.align(ep.CENTER), field(caption, cols), ep.align(ep.LEFT)])


def contacts_block(consult_phone: str, complaint_phone: str, cols: int) -> bytes:
    return pair(("咨询电话：", consult_phone), ("投诉电话：", complaint_phone), cols) if consult_phone \
        else field(complaint_phone, cols, "投诉电话：")


def compose(blocks: list[bytes], profile: PrinterProfile) -> bytes:
    """A whole slip: initialise, the blocks in order, feed and cut."""
    return ep.init() + b"".join(blocks) + ep.finish(profile)


# --- the notice slip ---------------------------------------------------------------------------

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


def _number_block(slip: Slip, cols: int) -> bytes:
    out = [ep.align(ep.CENTER), ep.feed(1), ep.bold(True), ep.size(2, 2),
           field(slip.ticket_number, cols // 2), ep.size(1, 1)]
    marks = _marks(slip)
    if marks:
        out.append(field(marks, cols))
    out += [ep.bold(False), ep.align(ep.LEFT)]
    return b"".join(out)


def _where_block(slip: Slip, cols: int) -> bytes:
    out = [field(slip.matter_name, cols, "事项："), field(slip.department_name, cols, "部门：")]
    if slip.appointment_code:
        out.append(field(slip.appointment_code, cols, "预约码："))
    label = "请到："
    pad = " " * display_width(label)
    for n, (window, staff) in enumerate(slip.windows):
        who = f"（经办人：{staff}）" if staff else ""
        first = label if n == 0 else pad
        if display_width(ep.clean(first + window + who)) <= cols:
            out.append(ep.line(first + window + who))
        else:  # the staff name on its own line rather than torn across two
            out.append(field(window, cols, first))
            if staff:
                out.append(field(staff, cols, pad + "经办人："))
    if len(slip.windows) > 1:
        out.append(field("以上窗口均可办理", cols, pad))
    if not slip.windows:
        out.append(field("服务台咨询", cols, label))
    out += [ep.bold(True), ep.line(f"前面还有 {slip.waiting_ahead} 人等候"), ep.bold(False)]
    out.append(field(slip.issued_at.strftime("%Y-%m-%d %H:%M:%S"), cols, "取号时间："))
    return b"".join(out)


def _notice_block(slip: Slip, cols: int) -> bytes:
    """一次性告知: materials, fees, kind, time limits, the steps."""
    out = [heading("一次性告知（请备齐以下材料）：", cols)]
    if slip.materials:
        width = len(str(len(slip.materials)))
        for i, item in enumerate(slip.materials, start=1):
            out.append(field(item, cols, f"{i:>{width}}. "))
    else:
        out.append(ep.line("无需提交材料"))
    out.append(field(slip.fees or "不收费", cols, "收费："))
    out.append(field(slip.matter_kind, cols, "办件类型："))
    legal = ("法定时限：", f"{slip.legal_days}个工作日") if slip.legal_days else None
    out.append(pair(("承诺时限：", _time_limit(slip)), legal, cols))
    if slip.process:
        out.append(field(slip.process, cols, "办理流程："))
    return b"".join(out)


def _rating_block(slip: Slip, cols: int) -> bytes:
    out = [heading("投箱评议", cols)]
    out += [ep.line(s) for s in rating_rows(cols)]
    if display_width(RATING_HOWTO) <= cols:
        out.append(ep.line(RATING_HOWTO))
    else:  # break after the comma rather than mid-phrase
        out += [field(part, cols) for part in RATING_HOWTO.replace("，", "，\n").split("\n")]
    out.append(contacts_block(slip.consult_phone, slip.complaint_phone, cols))
    return b"".join(out)


def build_slip(slip: Slip, profile: PrinterProfile) -> bytes:
    """The slip as ESC/POS bytes for ``profile``; same input, same bytes."""
    _check(slip)
    cols = profile.columns
    blocks = [title_block(slip.hall_name, "统一受理告知单", cols, reprint=slip.reprint),
              _number_block(slip, cols), rule(cols), _where_block(slip, cols),
              rule(cols), _notice_block(slip, cols),
              rule(cols), field(slip.query_code, cols, "查询码："),
              field(slip.progress_url.split("://", 1)[-1], cols, "查询网址："),
              codes_block(slip.ticket_id, slip.progress_url, "扫码查询办理进度、评价服务", profile),
              rule(cols), _rating_block(slip, cols)]
    if slip.reprint:
        blocks.append(reprint_mark())
    return compose(blocks, profile)
