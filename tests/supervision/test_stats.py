"""Statistics against figures computed by hand from a generated month, exports, drill-down."""
from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from datetime import datetime

import pytest

from .month import generate

LO, HI = datetime(2026, 3, 1), datetime(2026, 4, 1)


def inside(t) -> bool:
    return t is not None and LO <= t < HI


def pct(part: int, whole: int):
    return None if whole == 0 else part * 100 / whole


def nearest_rank_p90(values):
    if not values:
        return None
    values = sorted(values)
    return values[math.ceil(len(values) * 9 / 10) - 1]


def expected(plan, keep=lambda p: True, waits_need_case: bool = False) -> dict:
    plan = [p for p in plan if keep(p)]
    accepted = [p for p in plan if inside(p.accepted)]
    finished = [p for p in plan if inside(p.finished)]
    ratings = [r for p in plan for r in p.ratings if inside(r["rated"])]
    real = [r for r in ratings if not r["voided"] and not r["default"]]
    defaults = [r for r in ratings if not r["voided"] and r["default"]]
    count = {n: len([r for r in real if r["level"] == n]) for n in (1, 2, 3, 4, 5)}
    # By clerk, a skipped ticket has no clerk on record: its wait counts in no clerk's figures.
    waits = [(p.called - p.issued).total_seconds() for p in plan
             if inside(p.called) and (p.case_id or not waits_need_case)]
    services = [(p.finished - p.called).total_seconds() for p in finished]
    return {
        "accepted": len(accepted),
        "immediate": len([p for p in accepted if p.kind == "即办件"]),
        "immediate_rate": pct(len([p for p in accepted if p.kind == "即办件"]), len(accepted)),
        "finished": len(finished),
        "on_time": len([p for p in finished if p.finished <= p.due]),
        "on_time_rate": pct(len([p for p in finished if p.finished <= p.due]), len(finished)),
        "ratings": len(real),
        "satisfaction_rate": pct(count[5] + count[4], len(real)),
        "good_rate": pct(count[5] + count[4] + count[3], len(real)),
        "bad": count[2] + count[1],
        "defaults": len(defaults),
        "good_rate_with_defaults": pct(count[5] + count[4] + count[3] + len([r for r in defaults if r["level"] >= 3]),
                                       len(real) + len(defaults)),
        "voided": len([r for r in ratings if r["voided"]]),
        "wait_avg": sum(waits) / len(waits) if waits else None,
        "wait_p90": nearest_rank_p90(waits),
        "service_avg": sum(services) / len(services) if services else None,
        "service_p90": nearest_rank_p90(services),
        "channels": {c: len([r for r in ratings if r["channel"] == c and not r["voided"]])
                     for c in ("device", "sms", "slip", "web", "default")},
    }


def assert_figures(got: dict, want: dict) -> None:
    for key, value in want.items():
        if value is None or isinstance(value, (dict, int)) and not isinstance(value, float):
            assert got[key] == value, key
        else:
            assert got[key] == pytest.approx(value, abs=0.051), key


@pytest.fixture
def month(app):
    rt = app.extensions["hall"]
    hall_id = next(iter(rt.halls))
    return generate(rt, hall_id)


def stats(hall, query: str) -> dict:
    r = hall.c.get(f"/api/v1/supervision/stats?from=2026-03-01&to=2026-03-31{query}", headers=hall.headers("supervisor"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_month_totals_match_hand_computed_figures(hall, month):
    want = expected(month)
    assert want["accepted"] > 100 and want["late" if False else "finished"] > 100  # a real month
    assert 0 < want["on_time"] < want["finished"] and want["defaults"] > 0 and want["voided"] > 0
    got = stats(hall, "")["totals"]
    assert_figures(got, want)
    assert got["late"] == want["finished"] - want["on_time"]


@pytest.mark.parametrize("by,attr", [("department", "department_id"), ("window", "window_id"),
                                     ("staff", "staff_id"), ("matter", "matter_id")])
def test_groups_match_hand_computed_figures(hall, month, by, attr):
    result = stats(hall, f"&by={by}")
    groups = {g["key"]: g for g in result["groups"]}
    keys = {getattr(p, attr) for p in month}
    for key in keys:
        want = expected(month, lambda p, key=key: getattr(p, attr) == key, waits_need_case=by == "staff")
        if not any(want[k] for k in ("accepted", "finished", "ratings", "defaults", "voided")) and want["wait_avg"] is None:
            continue
        assert key in groups, (by, key)
        assert_figures(groups[key], want)
    assert sum(g["accepted"] for g in result["groups"]) == result["totals"]["accepted"]


def test_drill_down_lists_the_cases_behind_a_figure(hall, month):
    sup = hall.headers("supervisor")
    late = hall.c.get("/api/v1/supervision/cases?from=2026-03-01&to=2026-03-31&only=late", headers=sup).get_json()["cases"]
    want = {p.case_id for p in month if p.finished and p.finished > p.due and (inside(p.accepted) or inside(p.finished))}
    assert {c["id"] for c in late} == want and all(c["on_time"] is False for c in late)
    some = next(p for p in month if inside(p.accepted) and p.window_id)
    rows = hall.c.get(f"/api/v1/supervision/cases?from=2026-03-01&to=2026-03-31&by=window&key={some.window_id}",
                      headers=sup).get_json()["cases"]
    assert {c["id"] for c in rows} == {p.case_id for p in month if p.case_id and p.window_id == some.window_id
                                        and (inside(p.accepted) or inside(p.finished))}
    bad = hall.c.get("/api/v1/supervision/cases?from=2026-03-01&to=2026-03-31&only=bad", headers=sup).get_json()["cases"]
    assert all(any(r["level"] <= 2 and not r["voided"] for r in c["ratings"]) for c in bad)


def test_csv_and_xlsx_exports(hall, month):
    sup = hall.headers("supervisor")
    got = stats(hall, "&by=department")
    r = hall.c.get("/api/v1/supervision/export.csv?from=2026-03-01&to=2026-03-31&by=department", headers=sup)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:4] == ["名称", "受理件数", "即办件数", "即办率(%)"]
    assert rows[-1][0] == "合计" and int(rows[-1][1]) == got["totals"]["accepted"]
    assert len(rows) == len(got["groups"]) + 2

    x = hall.c.get("/api/v1/supervision/export.xlsx?from=2026-03-01&to=2026-03-31&by=department", headers=sup)
    assert x.status_code == 200 and "spreadsheetml" in x.mimetype
    with zipfile.ZipFile(io.BytesIO(x.get_data())) as z:
        assert z.testzip() is None
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        assert "[Content_Types].xml" in z.namelist()
    assert "名称" in sheet and "合计" in sheet
    assert f"<v>{got['totals']['accepted']}</v>" in sheet

    cases = hall.c.get("/api/v1/supervision/export.csv?what=cases&from=2026-03-01&to=2026-03-31&only=late", headers=sup)
    lines = list(csv.reader(io.StringIO(cases.get_data().decode("utf-8-sig"))))
    assert lines[0][0] == "办件编号" and all(line[13] == "否" for line in lines[1:])
    assert hall.c.get("/api/v1/supervision/export.pdf", headers=sup).status_code == 400
    assert hall.c.get("/api/v1/supervision/export.csv", headers=hall.headers("clerk01")).status_code == 403


def test_xlsx_opens_in_a_real_spreadsheet_reader(hall, month):
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl reads the XLSX back (test extra)")
    x = hall.c.get("/api/v1/supervision/export.xlsx?what=cases&from=2026-03-01&to=2026-03-31",
                   headers=hall.headers("supervisor"))
    book = openpyxl.load_workbook(io.BytesIO(x.get_data()))
    values = list(book.active.values)
    assert values[0][:3] == ("办件编号", "号码", "事项") and len(values) > 100
    assert isinstance(values[1][14], (int, float))  # numbers stay numbers
    g = hall.c.get("/api/v1/supervision/export.xlsx?from=2026-03-01&to=2026-03-31&by=window",
                   headers=hall.headers("supervisor"))
    rows = list(openpyxl.load_workbook(io.BytesIO(g.get_data())).active.values)
    assert rows[-1][0] == "合计" and rows[0][7] == "按时办结率(%)"


def test_period_and_group_are_checked(hall):
    sup = hall.headers("supervisor")
    for query in ("from=2026-13-01", "from=2026-03-10&to=2026-03-01", "by=planet", "from=2020-01-01&to=2026-01-01"):
        r = hall.c.get(f"/api/v1/supervision/stats?{query}", headers=sup)
        assert r.status_code == 400, query


def test_monthly_report_rankings(hall, month, clock):
    sup = hall.headers("supervisor")
    data = hall.c.get("/api/v1/supervision/report?month=2026-03", headers=sup).get_json()
    ranks = data["departments_by_satisfaction"]
    rates = [g["satisfaction_rate"] for g in ranks]
    assert rates == sorted(rates, reverse=True) and [g["place"] for g in ranks] == list(range(1, len(ranks) + 1))
    on_time = [g["on_time_rate"] for g in data["windows_by_on_time"]]
    assert on_time == sorted(on_time, reverse=True)
    want_bad = [(p.case_id, r["level"]) for p in month for r in p.ratings
                if inside(r["rated"]) and r["level"] <= 2 and not r["default"]]
    assert sorted((b["case_id"], b["level"]) for b in data["bad_ratings"]) == sorted(want_bad)
    html = hall.c.get("/api/v1/supervision/report?month=2026-03&format=html", headers=sup)
    assert html.status_code == 200 and html.mimetype == "text/html"
    body = html.get_data(as_text=True)
    assert "2026年3月" in body and "满意率" in body and ranks[0]["name"] in body
    assert re.search(r"按时办结率", body)
    assert hall.c.get("/api/v1/supervision/report?month=2026-3", headers=sup).status_code == 400
