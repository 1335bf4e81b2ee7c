"""Faults: the database goes away under a running server, then comes back."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from conftest import SMALL_HALL, HallDriver, migrated_postgres_url
from faults import FaultProxy
from queue_server import db
from queue_server.app import create_app


@pytest.mark.postgres
def test_postgres_restart_gives_503_then_recovers_without_a_server_restart(clock):
    url = make_url(migrated_postgres_url())
    proxy = FaultProxy(url.host or "127.0.0.1", url.port or 5432)
    through = url.set(port=proxy.port).render_as_string(hide_password=False)
    app = create_app([SMALL_HALL], through, secret=b"s", clock=clock)
    hall = HallDriver(app.test_client())
    try:
        assert hall.issue("QR00201001").status_code == 201
        hall.op(3, "call-next")
        proxy.down()
        for response in (hall.issue("QR00201001"), hall.op(3, "accept"), hall.c.get("/api/v1/queue", headers=hall.headers("test-display"))):
            assert response.status_code == 503, response.get_data(as_text=True)
            assert response.get_json()["error"]["code"] == "database_unavailable"
        proxy.up()
        # The same server process carries on: stale pooled connections are replaced.
        assert hall.issue("QR00201001").get_json()["ticket"]["number"] == "B002"
        case = hall.op(3, "accept").get_json()["case"]
        assert case["status"] == "accepted"
        snap = hall.queue()
        assert snap["waiting"]["total"] == 1 and snap["seq"] == 10 + 4  # ten windows opened, then 4; the failed changes left none
    finally:
        app.extensions["hall_device_monitor"].stop()  # else it polls the closed proxy until GC finds the app
        app.extensions["hall"].engine.dispose()
        proxy.close()


@pytest.mark.postgres
@pytest.mark.parametrize("ping_after, survives", [(0.2, True), (60.0, False)])
def test_a_restart_while_the_pool_is_quiet_costs_no_request(monkeypatch, ping_after, survives):
    """Connections that sat in the pool are tested before use, so a database restarted overnight
    fails no one's first ticket; connections in constant use are not (a round trip per request),
    and the one statement that meets a broken one fails (a 503) and renews the pool."""
    monkeypatch.setattr(db, "PING_AFTER", ping_after)
    url = make_url(migrated_postgres_url())
    proxy = FaultProxy(url.host or "127.0.0.1", url.port or 5432)
    engine = db.make_engine(url.set(port=proxy.port).render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        proxy.down()   # the database restarts while the pooled connection waits
        proxy.up()
        time.sleep(0.3)
        if survives:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 2")).scalar() == 2
        else:
            with pytest.raises(OperationalError), engine.connect() as conn:
                conn.execute(text("SELECT 2"))
        with engine.connect() as conn:   # either way the pool is whole again
            assert conn.execute(text("SELECT 3")).scalar() == 3
    finally:
        engine.dispose()
        proxy.close()


@pytest.mark.postgres
def test_a_quiet_process_reuses_its_last_connection_without_a_ping(monkeypatch):
    """At a hall's pace the pool hands back the connection used last (LIFO), which has not been
    idle long enough to need a ping; the pool's other connections age unused."""
    monkeypatch.setattr(db, "PING_AFTER", 0.25)
    engine = db.make_engine(migrated_postgres_url())
    pings = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or real_ping(conn))
    try:
        opened = [engine.connect() for _ in range(3)]   # a burst left three connections in the pool
        for conn in opened:
            conn.execute(text("SELECT 1"))
            conn.close()
        for _ in range(6):                               # then a request every 0.1 s
            time.sleep(0.1)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert pings == []
    finally:
        engine.dispose()


def test_sqlite_disk_full_is_a_clear_error_and_nothing_half_written(tmp_path, sqlite_db, clock):
    """SQLite reports a full disk as SQLITE_FULL; max_page_count makes the file 'full' here."""
    url = sqlite_db(tmp_path / "hall.db")
    app = create_app([SMALL_HALL], url, secret=b"s", clock=clock)
    hall = HallDriver(app.test_client(), staffed=False)   # only tickets here: every event is a ticket.issued
    assert hall.issue("QR00201001").status_code == 201
    engine = app.extensions["hall"].engine
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    # Every pooled connection gets the cap on checkout.
    from sqlalchemy import event

    @event.listens_for(engine, "checkout")
    def _cap(dbapi_conn, record, proxy):
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")
        dbapi_conn.execute("PRAGMA wal_autocheckpoint=1")  # reach the main file at once

    engine.pool.dispose()
    with engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT COUNT(*) FROM tickets").scalar()
    refused = None
    for _ in range(200):  # fill the last free pages
        response = hall.issue("QR00201001", phone="13812345678")
        if response.status_code != 201:
            refused = response
            break
    assert refused is not None, "the capped database never filled"
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "storage_full"
    assert "磁盘已满" in refused.get_json()["error"]["message"]
    with engine.connect() as conn:
        tickets = conn.exec_driver_sql("SELECT COUNT(*) FROM tickets").scalar()
        events = conn.exec_driver_sql("SELECT COUNT(*) FROM events WHERE type='ticket.issued'").scalar()
        seq = conn.exec_driver_sql("SELECT event_seq FROM halls").scalar()
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    # Every committed ticket has its event and its seq; the refused one left nothing behind.
    assert tickets == events == seq and tickets >= before
