"""CSV and XLSX exports of the statistics (one row per group) and of the drill-down cases.

CSV is UTF-8 with a BOM so Excel and WPS open the Chinese right. Text that a spreadsheet would
take for a formula (=, +, -, @ first) is prefixed with an apostrophe: the names come from
config, but nobody should be able to smuggle a formula into a supervisor's spreadsheet."""
from __future__ import annotations

import csv
import io
from typing import Any

from .xlsx import workbook

GROUP_COLUMNS = [
    ("name", "名称"), ("accepted", "受理件数"), ("immediate", "即办件数"), ("immediate_rate", "即办率(%)"),
    ("finished", "办结件数"), ("on_time", "按时办结件数"), ("on_time_rate", "按时办结率(%)"),
    ("ratings", "有效评价数"), ("satisfied", "满意数(5+4)"), ("good", "好评数(5+4+3)"), ("bad", "差评数(2+1)"),
    ("satisfaction_rate", "满意率(%)"), ("good_rate", "好评率(%)"), ("defaults", "默认评价数"),
    ("good_rate_with_defaults", "含默认好评率(%)"), ("voided", "作废评价数"),
    ("wait_avg", "平均等候(秒)"), ("wait_p90", "P90等候(秒)"), ("service_avg", "平均办理(秒)"),
    ("service_p90", "P90办理(秒)"),
]
CASE_COLUMNS = [
    ("number", "办件编号"), ("ticket_number", "号码"), ("matter_name", "事项"), ("kind", "办件类型"),
    ("department", "部门"), ("window_number", "窗口"), ("staff_name", "工作人员"), ("status", "状态"),
    ("issued_at", "取号时间"), ("called_at", "叫号时间"), ("accepted_at", "受理时间"), ("due_at", "承诺期限"),
    ("finished_at", "办结时间"), ("on_time", "按时办结"), ("wait_seconds", "等候(秒)"),
    ("service_seconds", "办理(秒)"), ("ratings", "评价"),
]


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _ratings_text(ratings: list[dict]) -> str:
    return "；".join(f"{r['channel_word']}:{r['level_word']}" + ("(默认)" if r["is_default"] else "")
                    + ("(作废)" if r["voided"] else "") for r in ratings)


def table(kind: str, data: list[dict]) -> list[list]:
    columns = GROUP_COLUMNS if kind == "groups" else CASE_COLUMNS
    out = [[title for _, title in columns]]
    for item in data:
        row = []
        for key, _ in columns:
            value = item.get(key)
            if key == "ratings" and kind == "cases":
                value = _ratings_text(value or [])
            elif key == "on_time" and value is not None:
                value = "是" if value else "否"
            row.append(_safe(value))
        out.append(row)
    return out


def to_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list], sheet: str) -> bytes:
    return workbook(rows, sheet)
