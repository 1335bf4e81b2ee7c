"""CSV and XLSX exports of the statistics (one row per group, then 合计) and of the drill-down
cases, for a supervisor who sorts and sums them in Excel or WPS.

Every column has a kind, so a cell is what it says: counts and rates are numbers (按时办结件数 is
a count on a group row, 是/否 only on one case), times are date cells in the XLSX (text
"YYYY-MM-DD HH:MM:SS" in the CSV), durations are minutes, statuses are words. The figures are
those of `stats.figures`, the same the dashboard and the monthly report show.

The XLSX is written by openpyxl. CSV is UTF-8 with a BOM so Excel and WPS open the Chinese right.
Text a spreadsheet would take for a formula (=, +, -, @ first) never becomes one: an apostrophe
in the CSV, a string cell in the XLSX; names come from config, but nobody should be able to
smuggle a formula into a supervisor's spreadsheet."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..lifecycle import CASE_WORDS

# (key, title, kind); kinds: text, count, rate, minutes, time, yesno, status, ratings, nested.
GROUP_COLUMNS = [
    ("name", "名称", "text"), ("accepted", "受理件数", "count"), ("immediate", "即办件数", "count"),
    ("immediate_rate", "即办率(%)", "rate"), ("finished", "办结件数", "count"),
    ("on_time", "按时办结件数", "count"), ("late", "超期办结件数", "count"),
    ("on_time_rate", "按时办结率(%)", "rate"), ("ratings", "有效评价数", "count"),
    ("rated_cases", "评价办件数", "count"), ("satisfied", "满意数(5+4)", "count"),
    ("good", "好评数(5+4+3)", "count"), ("bad", "差评数(2+1)", "count"),
    ("satisfaction_rate", "满意率(%)", "rate"), ("good_rate", "好评率(%)", "rate"),
    ("bad_rate", "差评率(%)", "rate"), ("defaults", "默认评价数", "count"),
    ("good_rate_with_defaults", "含默认好评率(%)", "rate"), ("voided", "作废评价数", "count"),
    ("voided_by.appeal", "其中申诉成立", "count"), ("voided_by.superseded", "其中默认评价被取代", "count"),
    ("wait_avg", "平均等候(分钟)", "minutes"), ("wait_p90", "P90等候(分钟)", "minutes"),
    ("service_avg", "平均办理(分钟)", "minutes"), ("service_p90", "P90办理(分钟)", "minutes"),
]
CASE_COLUMNS = [
    ("number", "办件编号", "text"), ("ticket_number", "号码", "text"), ("matter_name", "事项", "text"),
    ("kind", "办件类型", "text"), ("department", "部门", "text"), ("window_number", "窗口", "count"),
    ("staff_name", "工作人员", "text"), ("status", "状态", "status"), ("issued_at", "取号时间", "time"),
    ("called_at", "叫号时间", "time"), ("accepted_at", "受理时间", "time"), ("due_at", "承诺期限", "time"),
    ("finished_at", "办结时间", "time"), ("on_time", "按时办结", "yesno"),
    ("wait_seconds", "等候(分钟)", "minutes"), ("service_seconds", "办理(分钟)", "minutes"),
    ("ratings", "评价", "ratings"),
]
# Case statuses in words; the ones not known here are shown as stored rather than hidden.
STATUS_WORDS = CASE_WORDS      # the case's own words (lifecycle.py), the same on every page
NUMBER_FORMATS = {"rate": "0.00", "minutes": "0.0", "time": "yyyy-mm-dd hh:mm:ss", "count": "0"}
WIDTHS = {"text": 18, "time": 20, "ratings": 30, "status": 10}


def _get(item: Any, key: str) -> Any:
    for part in key.split("."):
        item = item.get(part) if isinstance(item, dict) else None
    return item


def _value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "minutes":
        return round(value / 60, 1)
    if kind == "time":
        return datetime.fromisoformat(value).replace(tzinfo=None) if isinstance(value, str) else value
    if kind == "yesno":
        return "是" if value else "否"
    if kind == "status":
        return STATUS_WORDS.get(value, value)
    if kind == "ratings":
        return "；".join(("受理·" if r.get("node") == "accept" else "") + f"{r['channel_word']}:{r['level_word']}" + ("(默认)" if r["is_default"] else "")
                        + ("(作废)" if r["voided"] else "") for r in value)
    return value


def columns(kind: str) -> list[tuple[str, str, str]]:
    return GROUP_COLUMNS if kind == "groups" else CASE_COLUMNS


def table(kind: str, data: list[dict]) -> list[list]:
    """The header and one row per item, each cell a typed value (None = empty)."""
    cols = columns(kind)
    return [[title for _, title, _ in cols]] + [[_value(k, _get(item, key)) for key, _, k in cols] for item in data]


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list], sheet: str, kind: str = "groups") -> bytes:
    """One sheet: bold frozen header, typed cells with number formats, readable column widths."""
    book = Workbook()
    ws = book.active
    ws.title = "".join(c for c in sheet if c not in "[]:*?/\\")[:31] or "Sheet1"
    kinds = [k for _, _, k in columns(kind)]
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            elif r > 1 and kinds[c - 1] in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[kinds[c - 1]]
    for c, (title, k) in enumerate(zip(rows[0], kinds), start=1):
        ws.cell(row=1, column=c).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(c)].width = max(WIDTHS.get(k, 10), len(title) * 2 + 2)
    ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
