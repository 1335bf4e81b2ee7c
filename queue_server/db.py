"""Engines and transactions.

SQLite in one process (the demo and small halls) and PostgreSQL (a city) behind the same code.
pysqlite does not BEGIN before a SELECT, so on SQLite the driver's own transaction handling is
switched off and every write transaction starts with BEGIN IMMEDIATE: the read that picks the
next ticket and the write that claims it then happen under one write lock, which is what makes
call-next exactly-once. Read-only work starts a plain deferred BEGIN and never blocks writers
(WAL).
"""
from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

READONLY = {"hall_readonly": True}
PING_AFTER = 1.0              # seconds a pooled PostgreSQL connection may idle before a checkout pings it
PG_POOL, PG_OVERFLOW = 8, 4   # per server process: 4 processes stay under 50 connections


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=20, max_overflow=40)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            readonly = conn.get_execution_options().get("hall_readonly")
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        # A city runs several processes on one PostgreSQL (100 connections by default): each
        # process keeps at most POOL + OVERFLOW; a request beyond that waits for a connection
        # (more transactions at once than cores only queue inside PostgreSQL anyway).
        # LIFO: a quiet process keeps reusing its most recent connection, which needs no ping,
        # while the others age in the pool (FIFO cycled through all of them, so at a hall's
        # pace every checkout found a connection idle past PING_AFTER).
        engine = create_engine(url, pool_size=PG_POOL, max_overflow=PG_OVERFLOW, pool_timeout=10,
                               pool_use_lifo=True)
        _ping_when_idle(engine)
        return engine
    raise ValueError(f"不支持的数据库地址：{parsed.render_as_string(hide_password=True)}（支持 sqlite 与 postgresql）")


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use only if it sat idle for PING_AFTER seconds.

    After a database restart, connections that waited in the pool are dead, and the first request
    on one would fail: so a connection that has been idle is pinged, and a dead one is replaced
    (the pool retries the checkout). A connection back from a request a moment ago is not: under
    load a ping on every checkout was a round trip, and a wait for the GIL, on every request. A
    connection that breaks while in use fails that request with 503 and the pool is renewed."""
    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy):
        since = record.info.get("idle_since")   # none yet: a connection opened just now
        if since is None or time.monotonic() - since < PING_AFTER:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)   # what pool_pre_ping runs: no transaction left open
        except Exception as exc:  # noqa: BLE001 - any failure: the pool drops it and connects anew
            raise DisconnectionError(str(exc)) from exc


def session_factories(engine: Engine, info: dict | None = None) -> tuple[sessionmaker[Session], ...]:
    """(write, read, lookup) session factories; objects stay readable after commit for serialising.

    `info` is shared by every session (the server's cached catalogue routes live there).
    On PostgreSQL reads run REPEATABLE READ, so a snapshot and its `seq` are one consistent view.
    A lookup is a read that needs no such view (one statement, or rows that do not change
    together, like a token's owner): on PostgreSQL it runs in autocommit, which spares the
    BEGIN and ROLLBACK round trips that a transaction costs on every request.
    """
    info = info if info is not None else {}
    write = sessionmaker(engine, expire_on_commit=False, info=info)

    def reading(**options) -> sessionmaker[Session]:
        return sessionmaker(engine.execution_options(**READONLY, **options), expire_on_commit=False, info=info)

    if not is_postgres(engine):
        read = reading()
        return write, read, read
    return write, reading(isolation_level="REPEATABLE READ"), reading(isolation_level="AUTOCOMMIT")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
