"""The hall's rules on issuing, through the API: hours, last ticket time, quota, the per-ID limit.

Each refusal has a stable code and a Chinese message saying why and when to come back, and
issues nothing: no ticket, no number used, no event."""
from __future__ import annotations

from datetime import datetime

from kiosk_fixtures import app  # noqa: F401  (fixture)
from kiosk_helpers import ENTERPRISE, ID_A, ID_B, INVOICE, MIGRATION, SOCIAL_CARD


def refusal(response, status=403):
    assert response.status_code == status, response.get_json()
    return response.get_json()["error"]


def test_before_opening_and_after_closing(hall, clock):
    clock.set(datetime(2026, 3, 10, 8, 29))
    early = refusal(hall.issue(ENTERPRISE))
    assert early["code"] == "hall_closed"
    assert early["message"] == "大厅尚未开始办公，请8:30后取号（办公时间 8:30–17:30）"
    clock.set(datetime(2026, 3, 10, 8, 30))
    assert hall.issue(ENTERPRISE).status_code == 201
    clock.set(datetime(2026, 3, 10, 17, 30))
    late = refusal(hall.issue(ENTERPRISE))
    assert late["code"] == "hall_closed"
    assert late["message"] == "今日大厅已停止取号（17:30下班），请明天8:30后再来（办公时间 8:30–17:30）"


def test_friday_evening_and_weekend_and_holiday_name_the_next_working_day(hall, clock):
    clock.set(datetime(2026, 3, 13, 18, 0))  # Friday
    assert "请3月16日（周一）8:30后再来" in refusal(hall.issue(INVOICE))["message"]
    clock.set(datetime(2026, 3, 14, 10, 0))  # Saturday
    weekend = refusal(hall.issue(INVOICE))
    assert weekend["code"] == "hall_closed"
    assert weekend["message"].startswith("今天是休息日，大厅不办公，请3月16日（周一）8:30后再来")
    clock.set(datetime(2026, 4, 6, 10, 0))   # 清明 holiday, a Monday
    assert "请明天8:30后再来" in refusal(hall.issue(INVOICE))["message"]
    clock.set(datetime(2026, 2, 28, 10, 0))  # a Saturday that is a 调休 working day
    assert hall.issue(INVOICE).status_code == 201


def test_last_ticket_time_closes_one_matter_only(hall, clock):
    clock.set(datetime(2026, 3, 10, 16, 29))
    assert hall.issue(MIGRATION).status_code == 201
    clock.set(datetime(2026, 3, 10, 16, 30))
    closed = refusal(hall.issue(MIGRATION))
    assert closed["code"] == "matter_closed_today"
    assert closed["message"] == "今日户口迁移已停止取号（16:30后），请明天8:30后再来"
    assert hall.issue(INVOICE).status_code == 201


def test_daily_quota_then_the_next_day(hall, clock):
    numbers = [hall.issue(SOCIAL_CARD).get_json()["ticket"]["number"] for _ in range(3)]
    assert numbers == ["C001", "C002", "C003"]
    full = refusal(hall.issue(SOCIAL_CARD))
    assert full["code"] == "quota_full" and full["detail"] == {"daily_quota": 3}
    assert full["message"] == "今日社会保障卡申领的号已取完（每日限3个），请明天8:30后再来，或提前网上预约"
    # The other C matter shares the prefix but not the quota, and the refused one used no number.
    assert hall.issue("JF00302001").get_json()["ticket"]["number"] == "C004"
    clock.advance(days=1)
    assert hall.issue(SOCIAL_CARD).status_code == 201


def test_per_id_limit_counts_the_day_across_matters(hall, clock):
    for code in (ENTERPRISE, INVOICE, MIGRATION):
        assert hall.issue(code, id_number=ID_A).status_code == 201
    limit = refusal(hall.issue(SOCIAL_CARD, id_number=ID_A))
    assert limit["code"] == "id_limit_reached"
    assert limit["message"] == "同一身份证号码每天最多取3个号，您今天已取3个；如需办理更多事项，请到服务台咨询"
    assert hall.issue(SOCIAL_CARD, id_number=ID_B).status_code == 201
    assert hall.issue(SOCIAL_CARD).status_code == 201  # no ID, no limit
    clock.advance(days=1)
    assert hall.issue(SOCIAL_CARD, id_number=ID_A).status_code == 201


def test_per_id_limit_follows_the_hall_config(app, hall):
    """`[hall] max_tickets_per_id`, default 3; 0 is no limit."""
    from queue_server import rules
    assert rules.MAX_TICKETS_PER_ID == 3
    cfg = next(iter(app.extensions["hall"].halls.values()))
    cfg.max_tickets_per_id = 1
    assert hall.issue(INVOICE, id_number=ID_A).status_code == 201
    assert "最多取1个号" in refusal(hall.issue(ENTERPRISE, id_number=ID_A))["message"]
    cfg.max_tickets_per_id = 0  # no limit
    assert hall.issue(ENTERPRISE, id_number=ID_A).status_code == 201


def test_a_round_the_clock_hall_is_open_on_rest_days_too(app, hall, clock):
    from datetime import time
    cfg = next(iter(app.extensions["hall"].halls.values()))
    cfg.open_time, cfg.close_time = time(0, 0), time.max  # close_time = "24:00": a 24小时自助服务区
    clock.set(datetime(2026, 3, 14, 23, 50))  # Saturday night
    assert hall.issue(INVOICE).status_code == 201
    clock.set(datetime(2026, 3, 10, 16, 45))
    assert refusal(hall.issue(MIGRATION))["code"] == "matter_closed_today"  # its own last ticket time holds


def test_a_refusal_issues_nothing_and_announces_nothing(hall, clock):
    hall.issue(INVOICE)
    seq = hall.queue()["seq"]
    clock.set(datetime(2026, 3, 10, 20, 0))
    assert refusal(hall.issue(INVOICE))["code"] == "hall_closed"
    assert hall.queue()["seq"] == seq and hall.queue()["waiting"]["total"] == 1


def test_the_demo_flag_ignores_the_clock_but_not_the_quota(app, hall, clock):
    app.extensions["hall"].ignore_hours = True
    clock.set(datetime(2026, 3, 14, 23, 0))  # Saturday night
    assert hall.issue(MIGRATION).status_code == 201
    for _ in range(3):
        assert hall.issue(SOCIAL_CARD).status_code == 201
    assert refusal(hall.issue(SOCIAL_CARD))["code"] == "quota_full"


def test_availability_says_what_can_be_taken_and_the_wait(hall, clock):
    for _ in range(3):
        hall.issue(ENTERPRISE)
        clock.advance(minutes=1)
    # Two served cases of 10 and 20 minutes: one matter's history is too short, the hall's is used.
    for minutes in (10, 20, 30):
        hall.issue(INVOICE)
        assert hall.op(7, "call-next").status_code == 200
        hall.op(7, "accept")
        clock.advance(minutes=minutes)
        hall.op(7, "finish")
    info = hall.c.get("/api/v1/matters/availability").get_json()
    enterprise = info["matters"][str(hall.matters[ENTERPRISE]["id"])]
    assert enterprise["open"] is True and enterprise["waiting"] == 3 and enterprise["open_windows"] == 3
    assert enterprise["service_minutes"] == 20.0 and enterprise["estimate_minutes"] == 20  # 3 × 20 / 3
    invoice = info["matters"][str(hall.matters[INVOICE]["id"])]
    assert invoice["waiting"] == 0 and invoice["estimate_minutes"] == 0
    card = info["matters"][str(hall.matters[SOCIAL_CARD]["id"])]
    assert card["quota_left"] == 3
    clock.set(datetime(2026, 3, 10, 16, 45))
    info = hall.c.get("/api/v1/matters/availability").get_json()
    migration = info["matters"][str(hall.matters[MIGRATION]["id"])]
    assert migration["open"] is False and migration["code"] == "matter_closed_today"
    clock.set(datetime(2026, 3, 10, 18, 0))
    info = hall.c.get("/api/v1/matters/availability").get_json()
    assert info["hall_open"] is False and info["hall_message"].startswith("今日大厅已停止取号")
