"""一事一评 through the API: the first channel to rate a node is the one; every later rating of
that node, by any channel, is refused and says why; an SMS invitation for a case already rated
on the window's device is not sent, and the outbox says why; the outbox never shows a usable
link; the clerk who served a 差评 cannot work its follow-up."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from queue_server.ratings.models import Rating, SmsMessage
from queue_server.ratings.sms import sender
from queue_server.ratings.sms.gateways import OutboxGateway

from .helpers import RATER, error, rate, serve
from .test_sms import token_in

PHONE = "13812345678"


@pytest.fixture
def rt(app):
    return app.extensions["hall"]


def held_message(rt) -> SmsMessage:
    with rt.read() as s:
        return s.scalars(select(SmsMessage).order_by(SmsMessage.id.desc())).first()


def scan(hall, code: str, level: int | None = 5):
    sup = hall.headers("supervisor")
    bid = hall.c.post("/api/v1/slips/batches", headers=sup).get_json()["batch"]["id"]
    r = hall.c.post(f"/api/v1/slips/batches/{bid}/scan", json={"code": code, "level": level}, headers=sup)
    tally = hall.c.post(f"/api/v1/slips/batches/{bid}/close", headers=sup).get_json()["batch"]
    return r, tally


def test_rated_by_sms_then_every_other_channel_is_refused(hall, clock, rt):
    # 个体工商户登记 (即办件) at window 1, a phone left at the kiosk. The invitation is written at
    # 办结 and held for the rating device's five minutes; the citizen ignores the device and rates
    # through the link once it arrives.
    served = serve(hall, clock, code="XK00102001", phone=PHONE)
    case = served["case"]
    assert held_message(rt).status == "pending" and held_message(rt).next_attempt_at > clock.now()
    assert sender.send_due(rt, gateway=OutboxGateway())["sent"] == 0  # held
    clock.advance(seconds=301)
    assert sender.send_due(rt, gateway=OutboxGateway())["sent"] == 1
    link = token_in(held_message(rt).text)
    sms = rate(hall, {"channel": "sms", "link": link, "level": 2, "tags": ["等候时间长"]})
    assert sms.status_code == 201, sms.get_json()

    web = rate(hall, {"channel": "web", "query_code": served["ticket"]["query_code"], "level": 5})
    assert web.status_code == 409 and error(web) == "already_rated"
    assert "短信" in web.get_json()["error"]["message"] and "一事一评" in web.get_json()["error"]["message"]
    slip, tally = scan(hall, served["ticket"]["ballot_code"], 5)
    assert slip.status_code == 409 and error(slip) == "already_rated" and "短信" in slip.get_json()["error"]["message"]
    assert tally["rated"] == 0 and [r["reason"] for r in tally["refused"]] == ["already_rated"]
    again = rate(hall, {"channel": "sms", "link": link, "level": 5})
    assert again.status_code == 409  # the link is used

    # The device, had it still been open (a second window that late is what the hold prevents):
    # the database itself keeps one counted rating per case and node, whatever the channel.
    with rt.writing() as s:
        first = s.scalar(select(Rating).where(Rating.case_id == case["id"]))
        s.add(Rating(hall_id=first.hall_id, case_id=first.case_id, ticket_id=first.ticket_id,
                     matter_id=first.matter_id, window_id=first.window_id, staff_id=first.staff_id,
                     department_id=first.department_id, channel="device", level=5, node="finish",
                     tags=[], comment="", rated_at=clock.now(), source="test-rater-01"))
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()

    ratings = hall.c.get(f"/api/v1/ratings?case_id={case['id']}", headers=hall.headers("supervisor")).get_json()["ratings"]
    assert [(r["channel"], r["level"]) for r in ratings] == [("sms", 2)]
    # The SMS page, opened again, shows the rating instead of a form.
    state = hall.c.get(f"/api/v1/ratings/web/{served['ticket']['query_code']}").get_json()
    assert state["rated"] is True and state["rating"]["channel"] == "sms"


def test_a_promised_case_is_rated_at_accept_and_at_finish_once_each(hall, clock):
    served = serve(hall, clock, code="XK00101001")  # 企业设立登记, 承诺件
    code = served["ticket"]["query_code"]
    assert rate(hall, {"channel": "web", "query_code": code, "level": 4, "node": "accept"}).status_code == 201
    twice = rate(hall, {"channel": "web", "query_code": code, "level": 1, "node": "accept"})
    assert twice.status_code == 409 and "受理" in twice.get_json()["error"]["message"]
    assert rate(hall, {"case_id": served["case"]["id"], "channel": "device", "level": 5}, RATER).status_code == 201
    late = rate(hall, {"channel": "web", "query_code": code, "level": 3})
    assert late.status_code == 409 and "评价器" in late.get_json()["error"]["message"]


def test_rated_on_the_device_no_sms_goes_out_and_the_outbox_says_why(hall, clock, rt):
    served = serve(hall, clock, code="XK00102001", phone=PHONE)  # 即办件 at window 1, which has a rater
    link = token_in(held_message(rt).text)
    clock.advance(seconds=20)
    device = rate(hall, {"case_id": served["case"]["id"], "channel": "device", "level": 5}, RATER)
    assert device.status_code == 201
    clock.advance(seconds=300)
    counts = sender.send_due(rt, gateway=OutboxGateway())
    assert counts["sent"] == 0 and counts["not_needed"] == 1
    answer = hall.c.get("/api/v1/sms/outbox", headers=hall.headers("supervisor"))
    message = answer.get_json()["messages"][0]
    assert message["status"] == "not_needed" and message["sent_at"] is None
    assert "评价器" in message["last_error"] and "一事一评" in message["last_error"]
    # Whoever reads the outbox cannot rate in the citizen's place: the link's token is not shown.
    assert link not in answer.get_data(as_text=True) and "链接已隐藏" in message["text"]
    assert sender.send_due(rt, gateway=OutboxGateway())["sent"] == 0  # and it stays unsent


def test_a_window_without_a_rating_device_invites_at_once(hall, clock, rt):
    serve(hall, clock, code="QR00201001", window=3, phone=PHONE)  # 户籍窗口: no rating device
    assert held_message(rt).next_attempt_at <= clock.now()
    assert sender.send_due(rt, gateway=OutboxGateway())["sent"] == 1


def test_the_clerk_who_served_a_bad_rating_cannot_work_its_follow_up(hall, clock):
    served = serve(hall, clock, code="XK00102001")  # clerk01 at window 1 (市场监管)
    assert rate(hall, {"channel": "web", "query_code": served["ticket"]["query_code"], "level": 1,
                       "tags": ["服务态度差"]}).status_code == 201
    follow_up = hall.c.get("/api/v1/follow-ups", headers=hall.headers("supervisor")).get_json()["follow_ups"][0]
    url = f"/api/v1/follow-ups/{follow_up['id']}"
    own = hall.c.post(url + "/verify", json={"note": "已核实，无问题"}, headers=hall.headers("clerk01"))
    assert own.status_code == 403 and error(own) == "own_bad_rating"
    other_department = hall.c.post(url + "/verify", json={"note": "核实"}, headers=hall.headers("clerk03"))
    assert other_department.status_code == 403 and error(other_department) == "not_your_department"
    # A colleague of the department verifies and fixes; the served clerk cannot record the verdict.
    assert hall.c.post(url + "/verify", json={"note": "调取录像核实"}, headers=hall.headers("clerk02")).status_code == 200
    assert hall.c.post(url + "/fix", json={"note": "窗口服务规范培训"}, headers=hall.headers("supervisor")).status_code == 200
    verdict = hall.c.post(url + "/callback", json={"note": "电话回访", "fix_rating": "满意"},
                          headers=hall.headers("clerk01"))
    assert verdict.status_code == 403 and error(verdict) == "own_bad_rating"
    done = hall.c.post(url + "/callback", json={"note": "电话回访", "fix_rating": "满意"}, headers=hall.headers("clerk02"))
    assert done.status_code == 200 and done.get_json()["follow_up"]["stage"] == "closed"
    steps = [(x["stage"], x["actor"]) for x in done.get_json()["follow_up"]["steps"]]
    assert all(actor != "clerk01" for _, actor in steps), json.dumps(steps, ensure_ascii=False)
