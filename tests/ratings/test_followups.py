"""差评 follow-ups: opened by every 差评, due in working days across holidays, worked through
核实 → 整改 → 回访 (the rater rates the fix) by the department or supervisors; 申诉复核 voids a
rating with the reason kept; the default rating after N natural days."""
from __future__ import annotations

from datetime import datetime

from queue_server.ratings.defaults import apply_defaults

from .helpers import RATER, error, rate, serve


def bad_rating(hall, clock, **kw) -> dict:
    served = serve(hall, clock, **kw)
    r = rate(hall, {"level": 2, "channel": "web", "query_code": served["ticket"]["query_code"],
                    "tags": ["办事效率低"], "comment": "材料说了三次才说清"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["rating"]


def test_follow_up_deadline_counts_working_days_across_national_day(hall, clock):
    # 2026-09-30 (Wed) is the eve of National Day (10-01 … 10-07 off; Sat 10-10 is a 调休 workday).
    # Five working days after the 差评: 10-08, 10-09, 10-10, 10-12, 10-13 → due 2026-10-13 17:30.
    clock.set(datetime(2026, 9, 30, 10, 0))
    rating = bad_rating(hall, clock)
    f = hall.c.get(f"/api/v1/follow-ups/{rating['follow_up_id']}", headers=hall.headers("supervisor")).get_json()["follow_up"]
    assert f["due_at"] == "2026-10-13T17:30:00+08:00"
    assert f["department"]["name"] == "市场监督管理局" and f["stage"] == "verify" and f["open"]
    assert f["rating"]["level"] == 2 and f["rating"]["comment"] == "材料说了三次才说清"


def test_follow_up_steps_in_order_to_closure(hall, clock):
    rating = bad_rating(hall, clock)
    fid = rating["follow_up_id"]

    def step(name, who="supervisor", **body):
        return hall.c.post(f"/api/v1/follow-ups/{fid}/{name}", json={"note": "说明", **body}, headers=hall.headers(who))

    assert error(step("fix")) == "wrong_stage"
    assert error(step("verify", note="")) == "missing_field"
    # Window 2's clerk is of the same department (市场监督管理局); window 3's is not.
    assert step("verify", who="clerk03").status_code == 403
    assert step("verify", who="clerk02").status_code == 200
    assert step("fix").status_code == 200
    assert error(step("callback")) == "invalid_fix_rating"
    closed = step("callback", fix_rating="满意")
    assert closed.status_code == 200
    body = closed.get_json()["follow_up"]
    assert body["stage"] == "closed" and body["fix_rating"] == "满意" and not body["open"]
    assert [s["stage"] for s in body["steps"]] == ["opened", "verify", "fix", "callback"]
    assert body["steps"][1]["actor"] == "staff:clerk02"
    assert error(step("callback", fix_rating="满意")) == "wrong_stage"
    open_list = hall.c.get("/api/v1/follow-ups", headers=hall.headers("supervisor")).get_json()["follow_ups"]
    assert open_list == []


def test_good_ratings_open_no_follow_up(hall, clock):
    served = serve(hall, clock)
    r = rate(hall, {"case_id": served["case"]["id"], "level": 3, "channel": "device"}, RATER)
    assert r.get_json()["rating"]["follow_up_id"] is None


def test_appeal_voids_a_rating_with_the_reason_kept(hall, clock):
    rating = bad_rating(hall, clock)
    filed = hall.c.post(f"/api/v1/ratings/{rating['id']}/appeal", json={"reason": "评价人误选，已电话确认"},
                        headers=hall.headers("clerk01"))
    assert filed.status_code == 201, filed.get_json()
    appeal = filed.get_json()["appeal"]
    again = hall.c.post(f"/api/v1/ratings/{rating['id']}/appeal", json={"reason": "再次"}, headers=hall.headers("clerk01"))
    assert error(again) == "appeal_pending"
    other_window = hall.c.post(f"/api/v1/ratings/{rating['id']}/appeal", json={"reason": "x"}, headers=hall.headers("clerk03"))
    assert error(other_window) == "not_your_window"
    assert hall.c.post(f"/api/v1/appeals/{appeal['id']}/decide", json={"decision": "upheld", "note": "同意"},
                       headers=hall.headers("clerk01")).status_code == 403
    decided = hall.c.post(f"/api/v1/appeals/{appeal['id']}/decide",
                          json={"decision": "upheld", "note": "录音核实为误评"}, headers=hall.headers("supervisor"))
    assert decided.status_code == 200, decided.get_json()
    voided = decided.get_json()["appeal"]["rating"]
    assert voided["voided"] is True and "评价人误选" in voided["void_reason"] and "录音核实为误评" in voided["void_reason"]
    f = hall.c.get(f"/api/v1/follow-ups/{rating['follow_up_id']}", headers=hall.headers("supervisor")).get_json()["follow_up"]
    assert f["stage"] == "voided"
    assert error(hall.c.post(f"/api/v1/appeals/{appeal['id']}/decide", json={"decision": "rejected", "note": "x"},
                             headers=hall.headers("admin"))) == "already_decided"
    # The rating is kept (voided, not deleted).
    ratings = hall.c.get(f"/api/v1/ratings?case_id={rating['case_id']}", headers=hall.headers("supervisor")).get_json()["ratings"]
    assert [r["voided"] for r in ratings] == [True]


def test_one_may_not_decide_ones_own_appeal(hall, clock):
    rating = bad_rating(hall, clock)
    appeal = hall.c.post(f"/api/v1/ratings/{rating['id']}/appeal", json={"reason": "恶意差评"},
                         headers=hall.headers("supervisor")).get_json()["appeal"]
    own = hall.c.post(f"/api/v1/appeals/{appeal['id']}/decide", json={"decision": "upheld", "note": "x"},
                      headers=hall.headers("supervisor"))
    assert error(own) == "own_appeal"
    rejected = hall.c.post(f"/api/v1/appeals/{appeal['id']}/decide", json={"decision": "rejected", "note": "证据不足"},
                           headers=hall.headers("admin")).get_json()["appeal"]
    assert rejected["status"] == "rejected" and rejected["rating"]["voided"] is False


def test_default_rating_after_seven_natural_days(hall, clock, app):
    rated = serve(hall, clock)
    assert rate(hall, {"case_id": rated["case"]["id"], "level": 4, "channel": "device"}, RATER).status_code == 201
    unrated = serve(hall, clock, code="QR00201001", window=3)["case"]
    rt = app.extensions["hall"]
    clock.advance(days=6, hours=23)
    assert apply_defaults(rt) == 0
    clock.advance(hours=1)
    assert apply_defaults(rt) == 1 and apply_defaults(rt) == 0
    ratings = hall.c.get(f"/api/v1/ratings?case_id={unrated['id']}", headers=hall.headers("supervisor")).get_json()["ratings"]
    (default,) = ratings
    assert (default["channel"], default["level"], default["is_default"]) == ("default", 5, True)
    assert default["rated_at"] == "2026-03-17T09:20:00+08:00"  # 办结 + 7 days, not when the job ran


def test_default_level_is_a_hall_setting_and_a_late_slip_supersedes_it(hall, clock, app):
    rt = app.extensions["hall"]
    for cfg in rt.halls.values():
        cfg.ratings = {"default_level": 3, "default_after_days": 7}  # Guangdong: 基本满意
    served = serve(hall, clock)
    clock.advance(days=8)
    assert apply_defaults(rt) == 1
    sup = hall.headers("supervisor")
    bid = hall.c.post("/api/v1/slips/batches", headers=sup).get_json()["batch"]["id"]
    r = hall.c.post(f"/api/v1/slips/batches/{bid}/scan", json={"code": served["ticket"]["ballot_code"], "level": 2},
                    headers=sup)
    assert r.status_code == 200, r.get_json()
    ratings = {x["channel"]: x for x in hall.c.get(f"/api/v1/ratings?case_id={served['case']['id']}",
                                                  headers=hall.headers("supervisor")).get_json()["ratings"]}
    assert ratings["default"]["level"] == 3 and ratings["default"]["voided"] is True
    assert "投箱评议" in ratings["default"]["void_reason"]
    assert ratings["slip"]["voided"] is False
