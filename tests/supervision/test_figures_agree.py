"""满意率, 差评数, 作废数: one figure wherever a supervisor reads it — the dashboard's statistics,
the monthly report's summary, its rankings and its 差评 section, the XLSX (read back with
openpyxl) and the CSV. A generated March, plus what happens in a real hall: a default rating
replaced by a slip from the box, and a 差评 set aside by an upheld appeal."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import openpyxl
from sqlalchemy import select

from queue_server.models import Ticket
from queue_server.ratings.defaults import apply_defaults
from queue_server.ratings.models import Rating

from .test_stats import month  # noqa: F401  (the fixture)

MARCH = "from=2026-03-01&to=2026-03-31"
MARCH_1 = datetime(2026, 3, 1)


def _furnish(hall, rt, now) -> None:
    sup = hall.headers("supervisor")
    with rt.read() as s:
        default = s.scalars(select(Rating).where(Rating.is_default.is_(True), Rating.voided.is_(False),
                                                 Rating.rated_at >= MARCH_1, Rating.rated_at < now).order_by(Rating.id)).first()
        ballot = s.scalar(select(Ticket.ballot_code).where(Ticket.id == default.ticket_id))
        bad = s.scalars(select(Rating).where(Rating.level <= 2, Rating.voided.is_(False), Rating.is_default.is_(False),
                                             Rating.rated_at >= MARCH_1, Rating.rated_at < now)
                        .order_by(Rating.id)).first()
    bid = hall.c.post("/api/v1/slips/batches", headers=sup).get_json()["batch"]["id"]
    slip = hall.c.post(f"/api/v1/slips/batches/{bid}/scan", json={"code": ballot, "level": 4}, headers=sup)
    assert slip.status_code == 200, slip.get_json()
    appeal = hall.c.post(f"/api/v1/ratings/{bad.id}/appeal", json={"reason": "评价人误按"}, headers=sup)
    assert appeal.status_code == 201, appeal.get_json()
    decided = hall.c.post(f"/api/v1/appeals/{appeal.get_json()['appeal']['id']}/decide",
                          json={"decision": "upheld", "note": "调取录像核实属实"}, headers=hall.headers("admin"))
    assert decided.status_code == 200, decided.get_json()
    voided = {r["id"]: r for r in hall.c.get("/api/v1/ratings?limit=1000", headers=sup).get_json()["ratings"]}
    assert voided[default.id]["void_kind"] == "superseded" and "投箱评议" in voided[default.id]["void_reason"]
    assert voided[bad.id]["void_kind"] == "appeal" and voided[bad.id]["void_reason"].startswith("申诉成立")


def test_every_page_and_export_gives_the_same_figures(hall, month, app, clock):  # noqa: F811
    rt = app.extensions["hall"]
    apply_defaults(rt)  # what the hall's worker does every few minutes
    _furnish(hall, rt, clock.now())
    sup = hall.headers("supervisor")

    stats = hall.c.get(f"/api/v1/supervision/stats?{MARCH}&by=department", headers=sup).get_json()
    t = stats["totals"]
    want = {"satisfaction_rate": t["satisfaction_rate"], "bad": t["bad"], "voided": t["voided"]}
    assert t["bad"] > 0 and t["voided_by"]["appeal"] > 0 and t["voided_by"]["superseded"] == 1
    assert t["voided"] == sum(t["voided_by"].values())
    assert t["satisfaction_rate"] == round(100 * t["satisfied"] / t["ratings"], 2)

    # The monthly report: summary, rankings, the 差评 section.
    report = hall.c.get("/api/v1/supervision/report?month=2026-03", headers=sup).get_json()
    assert {k: report["totals"][k] for k in want} == want
    assert report["follow_ups"]["total"] == t["bad"]
    assert len([b for b in report["bad_ratings"] if not b["voided"]]) == t["bad"]
    assert report["follow_ups"]["voided"] == len([b for b in report["bad_ratings"] if b["voided"]])
    ranked = report["departments_by_satisfaction"]
    assert sum(g["bad"] for g in ranked) == t["bad"]
    assert sum(g["voided"] for g in stats["groups"]) == t["voided"]
    html = hall.c.get("/api/v1/supervision/report?month=2026-03&format=html", headers=sup).get_data(as_text=True)
    assert re.search(rf"差评 <b[^>]*>{t['bad']}</b> 条；", html)
    assert re.search(rf"本月差评 <b[^>]*>{t['bad']}</b> 条", html)
    assert f"作废评价 {t['voided']} 条（申诉成立 {t['voided_by']['appeal']} 条，默认评价被群众评价取代 1 条" in html
    assert f"满意率 <b>{t['satisfaction_rate']:.1f}%</b>" in html

    # The XLSX, read back: the 合计 row, and the groups summing to it.
    x = hall.c.get(f"/api/v1/supervision/export.xlsx?{MARCH}&by=department", headers=sup)
    sheet = openpyxl.load_workbook(io.BytesIO(x.get_data())).active
    rows = list(sheet.values)
    head = rows[0]
    col = {name: head.index(title) for name, title in
           [("satisfaction_rate", "满意率(%)"), ("bad", "差评数(2+1)"), ("voided", "作废评价数"),
            ("on_time", "按时办结件数")]}
    total = rows[-1]
    assert total[0] == "合计"
    assert {k: total[col[k]] for k in want} == want
    assert sum(r[col["bad"]] for r in rows[1:-1]) == t["bad"] and sum(r[col["voided"]] for r in rows[1:-1]) == t["voided"]
    assert isinstance(total[col["on_time"]], int) and total[col["on_time"]] == t["on_time"]  # a count, not 是/否
    # The CSV: the same 合计.
    text = hall.c.get(f"/api/v1/supervision/export.csv?{MARCH}&by=department", headers=sup).get_data().decode("utf-8-sig")
    csv_total = list(csv.reader(io.StringIO(text)))[-1]
    assert csv_total[0] == "合计"
    assert float(csv_total[col["satisfaction_rate"]]) == t["satisfaction_rate"]
    assert int(csv_total[col["bad"]]) == t["bad"] and int(csv_total[col["voided"]]) == t["voided"]


def test_case_export_has_date_cells_words_and_minutes(hall, month):  # noqa: F811
    x = hall.c.get(f"/api/v1/supervision/export.xlsx?what=cases&{MARCH}", headers=hall.headers("supervisor"))
    sheet = openpyxl.load_workbook(io.BytesIO(x.get_data())).active
    rows = list(sheet.values)
    head = rows[0]
    first = next(r for r in rows[1:] if r[head.index("办结时间")] is not None)
    assert isinstance(first[head.index("受理时间")], datetime) and isinstance(first[head.index("办结时间")], datetime)
    assert sheet.cell(row=2, column=head.index("受理时间") + 1).number_format == "yyyy-mm-dd hh:mm:ss"
    statuses = {r[head.index("状态")] for r in rows[1:]}
    assert statuses <= {"办理中", "已办结"} and "已办结" in statuses
    assert first[head.index("按时办结")] in ("是", "否")
    cases = {c["number"]: c for c in hall.c.get(f"/api/v1/supervision/cases?{MARCH}",
                                                 headers=hall.headers("supervisor")).get_json()["cases"]}
    c = cases[first[0]]
    assert first[head.index("办理(分钟)")] == round(c["service_seconds"] / 60, 1)
    assert head.index("等候(分钟)") and "等候(秒)" not in head
