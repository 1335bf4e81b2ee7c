"""The monthly report (月度通报): the month's figures, the rankings a hall publishes (departments
and windows by 满意率 and by 按时办结率), every 差评 with its follow-up status, and the warnings.
Rendered as printable HTML (A4, print CSS); the same data is available as JSON."""
from __future__ import annotations

import calendar as months
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Hall
from ..ratings.levels import BAD
from ..ratings.models import FollowUp, Rating
from ..ratings.shapes import rating_dict, STAGE_WORDS
from .models import SupervisionWarning
from .stats import bounds, period_stats


def month_bounds(month: str) -> tuple[date, date]:
    """'2026-03' → (2026-03-01, 2026-03-31); ValueError on anything else."""
    year, m = (int(x) for x in month.split("-"))
    if not (2000 <= year <= 2100 and 1 <= m <= 12) or len(month) != 7:
        raise ValueError(month)
    return date(year, m, 1), date(year, m, months.monthrange(year, m)[1])


def _ranked(groups: list[dict], key: str, count: str) -> list[dict]:
    rows = [g for g in groups if g.get(count)]
    rows.sort(key=lambda g: (-(g[key] if g[key] is not None else -1), -g[count], str(g["name"])))
    return [{"place": i, **g} for i, g in enumerate(rows, start=1)]


def report_data(s: Session, hall_id: int, month: str, now: datetime) -> dict[str, Any]:
    start, end = month_bounds(month)
    hall = s.get(Hall, hall_id)
    by_department = period_stats(s, hall_id, start, end, "department")
    by_window = period_stats(s, hall_id, start, end, "window")
    lo, hi = bounds(start, end)
    bad = s.scalars(select(Rating).where(Rating.hall_id == hall_id, Rating.rated_at >= lo, Rating.rated_at < hi,
                                         Rating.level.in_(BAD), Rating.is_default.is_(False))
                    .order_by(Rating.rated_at)).all()
    bad_rows = []
    for r in bad:
        item = rating_dict(s, r)
        f = s.scalar(select(FollowUp).where(FollowUp.rating_id == r.id))
        item["follow_up"] = None if f is None else {
            "stage": f.stage, "stage_word": STAGE_WORDS.get(f.stage, f.stage), "due_at": f.due_at.isoformat(" ", "minutes"),
            "closed_at": f.closed_at.isoformat(" ", "minutes") if f.closed_at else None,
            "overdue": (f.closed_at or now) > f.due_at and f.stage != "voided", "fix_rating": f.fix_rating,
            "open": f.stage not in ("closed", "voided")}
        bad_rows.append(item)
    counted = [b for b in bad_rows if not b["voided"]]  # the 差评 of the summary: the same rule as stats
    warnings = dict(s.execute(select(SupervisionWarning.level, func.count()).where(
        SupervisionWarning.hall_id == hall_id, SupervisionWarning.raised_at >= lo, SupervisionWarning.raised_at < hi,
        SupervisionWarning.kind == "case").group_by(SupervisionWarning.level)).all())
    return {
        "hall": {"code": hall.code, "name": hall.name}, "month": month, "made_at": now.isoformat(" ", "minutes"),
        "from": start.isoformat(), "to": end.isoformat(),
        "totals": by_department["totals"], "formulas": by_department["formulas"],
        "departments_by_satisfaction": _ranked(by_department["groups"], "satisfaction_rate", "ratings"),
        "departments_by_on_time": _ranked(by_department["groups"], "on_time_rate", "finished"),
        "windows_by_satisfaction": _ranked(by_window["groups"], "satisfaction_rate", "ratings"),
        "windows_by_on_time": _ranked(by_window["groups"], "on_time_rate", "finished"),
        "bad_ratings": counted + [b for b in bad_rows if b["voided"]],
        "follow_ups": {"total": len(counted),
                       "closed": sum(1 for b in counted if b["follow_up"] and b["follow_up"]["stage"] == "closed"),
                       "open": sum(1 for b in counted if b["follow_up"] and b["follow_up"]["open"]),
                       "voided": len(bad_rows) - len(counted)},
        "warnings": {"yellow": warnings.get("yellow", 0), "red": warnings.get("red", 0)},
    }


def standalone_html(app, hall_id: int, month: str) -> str:
    """The report as one self-contained HTML file (styles inlined), e.g. for `hall monthly-report`
    to write to disk or mail; open it in a browser and print to PDF."""
    from pathlib import Path

    from flask import render_template
    from markupsafe import escape     # the title is written here, not by Jinja: escape it by hand
    rt = app.extensions["hall"]
    css = (Path(__file__).parent / "static" / "report.css").read_text(encoding="utf-8")
    with app.app_context(), rt.read() as s:
        data = report_data(s, hall_id, month, rt.clock.now())
        body = render_template("supervision/report_body.html", r=data)
    return ("<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(data['hall']['name'])} {escape(month)} 月度通报</title>"
            "<style>:root{--hall-font:\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;--hall-muted:#5b6776}"
            f"body{{margin:0;background:#eef2f7}}{css}</style></head>"
            f"<body class=\"report-page\"><main class=\"report\">{body}</main></body></html>\n")
