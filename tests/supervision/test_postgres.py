"""The same rules on PostgreSQL: ratings once per channel under concurrent posts, follow-ups,
warnings raised once, statistics, and the append-only trigger of the migration."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import text

from conftest import SMALL_HALL, HallDriver, migrated_postgres_url
from queue_server.app import create_app
from queue_server.clock import FrozenClock
from queue_server.supervision.alerts import check_warnings

from ratings.helpers import RATER, accept_only, rate, serve
from .month import generate
from .test_stats import assert_figures, expected

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg():
    clock = FrozenClock(datetime(2026, 3, 10, 9, 0))
    app = create_app([SMALL_HALL], migrated_postgres_url(), secret=b"pg", clock=clock)
    yield app, HallDriver(app.test_client()), clock
    app.extensions["hall"].engine.dispose()


def test_concurrent_posts_of_one_link_rate_once(pg):
    app, hall, clock = pg
    served = serve(hall, clock, phone="13812345678")
    rt = app.extensions["hall"]
    with rt.read() as s:
        message = s.execute(text("SELECT text FROM sms_messages")).scalar_one()
    token = message.split("/r/")[1].split()[0]
    results = []

    def post(level):
        client = app.test_client()
        results.append(client.post("/api/v1/ratings", json={"channel": "sms", "link": token, "level": level}).status_code)
    threads = [threading.Thread(target=post, args=(n % 5 + 1,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(201) == 1 and all(r in (201, 409) for r in results), results
    with rt.read() as s:
        assert s.execute(text("SELECT count(*) FROM ratings")).scalar_one() == 1
    # 一事一评: the link rated 办结, so the web page (any channel) is refused too.
    web = rate(hall, {"query_code": served["ticket"]["query_code"], "level": 5, "channel": "web"})
    assert web.status_code == 409 and web.get_json()["error"]["code"] == "already_rated"


def test_two_channels_at_once_rate_a_node_once(pg):
    """The rating device and the QR page post at the same moment: exactly one counts, however the
    transactions interleave (the check in the rating's change, backed by the partial unique
    index on (case, node))."""
    app, hall, clock = pg
    served = serve(hall, clock, code="XK00102001")
    results = []

    def post(body, who):
        client = app.test_client()
        headers = {"Authorization": f"Bearer {who}"} if who else {}
        results.append(client.post("/api/v1/ratings", json=body, headers=headers).status_code)
    device = {"channel": "device", "case_id": served["case"]["id"], "level": 5}
    web = {"channel": "web", "query_code": served["ticket"]["query_code"], "level": 1}
    threads = [threading.Thread(target=post, args=(device, RATER) if n % 2 else (web, None)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(201) == 1 and all(r in (201, 409) for r in results), results
    rt = app.extensions["hall"]
    with rt.read() as s:
        assert s.execute(text("SELECT count(*) FROM ratings")).scalar_one() == 1


def test_warnings_once_on_postgres(pg):
    app, hall, clock = pg
    rt = app.extensions["hall"]
    accept_only(hall)
    clock.set(datetime(2026, 3, 12, 17, 30))
    assert [w["level"] for w in check_warnings(rt)] == ["yellow"]
    assert check_warnings(rt) == []


def test_stats_on_postgres(pg):
    app, hall, clock = pg
    rt = app.extensions["hall"]
    plan = generate(rt, next(iter(rt.halls)))
    got = hall.c.get("/api/v1/supervision/stats?from=2026-03-01&to=2026-03-31",
                     headers=hall.headers("supervisor")).get_json()["totals"]
    assert_figures(got, expected(plan))


def test_audit_trigger_on_postgres(pg):
    app, hall, clock = pg
    hall.c.post("/api/v1/auth/login", json={"username": "nobody", "password": "x" * 8})
    from queue_server.supervision.audit import flush
    flush(app.extensions["hall"])
    raw = app.extensions["hall"].engine.raw_connection()
    try:
        cur = raw.cursor()
        with pytest.raises(Exception, match="append-only"):
            cur.execute("UPDATE audit_entries SET actor = 'x'")
        raw.rollback()
        with pytest.raises(Exception, match="append-only"):
            cur.execute("DELETE FROM audit_entries")
        raw.rollback()
    finally:
        raw.close()


def test_a_nul_byte_from_a_client_does_not_poison_the_audit_trail(pg):
    """PostgreSQL refuses NUL in text: the fuzz run found a path that stopped every later row."""
    app, hall, clock = pg
    hall.c.post("/api/v1/windows/1/pause%00", headers=hall.headers("clerk01"))
    r = hall.c.get("/api/v1/supervision/audit?from=2026-03-10&to=2026-03-10", headers=hall.headers("admin"))
    assert r.status_code == 200, r.get_json()
    rows = r.get_json()["entries"]
    assert any(row["target"].endswith("pause\ufffd") for row in rows)
    # A row the database refuses anyway is dropped alone, the rest of its batch is written.
    from queue_server.supervision.audit import flush, writer
    rt = app.extensions["hall"]
    w = writer(rt)
    good = {"hall_id": None, "at": clock.now(), "actor": "staff:ok", "action": "t", "target": "/t",
            "status": 200, "origin": "", "detail": {}, "note": ""}
    bad = dict(good, actor="staff:bad\u0000")  # past record()'s cleaning: only the database refuses it
    with w.lock:
        w.pending += [bad, good]
    flush(rt)
    with rt.read() as s:
        actors = s.execute(text("SELECT actor FROM audit_entries WHERE action = 't'")).scalars().all()
    assert actors == ["staff:ok"] and w.pending == []
