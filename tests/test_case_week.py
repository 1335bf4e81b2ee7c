"""A week in the hall, Monday 21 to Friday 25 September 2026 (Friday is 中秋节, a holiday): the
承诺件 that outlive their visits, a 补正 that waits for its materials, and days that close.

Who sees what: the clerk at window 1 calls the next person as soon as a 承诺件 is accepted; the
back office finishes it days later from the case desk; the citizen's progress page follows it;
the SMS rating invitation goes out when the case is finished, not at 受理; a ticket nobody called
by closing time is 未办理 the next morning.
"""
from __future__ import annotations

import io
from datetime import datetime

import openpyxl

import pytest
from sqlalchemy import select

from printers.decode import decode, text_lines
from queue_server.app import create_app
from queue_server.clock import FrozenClock
from queue_server.dayclose import close_day
from queue_server.ratings.models import SmsMessage
from queue_server.supervision.alerts import check_warnings

from conftest import SMALL_HALL, HallDriver
from ratings.test_sms import token_in

COMPANY = "XK00101001"        # 企业设立登记: 承诺件, 3 working days, 4 materials (windows 1, 2)
SOLE_TRADER = "XK00102001"    # 个体工商户登记: 即办件
HUKOU = "QR00201001"          # 户口迁移: 即办件 (windows 3, 4)
PHONE = "13812345678"
SEPTEMBER = "from=2026-09-01&to=2026-09-30"


@pytest.fixture
def week(tmp_path, sqlite_db):
    clock = FrozenClock(datetime(2026, 9, 21, 9, 0))          # Monday
    app = create_app([SMALL_HALL], sqlite_db(tmp_path / "hall.db"), secret=b"test-secret", clock=clock)
    yield HallDriver(app.test_client()), clock, app.extensions["hall"]
    app.extensions["hall"].engine.dispose()


def morning(hall, clock, when: datetime) -> None:
    clock.set(when)
    hall.tokens.clear()          # yesterday's logins have expired: everyone signs in again


def outbox(rt) -> list[SmsMessage]:
    with rt.read() as s:
        return list(s.scalars(select(SmsMessage).order_by(SmsMessage.id)))


def desk(hall, who: str, **query) -> list[dict]:
    r = hall.c.get("/api/v1/cases", query_string=query, headers=hall.headers(who))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["cases"]


def progress(hall, query_code: str) -> dict:
    return hall.c.get(f"/api/v1/ratings/web/{query_code}").get_json()


def test_a_week_of_promised_cases(week):
    hall, clock, rt = week

    # ---- Monday: a 承诺件 is accepted, and the clerk calls the next three people at once.
    first = hall.issue(COMPANY, phone=PHONE).get_json()["ticket"]
    others = [hall.issue(COMPANY).get_json()["ticket"] for _ in range(3)]
    assert hall.op(1, "call-next").get_json()["ticket"]["id"] == first["id"]
    accepted = hall.op(1, "accept").get_json()
    case = accepted["case"]
    assert accepted["ticket"]["status"] == "done" and case["status"] == "accepted"
    assert case["due_at"] == "2026-09-24T17:30:00+08:00"          # Tue, Wed, Thu
    # The citizen rates the 受理 on the window's rating device as they leave (node accept).
    at_accept = hall.c.post("/api/v1/ratings", json={"case_id": case["id"], "level": 5, "channel": "device",
                                                     "node": "accept"}, headers=hall.headers("test-rater-01"))
    assert at_accept.status_code == 201, at_accept.get_json()
    for other in others:
        clock.advance(minutes=2)
        called = hall.op(1, "call-next")
        assert called.status_code == 200, called.get_json()
        assert called.get_json()["ticket"]["id"] == other["id"]
        assert hall.op(1, "accept").get_json()["ticket"]["status"] == "done"
    # Window 2: a 即办件 accepted and finished on the spot, in one step; a 承诺件 cannot be.
    hall.issue(SOLE_TRADER)
    hall.op(2, "call-next")
    done = hall.op(2, "accept", {"finish": True}).get_json()
    assert done["case"]["status"] == "finished" and done["ticket"]["status"] == "done"
    hall.issue(COMPANY)
    hall.op(2, "call-next")
    assert hall.op(2, "accept", {"finish": True}).get_json()["error"]["code"] == "wrong_state"
    hall.op(2, "skip")
    assert outbox(rt) == []                                        # nothing to rate yet: not finished
    assert progress(hall, first["query_code"])["case"]["status_text"] == "办理中"
    # The case desk of window 1's department: four open cases, the earliest due first.
    listed = desk(hall, "clerk01")
    assert [c["number"] for c in listed][0] == case["number"] and len(listed) == 4
    assert all(c["actions"] == ["suspend", "finish"] for c in listed)

    # Late Monday a citizen takes a number nobody will call before closing.
    clock.set(datetime(2026, 9, 21, 17, 10))
    stranded = hall.issue(HUKOU).get_json()["ticket"]
    assert progress(hall, stranded["query_code"])["case"] is None
    clock.set(datetime(2026, 9, 21, 17, 30))
    closed = close_day(rt, 1)
    assert closed["unserved"] == 1 and closed["waiting"]["total"] == 0
    assert close_day(rt, 1) is None                                # once
    live = hall.c.get("/api/v1/supervision/live", headers=hall.headers("supervisor")).get_json()
    assert (live["unserved"], live["waiting"], live["accepted"], live["issued"]) == (1, 0, 5, 7)

    # ---- Tuesday: the stranded ticket is 未办理; a 补正 notice lists exactly the two missing materials.
    morning(hall, clock, datetime(2026, 9, 22, 8, 45))
    shown = hall.c.get(f"/api/v1/tickets/{stranded['query_code']}").get_json()["ticket"]
    assert shown["status"] == "unserved" and shown["status_text"] == "未办理"
    assert hall.op(3, "call-next").get_json()["error"]["code"] == "queue_empty"     # the day started clean
    history = hall.c.get(f"/api/v1/tickets/{stranded['id']}", headers=hall.headers("test-display")).get_json()
    assert [h["type"] for h in history["history"]] == ["ticket.issued", "day.closed"]

    incomplete = hall.issue(COMPANY).get_json()["ticket"]
    hall.op(2, "call-next")
    materials = hall.matters[COMPANY]["materials"]
    missing = [materials[3], materials[1]]
    refused = hall.op(2, "correct", {"missing": ["不是本事项的材料"]})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "unknown_material"
    corrected = hall.op(2, "correct", {"missing": missing}).get_json()
    waiting_case = corrected["case"]
    assert waiting_case["status"] == "correction" and waiting_case["accepted_at"] is None
    assert waiting_case["due_at"] is None and waiting_case["missing"] == [materials[1], materials[3]]
    assert corrected["ticket"]["status"] == "done"
    assert hall.op(2, "call-next").get_json()["error"]["code"] == "queue_empty"     # the window is free
    printed = hall.c.get(f"/api/v1/cases/{waiting_case['id']}/correction-notice?format=escpos",
                         headers=hall.headers("clerk02"))
    assert printed.status_code == 200
    lines = [line.text for line in text_lines(decode(printed.data))]
    assert "一次性补正告知单" in lines
    listed_materials = [t for t in lines if t[:2] in ("1.", "2.", "3.", "4.")]
    assert listed_materials == [f"1. {materials[1]}", f"2. {materials[3]}"]
    assert any(waiting_case["number"] in t for t in lines)
    picture = hall.c.get(f"/api/v1/cases/{waiting_case['id']}/correction-notice", headers=hall.headers("clerk02"))
    assert picture.status_code == 200 and picture.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert progress(hall, incomplete["query_code"])["case"]["status_text"] == "待补正"

    # ---- Wednesday 17:30: one working day left on Monday's case: yellow.
    morning(hall, clock, datetime(2026, 9, 23, 17, 30))
    raised = check_warnings(rt)
    assert [(w["case_id"], w["level"]) for w in raised if w["kind"] == "case"] == [
        (c["id"], "yellow") for c in listed]
    assert {c["id"] for c in desk(hall, "clerk02", light="yellow")} == {c["id"] for c in listed}

    # ---- Thursday: another clerk finishes Monday's case at the desk; the SMS invitation goes out now.
    morning(hall, clock, datetime(2026, 9, 24, 10, 0))
    finished = hall.case_op(case["id"], "finish", who="clerk02")
    assert finished.status_code == 200, finished.get_json()
    assert finished.get_json()["case"]["on_time"] is True
    again = hall.case_op(case["id"], "finish", who="clerk02")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "wrong_state"
    sent = outbox(rt)
    assert len(sent) == 1 and sent[0].phone == PHONE and sent[0].created_at == clock.now()
    assert progress(hall, first["query_code"])["finished"] is True
    # The citizen rates the 办结 once, by the SMS link; a second rating of that node, by the web
    # page of the slip's query code, is refused and says which channel came first.
    by_sms = hall.c.post("/api/v1/ratings", json={"channel": "sms", "link": token_in(sent[0].text), "level": 4})
    assert by_sms.status_code == 201, by_sms.get_json()
    assert by_sms.get_json()["rating"]["node"] == "finish"
    by_web = hall.c.post("/api/v1/ratings", json={"channel": "web", "query_code": first["query_code"], "level": 1})
    assert by_web.status_code == 409 and by_web.get_json()["error"]["code"] == "already_rated"
    assert "短信" in by_web.get_json()["error"]["message"]
    # Picked up at the window the same afternoon (出件), once.
    clock.advance(hours=4)
    delivered = hall.case_op(case["id"], "deliver", {"how": "window"}, who="clerk02").get_json()["case"]
    assert delivered["delivered_at"] == "2026-09-24T14:00:00+08:00" and delivered["actions"] == []
    mail = hall.case_op(case["id"], "deliver", {"how": "mail", "note": "SF123"}, who="clerk02")
    assert mail.status_code == 409

    # The 补正 citizen comes back with the materials: a new number, accepted at window 1 with the case.
    back = hall.issue(COMPANY).get_json()["ticket"]
    hall.op(1, "call-next")
    resumed = hall.op(1, "accept", {"case_id": waiting_case["id"]}).get_json()["case"]
    assert resumed["id"] == waiting_case["id"] and resumed["status"] == "accepted"
    assert resumed["accepted_at"] == "2026-09-24T14:00:00+08:00"
    assert resumed["due_at"] == "2026-09-30T17:30:00+08:00"      # Fri is 中秋: Mon, Tue, Wed
    assert resumed["ticket_id"] == back["id"]
    # The first visit's slip (its query code) still follows the case.
    assert progress(hall, incomplete["query_code"])["case"]["status_text"] == "办理中"
    detail = hall.c.get(f"/api/v1/cases/{waiting_case['id']}", headers=hall.headers("supervisor")).get_json()
    assert [h["type"] for h in detail["history"]][:1] == ["case.correction"]
    assert "case.accepted" in [h["type"] for h in detail["history"]]

    # A clerk of another department sees none of this department's cases, nor may finish them.
    assert desk(hall, "clerk03", scope="hall") == []
    foreign = hall.case_op(resumed["id"], "finish", who="clerk03")
    assert foreign.status_code == 403 and foreign.get_json()["error"]["code"] == "not_your_department"

    # ---- Friday is a holiday; Monday 28 the red light is only on what is really late.
    morning(hall, clock, datetime(2026, 9, 28, 9, 0))
    lights = {c["number"]: c["light"] for c in desk(hall, "supervisor", scope="hall")}
    assert lights[resumed["number"]] == "green"
    assert all(light == "red" for number, light in lights.items() if number != resumed["number"])

    # The supervisor's figures for September: the dashboard, the monthly report and the XLSX agree.
    sup = hall.headers("supervisor")
    totals = hall.c.get(f"/api/v1/supervision/stats?{SEPTEMBER}", headers=sup).get_json()["totals"]
    assert (totals["ratings"], totals["satisfied"], totals["bad"], totals["voided"]) == (2, 2, 0, 0)
    report = hall.c.get("/api/v1/supervision/report?month=2026-09", headers=sup).get_json()["totals"]
    figures = ("ratings", "satisfied", "bad", "voided", "satisfaction_rate", "finished", "on_time")
    assert {k: report[k] for k in figures} == {k: totals[k] for k in figures}
    sheet = openpyxl.load_workbook(io.BytesIO(hall.c.get(
        f"/api/v1/supervision/export.xlsx?{SEPTEMBER}&by=department", headers=sup).get_data())).active
    head, *_, total = list(sheet.values)
    assert total[0] == "合计"
    assert total[head.index("满意率(%)")] == totals["satisfaction_rate"] == 100.0
    assert total[head.index("差评数(2+1)")] == 0 and total[head.index("按时办结件数")] == totals["on_time"]


def test_an_immediate_case_accepted_after_the_deadline_is_due_the_next_working_day(week):
    hall, clock, _ = week
    clock.set(datetime(2026, 9, 24, 17, 20))          # Thursday; Friday is 中秋
    hall.issue(HUKOU)
    hall.op(3, "call-next")
    clock.set(datetime(2026, 9, 24, 17, 40))          # accepted after the 17:30 deadline
    case = hall.op(3, "accept").get_json()["case"]
    assert case["due_at"] == "2026-09-28T17:30:00+08:00"


def test_refused_at_the_window_with_its_reason(week):
    hall, _, _ = week
    hall.issue(COMPANY)
    hall.op(1, "call-next")
    assert hall.op(1, "refuse", {"reason": "  "}).get_json()["error"]["code"] == "missing_field"
    refused = hall.op(1, "refuse", {"reason": "申请事项不属于本机关职权范围，请向市场监管总局申请"}).get_json()
    assert refused["case"]["status"] == "refused" and refused["case"]["status_text"] == "不予受理"
    assert refused["case"]["accepted_at"] is None and refused["ticket"]["status"] == "done"
    assert hall.case_op(refused["case"]["id"], "finish").get_json()["error"]["code"] == "wrong_state"
    assert desk(hall, "clerk01", status="refused")[0]["reason"].startswith("申请事项不属于")


def test_the_desk_and_the_warnings_agree_over_a_weekend(week):
    """A case due Monday 17:30 has one working day left on Saturday morning: the warning checker
    calls it yellow, and so does the desk (not 'green' because 55 wall-clock hours remain)."""
    hall, clock, rt = week
    clock.set(datetime(2026, 9, 22, 9, 0))                       # Tuesday
    hall.issue(COMPANY)
    hall.op(1, "call-next")
    case = hall.op(1, "accept").get_json()["case"]
    assert case["due_at"] == "2026-09-28T17:30:00+08:00"         # Wed, Thu, (Fri 中秋), Mon
    morning(hall, clock, datetime(2026, 9, 26, 10, 0))           # Saturday
    assert [c["light"] for c in desk(hall, "clerk01")] == ["yellow"]
    raised = check_warnings(rt)
    assert [(w["case_id"], w["level"]) for w in raised] == [(case["id"], "yellow")]
    assert [c["id"] for c in desk(hall, "supervisor", scope="hall", light="yellow")] == [case["id"]]
