"""Bad input on every endpoint gets a 4xx with a code and a Chinese message; nothing stored changes."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from conftest import DISPLAY, KIOSK

WINDOW_OPS = ["call-next", "recall", "skip", "requeue", "transfer", "pause", "resume", "accept", "finish"]


def fingerprint(app) -> dict:
    rt = app.extensions["hall"]
    with rt.engine.connect() as conn:
        return {table: conn.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
                for table in ("tickets", "cases", "events", "windows", "counters", "halls")}


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"]), body
    if code:
        assert body["error"]["code"] == code, body


@pytest.fixture
def busy_hall(hall, app):
    """A hall mid-morning: tickets waiting, one called at window 3, one serving at window 5."""
    for code in ("QR00201001", "QR00201001", "GG00301001", "XK00101001"):
        hall.issue(code)
    hall.op(3, "call-next")
    hall.op(5, "call-next")
    hall.op(5, "accept")
    return hall


def kiosk(hall, body=None, data=None, content_type="application/json"):
    kwargs = {"json": body} if data is None else {"data": data, "content_type": content_type}
    return hall.c.post("/api/v1/tickets", headers=hall.headers(KIOSK), **kwargs)


@pytest.mark.parametrize("body,status,code", [
    ({"matter_id": 99999}, 404, "unknown_matter"),
    ({"matter_id": "1"}, 400, "invalid_field"),
    ({"matter_id": True}, 400, "invalid_field"),
    ({"matter_id": 1.5}, 400, "invalid_field"),
    ({"matter_id": 10**30}, 400, "invalid_field"),
    ({}, 400, "missing_field"),
    ({"matter_id": 1, "priority": "vip"}, 400, "invalid_priority"),
    ({"matter_id": 1, "priority": 3}, 400, "invalid_field"),
    ({"matter_id": 1, "phone": "12345"}, 400, "invalid_phone"),
    ({"matter_id": 1, "phone": "1" * 5000}, 400, "field_too_long"),
    ({"matter_id": 1, "id_number": "123456789012345678"}, 400, "invalid_id_number"),
    ({"matter_id": 1, "request_id": "x" * 65}, 400, "field_too_long"),
    ({"matter_id": 1, "request_id": ["a"]}, 400, "invalid_field"),
])
def test_bad_ticket_requests(busy_hall, app, body, status, code):
    before = fingerprint(app)
    assert_error(kiosk(busy_hall, body), status, code)
    assert fingerprint(app) == before


@pytest.mark.parametrize("data,code", [
    ("{not json", "invalid_json"),
    ("[1, 2]", "invalid_body"),
    ('"matter"', "invalid_body"),
    ("\xff\xfe", "invalid_json"),
])
def test_malformed_bodies(busy_hall, app, data, code):
    before = fingerprint(app)
    assert_error(kiosk(busy_hall, data=data), 400, code)
    assert fingerprint(app) == before


def test_oversized_body(busy_hall, app):
    before = fingerprint(app)
    assert_error(kiosk(busy_hall, data='{"matter_id": 1, "x": "' + "a" * 200_000 + '"}'), 413, "payload_too_large")
    assert fingerprint(app) == before


@pytest.mark.parametrize("who", [None, "not-a-token", "Basic abc"])
def test_missing_or_bad_token_everywhere(busy_hall, app, who):
    before = fingerprint(app)
    headers = {} if who is None else {"Authorization": who if " " in who else f"Bearer {who}"}
    c = busy_hall.c
    assert_error(c.post("/api/v1/tickets", json={"matter_id": 1}, headers=headers), 401, "unauthorized")
    assert_error(c.get("/api/v1/queue", headers=headers), 401, "unauthorized")
    assert_error(c.get("/api/v1/windows", headers=headers), 401, "unauthorized")
    assert_error(c.get("/api/v1/me", headers=headers), 401, "unauthorized")
    for op in WINDOW_OPS:
        assert_error(c.post(f"/api/v1/windows/1/{op}", json={}, headers=headers), 401, "unauthorized")
    assert fingerprint(app) == before


def test_wrong_role_and_wrong_window(busy_hall, app):
    before = fingerprint(app)
    h = busy_hall
    assert_error(h.c.post("/api/v1/tickets", json={"matter_id": 1}, headers=h.headers(DISPLAY)), 403, "forbidden_role")
    assert_error(h.c.post("/api/v1/tickets", json={"matter_id": 1}, headers=h.headers("clerk01")), 403, "forbidden_role")
    for op in WINDOW_OPS:
        assert_error(h.op(3, op, {"ticket_id": 1, "to_window": 4}, who="clerk01"), 403, "not_your_window")
        assert_error(h.op(3, op, {}, who=KIOSK), 403, "forbidden_role")
        assert_error(h.op(3, op, {}, who="supervisor"), 403, "forbidden_role")
    assert_error(h.c.post("/api/v1/windows/999/call-next", headers=h.headers("admin")), 404, "unknown_window")
    assert_error(h.c.post("/api/v1/windows/abc/call-next", headers=h.headers("admin")), 404, "not_found")
    assert fingerprint(app) == before


@pytest.mark.parametrize("number,op,body,status,code", [
    (3, "accept", None, 200, None),            # sanity: the fixture's window 3 really is called
    (4, "finish", None, 409, "no_current_ticket"),
    (3, "finish", None, 409, "wrong_state"),   # finishing a ticket that was never accepted
    (5, "accept", None, 409, "wrong_state"),   # accepting twice
    (5, "call-next", None, 409, "window_busy"),
    (5, "skip", None, 409, "wrong_state"),
    (4, "recall", None, 409, "no_current_ticket"),
    (3, "transfer", {}, 400, "invalid_transfer"),
    (3, "transfer", {"to_window": 4, "to_matter": 1}, 400, "invalid_transfer"),
    (3, "transfer", {"to_window": "4"}, 400, "invalid_field"),
    (3, "transfer", {"to_window": 999}, 404, "unknown_window"),
    (3, "transfer", {"to_matter": 999}, 404, "unknown_matter"),
    (3, "requeue", {}, 400, "missing_field"),
    (3, "requeue", {"ticket_id": 1}, 409, "wrong_state"),
    (3, "requeue", {"ticket_id": 99999}, 404, "unknown_ticket"),
    (4, "resume", None, 409, "wrong_state"),
])
def test_operations_in_the_wrong_state(busy_hall, app, number, op, body, status, code):
    before = fingerprint(app)
    response = busy_hall.op(number, op, body)
    if status == 200:
        assert response.status_code == 200
        return
    assert_error(response, status, code)
    assert fingerprint(app) == before


def test_unknown_ticket_and_paths(busy_hall):
    c = busy_hall.c
    assert_error(c.get("/api/v1/tickets/ZZZZZZZZ"), 404, "unknown_ticket")
    assert_error(c.get("/api/v1/tickets/" + "9" * 40), 404, "unknown_ticket")
    assert_error(c.get("/api/v1/tickets/1"), 404, "unknown_ticket")  # a numeric id needs a token
    assert_error(c.get("/api/v1/nothing"), 404, "not_found")
    assert_error(c.delete("/api/v1/tickets"), 405, "method_not_allowed")
    assert_error(c.get("/api/v1/matters?hall=nope"), 404, "unknown_hall")


def test_login_failures(client):
    assert_error(client.post("/api/v1/auth/login", json={"username": "clerk01", "password": "wrong"}), 401)
    assert_error(client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"}), 401)
    assert_error(client.post("/api/v1/auth/login", json={"username": 5, "password": "x"}), 400, "invalid_field")
    assert_error(client.post("/api/v1/auth/login", json={"username": "clerk01"}), 400, "missing_field")
    assert_error(client.post("/api/v1/auth/login", json={"username": "a" * 1000, "password": "x"}), 400, "field_too_long")


def test_repeated_login_failures_are_refused_for_a_while(client):
    for _ in range(5):
        assert_error(client.post("/api/v1/auth/login", json={"username": "clerk02", "password": "guess"}), 401)
    # Even the right password is refused now: the guesser cannot tell.
    locked = client.post("/api/v1/auth/login", json={"username": "clerk02", "password": "test1234"})
    assert_error(locked, 429, "login_locked")
    assert "分钟后再试" in locked.get_json()["error"]["message"]


def test_a_success_clears_the_username_count(client):
    for _ in range(4):
        client.post("/api/v1/auth/login", json={"username": "clerk03", "password": "guess"},
                    environ_base={"REMOTE_ADDR": "10.0.0.3"})
    ok = client.post("/api/v1/auth/login", json={"username": "clerk03", "password": "test1234"},
                     environ_base={"REMOTE_ADDR": "10.0.0.4"})
    assert ok.status_code == 200
    for _ in range(4):
        client.post("/api/v1/auth/login", json={"username": "clerk03", "password": "guess"},
                    environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert client.post("/api/v1/auth/login", json={"username": "clerk03", "password": "test1234"},
                       environ_base={"REMOTE_ADDR": "10.0.0.6"}).status_code == 200


def test_security_headers_on_pages_and_api(client):
    for path in ("/", "/caller", "/api/v1/matters"):
        headers = client.get(path).headers
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert client.get("/api/v1/matters").headers["Cache-Control"] == "no-store"


def test_an_unknown_name_costs_a_password_check_like_a_known_one(client, monkeypatch):
    """The login's time does not tell whether a name works here: an unknown name (or a wrong
    password) goes through one check against a hash of the same kind as the hall's people have."""
    from queue_server import passwords
    checked = []
    real = passwords.check_password
    monkeypatch.setattr(passwords, "check_password", lambda h, p: checked.append(passwords.kind(h)) or real(h, p))
    for name in ("clerk04", "nobody-works-here"):
        assert_error(client.post("/api/v1/auth/login", json={"username": name, "password": "guess"}), 401)
    assert checked == ["$argon2id$v=19$m=19456,t=2,p=1"] * 2
