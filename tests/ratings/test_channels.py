"""Each rating channel end to end through the API, and the refusals (一次一评, only finished cases,
only the right device / link / query code / supervisor)."""
from __future__ import annotations

from .helpers import RATER, accept_only, error, rate, serve


def test_device_rates_its_windows_just_finished_case_once(hall, clock):
    served = serve(hall, clock)
    case = served["case"]
    pending = hall.c.get("/api/v1/ratings/device", headers=hall.headers(RATER)).get_json()
    assert pending["case"]["id"] == case["id"] and pending["case"]["rated"] is False
    assert pending["case"]["staff"]["name"] == "王芳"

    r = rate(hall, {"case_id": case["id"], "level": 5, "channel": "device", "tags": ["服务热情"]}, RATER)
    assert r.status_code == 201, r.get_json()
    rating = r.get_json()["rating"]
    assert (rating["level"], rating["level_word"], rating["channel"], rating["node"]) == (5, "非常满意", "device", "finish")
    assert rating["window"]["number"] == 1 and rating["staff"]["name"] == "王芳"
    assert rating["department"]["name"] == "市场监督管理局" and rating["matter"]["code"] == "XK00101001"
    assert rating["follow_up_id"] is None

    again = rate(hall, {"case_id": case["id"], "level": 1, "channel": "device"}, RATER)
    assert again.status_code == 409 and error(again) == "already_rated"

    # The event went out and is in the ticket's history.
    history = hall.c.get(f"/api/v1/tickets/{served['ticket']['query_code']}").get_json()["history"]
    assert history[-1]["type"] == "rating.received"


def test_device_of_another_window_is_refused(hall, clock):
    case = serve(hall, clock, code="QR00201001", window=3)["case"]
    r = rate(hall, {"case_id": case["id"], "level": 5, "channel": "device"}, RATER)
    assert r.status_code == 403 and error(r) == "not_your_window"


def test_device_only_for_the_last_case_and_only_shortly_after(hall, clock):
    first = serve(hall, clock)["case"]
    second = serve(hall, clock)["case"]
    late = rate(hall, {"case_id": first["id"], "level": 5, "channel": "device"}, RATER)
    assert late.status_code == 409 and error(late) == "rating_closed"
    clock.advance(minutes=6)  # device_seconds defaults to 300
    too_late = rate(hall, {"case_id": second["id"], "level": 5, "channel": "device"}, RATER)
    assert too_late.status_code == 409 and error(too_late) == "rating_closed"
    assert hall.c.get("/api/v1/ratings/device", headers=hall.headers(RATER)).get_json()["case"] is None


def test_only_rater_devices_use_the_device_channel(hall, clock):
    case = serve(hall, clock)["case"]
    r = rate(hall, {"case_id": case["id"], "level": 5, "channel": "device"}, "clerk01")
    assert r.status_code == 403 and error(r) == "forbidden_role"
    anonymous = rate(hall, {"case_id": case["id"], "level": 5, "channel": "device"})
    assert anonymous.status_code == 401


def test_unfinished_case_is_refused_on_every_channel(hall, clock):
    accepted = accept_only(hall)
    case, ticket = accepted["case"], accepted["ticket"]
    device = rate(hall, {"case_id": case["id"], "level": 5, "channel": "device"}, RATER)
    assert device.status_code == 409 and error(device) == "case_not_finished"
    web = rate(hall, {"level": 5, "channel": "web", "query_code": ticket["query_code"]})
    assert web.status_code == 409 and error(web) == "case_not_finished"
    slip = rate(hall, {"case_id": case["id"], "level": 5, "channel": "slip"}, "supervisor")
    assert slip.status_code == 400 and error(slip) == "slip_needs_batch"  # slips: only in a batch


def test_level_tags_channel_and_body_are_checked(hall, clock):
    case = serve(hall, clock)["case"]
    for bad in (0, 6, "5", True, 4.5, None):
        r = rate(hall, {"case_id": case["id"], "level": bad, "channel": "device"}, RATER)
        assert r.status_code == 400, (bad, r.get_json())
    wrong_tag = rate(hall, {"case_id": case["id"], "level": 5, "channel": "device", "tags": ["服务态度差"]}, RATER)
    assert wrong_tag.status_code == 400 and error(wrong_tag) == "invalid_tag"
    assert error(rate(hall, {"case_id": case["id"], "level": 5, "channel": "default"}, RATER)) == "invalid_channel"
    assert error(rate(hall, {"case_id": case["id"], "level": 5, "channel": "device", "tags": "x"}, RATER)) == "invalid_tags"
    assert hall.c.post("/api/v1/ratings", data=b"{not json", headers=hall.headers(RATER)).status_code == 400
    assert hall.c.post("/api/v1/ratings", data=b"[1]", headers=hall.headers(RATER)).status_code == 400
    # Nothing was recorded by the refused attempts: the real rating still goes through.
    assert rate(hall, {"case_id": case["id"], "level": 4, "channel": "device"}, RATER).status_code == 201


def test_web_rating_with_the_query_code_once(hall, clock):
    served = serve(hall, clock, code="QR00201001", window=3)
    code = served["ticket"]["query_code"]
    state = hall.c.get(f"/api/v1/ratings/web/{code}").get_json()
    assert state["finished"] is True and state["rated"] is False and state["case"]["window_number"] == 3
    r = rate(hall, {"level": 3, "channel": "web", "query_code": code.lower(), "comment": "排队稍久"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["rating"]["comment"] == "排队稍久"
    assert hall.c.get(f"/api/v1/ratings/web/{code}").get_json()["rated"] is True
    again = rate(hall, {"level": 5, "channel": "web", "query_code": code})
    assert again.status_code == 409 and error(again) == "already_rated"
    forged = rate(hall, {"level": 5, "channel": "web", "query_code": "ZZZZZZZZ"})
    assert forged.status_code == 403 and error(forged) == "invalid_query_code"
    # A query code rates its own case only.
    other = serve(hall, clock, code="QR00201001", window=3)["case"]
    mismatch = rate(hall, {"level": 5, "channel": "web", "query_code": code, "case_id": other["id"]})
    assert mismatch.status_code == 409


def test_the_first_channel_wins_the_node(hall, clock):
    # 一事一评: the device rated 办结 first; the web page finds it taken, and says by what.
    served = serve(hall, clock)
    case = served["case"]
    assert rate(hall, {"case_id": case["id"], "level": 5, "channel": "device"}, RATER).status_code == 201
    web = rate(hall, {"level": 1, "channel": "web", "query_code": served["ticket"]["query_code"]})
    assert web.status_code == 409 and error(web) == "already_rated"
    assert "评价器" in web.get_json()["error"]["message"] and "一事一评" in web.get_json()["error"]["message"]
    ratings = hall.c.get(f"/api/v1/ratings?case_id={case['id']}", headers=hall.headers("supervisor")).get_json()["ratings"]
    assert [(r["channel"], r["level"]) for r in ratings] == [("device", 5)]


def test_slip_channel_is_for_supervisors(hall, clock):
    served = serve(hall, clock)
    r = rate(hall, {"case_id": served["case"]["id"], "level": 5, "channel": "slip"}, "clerk01")
    assert r.status_code == 403 and error(r) == "forbidden_role"


def test_accept_node_for_promised_cases_only(hall, clock):
    # 承诺件 may be rated at 受理 and again at 办结 (Guangxi: ≥ 2 times); 即办件 once.
    served = serve(hall, clock)
    code = served["ticket"]["query_code"]
    assert rate(hall, {"level": 4, "channel": "web", "query_code": code, "node": "accept"}).status_code == 201
    assert rate(hall, {"level": 5, "channel": "web", "query_code": code}).status_code == 201
    quick = serve(hall, clock, code="QR00201001", window=3)
    r = rate(hall, {"level": 4, "channel": "web", "query_code": quick["ticket"]["query_code"], "node": "accept"})
    assert r.status_code == 400 and error(r) == "invalid_node"
