"""Appointments (预约取号) through the API: booking window and slots, cancelling, checking in at the
kiosk for a priority ticket, and one event per change."""
from __future__ import annotations

from datetime import datetime

import pytest

from kiosk_fixtures import app  # noqa: F401  (fixture)
from conftest import HallDriver
from kiosk_helpers import ENTERPRISE, ID_A, ID_B, KIOSK, MIGRATION, SOCIAL_CARD, id_number

# The frozen clock starts on Tuesday 2026-03-10 at 09:00.


def book(hall, code=ENTERPRISE, slot="2026-03-11T10:00", id_number=ID_A, who="admin", **extra):
    return hall.c.post("/api/v1/appointments", headers=hall.headers(who),
                       json={"matter_id": hall.matters[code]["id"], "id_number": id_number,
                             "slot_start": slot, **extra})


def booked(hall, **kw) -> dict:
    r = book(hall, **kw)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["appointment"]


def check_in(hall, **body):
    return hall.c.post("/api/v1/appointments/check-in", json=body, headers=hall.headers(KIOSK))


def error(response, status):
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]


def test_booking_gives_a_code_and_one_event(hall):
    seq = hall.queue()["seq"]
    a = booked(hall, phone="13812345678")
    assert len(a["code"]) == 8 and a["code"].isdigit()
    assert a["status"] == "booked" and a["matter_name"] == "企业设立登记"
    assert a["id_number"] == "110***********002X" and a["phone"] == "138****5678"
    assert a["slot_start"] == "2026-03-11T10:00:00+08:00" and a["slot_end"] == "2026-03-11T10:30:00+08:00"
    assert a["checkin_from"] == "2026-03-11T09:30:00+08:00" and a["checkin_until"] == "2026-03-11T10:15:00+08:00"
    assert hall.queue()["seq"] == seq + 1
    shown = hall.c.get(f"/api/v1/appointments/{a['code']}", headers=hall.headers(KIOSK)).get_json()
    assert shown["appointment"]["code"] == a["code"]
    assert hall.c.get(f"/api/v1/appointments/{a['code']}").status_code == 401


def test_only_the_booking_system_or_admin_books(hall):
    assert error(book(hall, who=KIOSK), 403)["code"] == "forbidden_role"
    assert error(book(hall, who="clerk01"), 403)["code"] == "forbidden_role"


def test_booking_window_one_day_to_five_working_days(hall):
    assert error(book(hall, slot="2026-03-10T15:00"), 400)["code"] == "too_late_to_book"
    assert error(book(hall, slot="2026-03-14T10:00"), 400)["code"] == "not_a_workday"
    # Tuesday: Wed 11, Thu 12, Fri 13, Mon 16, Tue 17 are the five working days ahead.
    assert book(hall, slot="2026-03-17T10:00").status_code == 201
    far = error(book(hall, slot="2026-03-18T10:00", id_number=ID_B), 400)
    assert far["code"] == "too_early_to_book" and "5个工作日" in far["message"]


def test_slots_on_the_grid_within_hours(hall):
    assert error(book(hall, slot="2026-03-11T10:15"), 400)["code"] == "invalid_slot"
    assert error(book(hall, slot="2026-03-11T08:00"), 400)["code"] == "invalid_slot"
    assert error(book(hall, slot="2026-03-11T17:30:00+08:00"), 400)["code"] == "invalid_slot"  # ends after 17:30
    assert book(hall, slot="2026-03-11T17:00:00+08:00", id_number=id_number(9)).status_code == 201
    late = error(book(hall, code=MIGRATION, slot="2026-03-11T16:30"), 400)
    assert late["code"] == "invalid_slot" and "8:30–16:30" in late["message"]
    assert error(book(hall, slot="tomorrow"), 400)["code"] == "invalid_slot"
    assert book(hall, slot="2026-03-11T01:30:00Z").status_code == 201  # 09:30 in the hall
    assert book(hall, slot="2026-03-11T16:30", id_number=ID_B).status_code == 201  # last one of the day


def test_slot_capacity_and_a_cancel_frees_a_place(hall):
    codes = [booked(hall, id_number=id_number(n))["code"] for n in range(4)]
    full = error(book(hall, id_number=id_number(4)), 409)
    assert full["code"] == "slot_full" and "明天10:00的企业设立登记预约已满" in full["message"]
    slots = hall.c.get(f"/api/v1/appointments/slots?matter_id={hall.matters[ENTERPRISE]['id']}&date=2026-03-11",
                       headers=hall.headers("admin")).get_json()
    ten = next(s for s in slots["slots"] if s["start"] == "2026-03-11T10:00:00+08:00")
    assert ten["left"] == 0 and slots["capacity"] == 4 and slots["slots"][0]["start"].endswith("T08:30:00+08:00")
    assert hall.c.post(f"/api/v1/appointments/{codes[0]}/cancel", headers=hall.headers("admin")).status_code == 200
    assert book(hall, id_number=id_number(4)).status_code == 201


def test_the_appointment_priority_comes_only_from_a_check_in(hall):
    r = hall.issue(ENTERPRISE, priority="appointment")
    assert error(r, 400)["code"] == "invalid_priority" and "预约签到" in r.get_json()["error"]["message"]


def test_one_booking_per_person_matter_and_day(hall):
    first = booked(hall)
    again = error(book(hall, slot="2026-03-11T14:00"), 409)
    assert again["code"] == "already_booked" and first["code"] in again["message"]
    assert book(hall, code=SOCIAL_CARD, slot="2026-03-11T14:00").status_code == 201


def test_cancel_at_least_two_hours_before(hall, clock):
    a = booked(hall)
    clock.set(datetime(2026, 3, 11, 8, 1))
    hall.tokens.clear()
    late = error(hall.c.post(f"/api/v1/appointments/{a['code']}/cancel", headers=hall.headers("admin")), 409)
    assert late["code"] == "cancel_too_late" and "2小时" in late["message"]
    b = booked(hall, slot="2026-03-12T10:00", id_number=ID_B)
    r = hall.c.post(f"/api/v1/appointments/{b['code']}/cancel", headers=hall.headers("admin"))
    assert r.status_code == 200 and r.get_json()["appointment"]["status"] == "cancelled"
    clock.set(datetime(2026, 3, 12, 9, 45))
    assert error(check_in(hall, code=b["code"]), 409)["code"] == "appointment_cancelled"
    hall.tokens.clear()
    assert error(hall.c.post(f"/api/v1/appointments/{b['code']}/cancel", headers=hall.headers("admin")), 409)[
        "code"] == "not_cancellable"


def test_check_in_window_early_on_time_late(hall, clock):
    a = booked(hall)
    other_day = error(check_in(hall, code=a["code"]), 409)
    assert other_day["code"] == "appointment_not_today" and "明天10:00–10:30" in other_day["message"]
    clock.set(datetime(2026, 3, 11, 9, 29))
    early = error(check_in(hall, code=a["code"]), 409)
    assert early["code"] == "checkin_too_early" and early["message"] == "您预约的是今天10:00–10:30，请于9:30后再来签到取号"
    clock.set(datetime(2026, 3, 11, 10, 16))
    late = error(check_in(hall, code=a["code"]), 409)
    assert late["code"] == "checkin_too_late" and "预约已失效" in late["message"]
    clock.set(datetime(2026, 3, 11, 10, 15))
    assert check_in(hall, code=a["code"]).status_code == 201


def test_check_in_gives_a_priority_ticket_called_before_walk_ins(hall, clock):
    a = booked(hall, phone="13812345678")
    clock.set(datetime(2026, 3, 11, 9, 40))
    walk_in = hall.issue(ENTERPRISE).get_json()["ticket"]
    seq = hall.queue()["seq"]
    r = check_in(hall, code=a["code"], request_id="kiosk-ci-1")
    assert r.status_code == 201
    body = r.get_json()
    ticket = body["ticket"]
    assert ticket["priority"] == "appointment" and ticket["priority_label"] == "预约"
    assert ticket["appointment_code"] == a["code"] and ticket["matter_name"] == "企业设立登记"
    assert ticket["id_number"] == "110***********002X" and ticket["phone"] == "138****5678"
    assert body["appointment"]["status"] == "checked_in" and body["appointment"]["ticket"]["id"] == ticket["id"]
    assert hall.queue()["seq"] == seq + 1  # the check-in's one event is the ticket.issued
    history = hall.c.get(f"/api/v1/tickets/{ticket['id']}", headers=hall.headers("test-display")).get_json()
    assert [h["type"] for h in history["history"]] == ["ticket.issued"]
    # Again (a double tap, or a retry): the same ticket, nothing new.
    again = check_in(hall, code=a["code"])
    assert again.status_code == 200 and again.get_json()["ticket"]["id"] == ticket["id"]
    assert hall.queue()["seq"] == seq + 1
    assert hall.op(1, "call-next").get_json()["ticket"]["id"] == ticket["id"]
    assert hall.op(1, "skip").status_code == 200
    assert hall.op(1, "call-next").get_json()["ticket"]["id"] == walk_in["id"]


def test_check_in_by_id_number_finds_the_booking_whose_window_is_open(hall, clock):
    morning = booked(hall, slot="2026-03-11T09:00")
    afternoon = booked(hall, code=SOCIAL_CARD, slot="2026-03-11T15:00")
    clock.set(datetime(2026, 3, 11, 14, 45))
    r = check_in(hall, id_number=ID_A)
    assert r.status_code == 201 and r.get_json()["appointment"]["code"] == afternoon["code"]
    assert r.get_json()["ticket"]["matter_name"] == "社会保障卡申领"
    assert morning["code"] != afternoon["code"]
    assert error(check_in(hall, id_number=ID_B), 404)["code"] == "no_appointment_today"
    assert error(check_in(hall, id_number="110105194912310021"), 400)["code"] == "invalid_id_number"
    assert error(check_in(hall, code="99999999"), 404)["code"] == "unknown_appointment"
    assert error(check_in(hall), 400)["code"] == "missing_field"


def test_booked_places_are_kept_out_of_the_walk_in_quota(hall, clock):
    booked(hall, code=SOCIAL_CARD, slot="2026-03-11T10:00")
    clock.set(datetime(2026, 3, 11, 9, 0))
    assert hall.issue(SOCIAL_CARD).status_code == 201
    assert hall.issue(SOCIAL_CARD).status_code == 201
    assert error(hall.issue(SOCIAL_CARD), 403)["code"] == "quota_full"  # 2 walk-ins + 1 booked = 3
    clock.set(datetime(2026, 3, 11, 9, 45))
    assert check_in(hall, id_number=ID_A).status_code == 201  # the booking still gets its ticket


def test_appointment_check_in_ignores_the_last_ticket_time_but_not_the_hall_hours(hall, clock):
    a = booked(hall, code=MIGRATION, slot="2026-03-11T16:00")
    clock.set(datetime(2026, 3, 11, 16, 10))
    assert hall.issue(MIGRATION).status_code == 201
    clock.set(datetime(2026, 3, 11, 16, 14))
    r = check_in(hall, code=a["code"])
    assert r.status_code == 201
    hall.tokens.clear()  # the admin's login of yesterday morning has expired (12 hours)
    b = booked(hall, code=MIGRATION, slot="2026-03-12T08:30", id_number=ID_B)
    clock.set(datetime(2026, 3, 12, 8, 10))
    assert error(check_in(hall, code=b["code"]), 403)["code"] == "hall_closed"


@pytest.mark.postgres
def test_booking_check_in_and_quota_on_postgresql(clock):
    """The same rules on PostgreSQL: row locks (FOR UPDATE OF matters) and range queries on dates."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import migrated_postgres_url
    from kiosk_helpers import rules_hall
    from queue_server.app import create_app
    app = create_app([rules_hall()], migrated_postgres_url(), secret=b"pg", clock=clock)
    try:
        hall = HallDriver(app.test_client())
        a = booked(hall, code=SOCIAL_CARD, slot="2026-03-11T10:00")
        clock.set(datetime(2026, 3, 11, 9, 50))
        hall.tokens.clear()

        def issue(_):
            return app.test_client().post("/api/v1/tickets", json={"matter_id": hall.matters[SOCIAL_CARD]["id"]},
                                          headers={"Authorization": f"Bearer {KIOSK}"}).status_code
        with ThreadPoolExecutor(6) as pool:
            codes = sorted(pool.map(issue, range(6)))
        assert codes == [201, 201, 403, 403, 403, 403]  # quota 3, one place kept for the booking
        r = check_in(hall, code=a["code"])
        assert r.status_code == 201 and r.get_json()["ticket"]["priority"] == "appointment"
        for code in (ENTERPRISE, MIGRATION, "QT00401001"):
            assert hall.issue(code, id_number=ID_B).status_code == 201
        assert error(hall.issue("JF00302001", id_number=ID_B), 403)["code"] == "id_limit_reached"
    finally:
        app.extensions["hall"].engine.dispose()


def test_two_kiosks_checking_in_one_booking_at_once_get_the_same_ticket(app, hall, clock):
    from concurrent.futures import ThreadPoolExecutor
    a = booked(hall)
    clock.set(datetime(2026, 3, 11, 9, 45))

    def kiosk(n):
        r = app.test_client().post("/api/v1/appointments/check-in", json={"code": a["code"]},
                                   headers={"Authorization": f"Bearer {KIOSK}"})
        return r.status_code, r.get_json()["ticket"]["id"]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(kiosk, range(4)))
    assert sorted(s for s, _ in results) == [200, 200, 200, 201]
    assert len({t for _, t in results}) == 1
