"""Issue 20 (points 5 and 7) on the rating side: the QR page's rating expires like an SMS link, a
clerk sees only the 差评 follow-ups of their own department, and logins are audited under the hall
of the user name (two halls on one server: one hall's admin never sees the other's logins)."""
from __future__ import annotations

from queue_server.app import create_app
from queue_server.config import load_hall_config

from .helpers import error, rate, serve


def test_the_qr_page_rating_closes_after_web_days(hall, clock):
    served = serve(hall, clock)
    code = served["ticket"]["query_code"]
    clock.advance(days=7, hours=1)   # a week and an hour after 办结 (web_days = 7)
    state = hall.c.get(f"/api/v1/ratings/web/{code}").get_json()
    assert state["finished"] and state["expired"]
    late = rate(hall, {"channel": "web", "query_code": code, "level": 1})
    assert late.status_code == 410 and error(late) == "link_expired"


def test_a_clerk_sees_only_the_follow_ups_of_their_department(hall, clock):
    served = serve(hall, clock, code="XK00102001")  # clerk01 at window 1 (市场监管)
    assert rate(hall, {"channel": "web", "query_code": served["ticket"]["query_code"], "level": 1,
                       "tags": ["服务态度差"]}).status_code == 201
    everyone = hall.c.get("/api/v1/follow-ups", headers=hall.headers("supervisor")).get_json()["follow_ups"]
    assert len(everyone) == 1
    follow_up = everyone[0]["id"]
    colleague = hall.c.get("/api/v1/follow-ups", headers=hall.headers("clerk02")).get_json()["follow_ups"]
    assert [f["id"] for f in colleague] == [follow_up]
    other = hall.headers("clerk03")    # another department's window
    assert hall.c.get("/api/v1/follow-ups", headers=other).get_json()["follow_ups"] == []
    assert hall.c.get(f"/api/v1/follow-ups/{follow_up}", headers=other).status_code == 404


def test_logins_are_audited_under_their_hall(tmp_path, sqlite_db, clock):
    from conftest import SMALL_HALL
    a = load_hall_config(SMALL_HALL)
    b = load_hall_config(SMALL_HALL)
    b.code, b.name = "370000T02", "乙市政务服务中心"
    b.staff = [s for s in b.staff if s.username in ("admin", "clerk01")]
    for s in b.staff:
        s.username = "b-" + s.username
    b.devices = []
    app = create_app([a, b], sqlite_db(tmp_path / "two.db"), secret=b"two-halls", clock=clock)
    c = app.test_client()
    assert c.post("/api/v1/auth/login", json={"username": "b-clerk01", "password": "wrong-password"}).status_code == 401
    assert c.post("/api/v1/auth/login", json={"username": "b-clerk01", "password": "test1234"}).status_code == 200
    tokens = {who: c.post("/api/v1/auth/login", json={"username": who, "password": "test1234"}).get_json()["token"]
              for who in ("admin", "b-admin")}

    def logins(who):
        rows = c.get("/api/v1/supervision/audit", headers={"Authorization": f"Bearer {tokens[who]}"}).get_json()["entries"]
        return [r["actor"] for r in rows if r["target"] == "/api/v1/auth/login"]

    assert "staff:b-clerk01" not in logins("admin")            # hall A's admin
    assert logins("b-admin").count("staff:b-clerk01") == 2    # hall B's: the refused login too
