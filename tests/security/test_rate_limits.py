"""Rate limits (issue 8): tickets per kiosk per minute, tickets per ID number within minutes (in
the database, so across kiosks and server processes), SMS per phone per day and per hall per
minute (over the limit: recorded `rate_limited` with the reason, never silently dropped), and
password guessing at the login. Time-based limits run on the frozen clock, moved by the test."""
from __future__ import annotations

import hashlib
import textwrap

import pytest
from security_helpers import error_problem

from conftest import KIOSK, SMALL_HALL, HallDriver, migrated_postgres_url
from queue_server.app import create_app
from queue_server.config import ConfigError, Device, load_hall_config
from queue_server.openapi import build_spec
from queue_server.ratelimit import SlidingWindow
from queue_server.ratings.models import SmsMessage
from queue_server.ratings.sms import sender

ID_A = "11010519491231002X"
ID_B = "110101199003074477"
KIOSK_2 = "test-kiosk-two"


# --- the sliding window ------------------------------------------------------------------------


def test_the_window_slides_and_keys_are_counted_apart():
    w = SlidingWindow(60)
    assert [w.hit("k1", 3, t) for t in (0, 10, 20)] == [0.0, 0.0, 0.0]
    assert w.hit("k1", 3, 30) == pytest.approx(30)       # the hit at 0 leaves at 60
    assert w.hit("k2", 3, 30) == 0.0                     # another key has its own count
    assert w.retry_after("k1", 3, 59.5) == pytest.approx(0.5)
    assert w.hit("k1", 3, 60) == 0.0                     # the first hit has left: one place
    assert w.hit("k1", 3, 61) == pytest.approx(9)        # 10, 20, 60 are in [1, 61]
    # A fixed per-minute counter would allow 6 around a minute boundary; the window allows 3.
    w2 = SlidingWindow(60)
    allowed = [w2.hit("k", 3, t) == 0.0 for t in (57, 58, 59, 60, 61, 62)]
    assert allowed == [True, True, True, False, False, False]
    assert w.hit("k1", 0, 61) == 0.0                     # 0: no limit


def test_refusals_are_not_counted_and_idle_keys_are_dropped():
    w = SlidingWindow(60, max_keys=3)
    for t in range(50):
        w.hit("busy", 2, t)       # 48 refusals must not push the window on
    assert w.hit("busy", 2, 61) == 0.0
    for key in ("a", "b", "c"):
        w.hit(key, 5, 100)
    w.hit("d", 5, 200)            # the others are idle by now: swept, not kept forever
    assert set(w._hits) == {"d"}


# --- tickets per kiosk -------------------------------------------------------------------------


def _two_kiosk_hall():
    cfg = load_hall_config(SMALL_HALL)
    cfg.devices.append(Device(name="二号取号机", kind="kiosk",
                              token_sha256=hashlib.sha256(KIOSK_2.encode()).hexdigest()))
    cfg.kiosk_tickets_per_minute = 3
    cfg.max_tickets_per_id = 0
    return cfg


@pytest.fixture
def kiosks(db_url, clock):
    app = create_app([_two_kiosk_hall()], db_url, secret=b"test-secret", clock=clock)
    yield HallDriver(app.test_client())
    app.extensions["hall"].engine.dispose()


def _issue(hall, token: str = KIOSK, **body):
    return hall.c.post("/api/v1/tickets", json={"matter_id": hall.matters["QR00201001"]["id"], **body},
                       headers=hall.headers(token))


def test_a_runaway_kiosk_is_stopped_per_minute_and_others_carry_on(kiosks, clock):
    assert [_issue(kiosks).status_code for _ in range(3)] == [201, 201, 201]
    clock.advance(seconds=20)
    refused = _issue(kiosks)
    assert refused.status_code == 429 and error_problem(refused) is None
    err = refused.get_json()["error"]
    assert err["code"] == "too_many_tickets" and "每分钟最多3张" in err["message"]
    assert err["detail"]["retry_after"] == 40 and refused.headers["Retry-After"] == "40"
    # Nothing was issued by the refusal (B004 is next); the other kiosk and the admin go on.
    assert _issue(kiosks, KIOSK_2).get_json()["ticket"]["number"] == "B004"
    assert _issue(kiosks, "admin").status_code == 201
    # The limit is a sliding minute: 40 s later the first three have left it.
    clock.advance(seconds=39)
    assert _issue(kiosks).status_code == 429
    clock.advance(seconds=1)
    assert _issue(kiosks).status_code == 201


def test_appointment_check_ins_count_against_the_same_kiosk_limit(kiosks):
    for _ in range(3):
        assert _issue(kiosks).status_code == 201
    r = kiosks.c.post("/api/v1/appointments/check-in", json={"id_number": ID_A}, headers=kiosks.headers(KIOSK))
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "too_many_tickets"
    r = kiosks.c.post("/api/v1/appointments/check-in", json={"id_number": ID_A}, headers=kiosks.headers(KIOSK_2))
    assert r.get_json()["error"]["code"] == "no_appointment_today"  # the other kiosk is asked


def test_the_kiosk_limit_defaults_to_30_a_minute(hall):
    codes = [_issue(hall).status_code for _ in range(31)]
    assert codes[:30] == [201] * 30 and codes[30] == 429


# --- tickets per ID number ---------------------------------------------------------------------


def test_one_id_number_gets_at_most_3_tickets_in_10_minutes_across_kiosks_and_processes(db_url, clock):
    cfg = _two_kiosk_hall()
    cfg.kiosk_tickets_per_minute = 0
    app = create_app([cfg], db_url, secret=b"test-secret", clock=clock)
    # A second server process on the same database (the same hall, the same secret).
    other = create_app([_two_kiosk_hall()], db_url, secret=b"test-secret", clock=clock)
    one, two = HallDriver(app.test_client()), HallDriver(other.test_client())
    try:
        assert _issue(one, id_number=ID_A).status_code == 201
        clock.advance(minutes=2)
        assert _issue(two, KIOSK_2, id_number=ID_A).status_code == 201
        clock.advance(minutes=2)
        assert _issue(one, KIOSK_2, id_number=ID_A).status_code == 201
        clock.advance(minutes=1)
        refused = _issue(two, id_number=ID_A)
        assert refused.status_code == 429 and error_problem(refused) is None
        err = refused.get_json()["error"]
        assert err["code"] == "id_too_frequent"
        assert "10分钟内最多取3个号" in err["message"] and "请5分钟后再取" in err["message"]
        assert err["detail"]["retry_after"] == 300 and refused.headers["Retry-After"] == "300"
        assert _issue(one, id_number=ID_B).status_code == 201   # another person is not affected
        assert _issue(one).status_code == 201                   # nor tickets without an ID
        clock.advance(minutes=4, seconds=59)
        assert _issue(one, id_number=ID_A).get_json()["error"]["code"] == "id_too_frequent"
        clock.advance(seconds=1)                                 # the first ticket is 10 minutes old
        assert _issue(one, id_number=ID_A).status_code == 201
    finally:
        app.extensions["hall"].engine.dispose()
        other.extensions["hall"].engine.dispose()


def test_the_day_limit_still_speaks_first_and_zero_turns_the_burst_off(db_url, clock):
    cfg = load_hall_config(SMALL_HALL)          # 3 a day (default) and 3 in 10 minutes (default)
    app = create_app([cfg], db_url, secret=b"test-secret", clock=clock)
    hall = HallDriver(app.test_client())
    try:
        for _ in range(3):
            assert _issue(hall, id_number=ID_A).status_code == 201
        assert _issue(hall, id_number=ID_A).get_json()["error"]["code"] == "id_limit_reached"
        cfg.max_tickets_per_id, cfg.id_burst_tickets = 0, 0
        assert _issue(hall, id_number=ID_A).status_code == 201
    finally:
        app.extensions["hall"].engine.dispose()


# --- SMS ---------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sms_hall(request, db_url, clock):
    url = db_url if request.param == "sqlite" else migrated_postgres_url()
    app = create_app([SMALL_HALL], url, secret=b"test-secret", clock=clock)
    yield HallDriver(app.test_client()), app.extensions["hall"]
    app.extensions["hall"].engine.dispose()


def _serve(hall, clock, phone: str, window: int = 3) -> None:
    assert _issue(hall, phone=phone).status_code == 201
    for action in ("call-next", "accept", "finish"):
        r = hall.op(window, action)
        assert r.status_code == 200, r.get_json()
    clock.advance(minutes=3)


def _outbox(hall) -> list[dict]:
    r = hall.c.get("/api/v1/sms/outbox", headers=hall.headers("supervisor"))
    return sorted(r.get_json()["messages"], key=lambda m: m["id"])


def test_one_phone_gets_at_most_n_sms_a_day_the_rest_recorded_not_sent(sms_hall, clock):
    hall, rt = sms_hall
    for cfg in rt.halls.values():
        cfg.ratings = {"sms_per_phone_per_day": 2}
    for _ in range(3):
        _serve(hall, clock, "13812345678")
    _serve(hall, clock, "13900000000")
    counts = sender.send_due(rt)
    assert (counts["sent"], counts["rate_limited"]) == (3, 1)
    shown = _outbox(hall)
    assert [m["status"] for m in shown] == ["sent", "sent", "rate_limited", "sent"]
    limited = shown[2]
    assert limited["phone"] == "138****5678" and limited["sent_at"] is None and limited["attempts"] == 0
    assert "同一手机号每天最多发送2条短信" in limited["last_error"]
    # Not sent again by itself ...
    assert sender.send_due(rt)["sent"] == 0
    # ... an admin may retry it: the same day the limit still holds, the next day it goes.
    retry = lambda: hall.c.post(f"/api/v1/sms/outbox/{limited['id']}/retry", headers=hall.headers("admin"))  # noqa: E731
    assert retry().status_code == 200
    assert sender.send_due(rt)["rate_limited"] == 1
    assert hall.c.post(f"/api/v1/sms/outbox/{limited['id']}/mark-sent",
                       headers=hall.headers("admin")).status_code == 404  # it never left: not "sent"
    clock.advance(days=1)
    hall.tokens.clear()
    assert retry().status_code == 200
    assert sender.send_due(rt)["sent"] == 1
    assert _outbox(hall)[2]["status"] == "sent"


def test_a_hall_sends_at_most_n_sms_a_minute(sms_hall, clock):
    hall, rt = sms_hall
    for cfg in rt.halls.values():
        cfg.ratings = {"sms_per_hall_per_minute": 2}
    for n in range(3):
        _serve(hall, clock, f"1390000000{n}")
    counts = sender.send_due(rt)
    assert (counts["sent"], counts["rate_limited"]) == (2, 1)
    limited = [m for m in _outbox(hall) if m["status"] == "rate_limited"]
    assert len(limited) == 1 and "本大厅每分钟最多发送2条短信" in limited[0]["last_error"]
    with rt.read() as s:  # the digest the per-phone count matches on is kept with every message
        assert all(m.phone_hash and len(m.phone_hash) == 64 for m in s.query(SmsMessage))
    assert hall.c.post(f"/api/v1/sms/outbox/{limited[0]['id']}/retry", headers=hall.headers("admin")).status_code == 200
    assert sender.send_due(rt)["rate_limited"] == 1   # still within the same minute
    clock.advance(minutes=1)
    assert hall.c.post(f"/api/v1/sms/outbox/{limited[0]['id']}/retry", headers=hall.headers("admin")).status_code == 200
    assert sender.send_due(rt)["sent"] == 1


# --- logins ------------------------------------------------------------------------------------


def test_password_guessing_is_locked_out(hall):
    wrong = [hall.c.post("/api/v1/auth/login", json={"username": "clerk01", "password": "guess"}).status_code
             for _ in range(5)]
    assert wrong == [401] * 5
    locked = hall.c.post("/api/v1/auth/login", json={"username": "clerk01", "password": "test1234"})
    assert locked.status_code == 429 and locked.get_json()["error"]["code"] == "login_locked"
    seconds = locked.get_json()["error"]["detail"]["retry_after"]
    assert 0 < seconds <= 15 * 60 and locked.headers["Retry-After"] == str(seconds)


# --- configuration and description -------------------------------------------------------------


def _config(tmp_path, hall_extra: str = "", ratings: str = "") -> object:
    text = SMALL_HALL.read_text(encoding="utf-8")
    text = text.replace('notice = "请携带身份证件"\n', 'notice = "请携带身份证件"\n' + hall_extra, 1)
    if ratings:
        text += "\n[ratings]\n" + ratings
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return load_hall_config(path)


def test_limits_are_read_from_the_hall_file_with_defaults(tmp_path):
    plain = load_hall_config(SMALL_HALL)
    assert (plain.kiosk_tickets_per_minute, plain.id_burst_tickets, plain.id_burst_minutes) == (30, 3, 10)
    cfg = _config(tmp_path, textwrap.dedent("""\
        kiosk_tickets_per_minute = 12
        id_burst_tickets = 2
        id_burst_minutes = 15
        """), "sms_per_phone_per_day = 5\nsms_per_hall_per_minute = 100\n")
    assert (cfg.kiosk_tickets_per_minute, cfg.id_burst_tickets, cfg.id_burst_minutes) == (12, 2, 15)
    assert cfg.ratings == {"sms_per_phone_per_day": 5, "sms_per_hall_per_minute": 100}
    with pytest.raises(ConfigError, match="kiosk_tickets_per_minute.*不能为负数"):
        _config(tmp_path, "kiosk_tickets_per_minute = -1\n")
    with pytest.raises(ConfigError, match="id_burst_minutes"):
        _config(tmp_path, "id_burst_minutes = 0\n")
    with pytest.raises(ConfigError, match="id_burst_minutes.*1440"):
        _config(tmp_path, "id_burst_minutes = 100000\n")
    with pytest.raises(ConfigError, match="sms_per_phone_per_day.*应为整数"):
        _config(tmp_path, ratings='sms_per_phone_per_day = "3"\n')


def test_the_api_description_lists_the_new_refusals():
    op = build_spec()["paths"]["/tickets"]["post"]
    assert {"too_many_tickets", "id_too_frequent"} <= set(op["x-error-codes"])
