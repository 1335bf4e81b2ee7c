"""The schema is owned by Alembic migrations; the server brings its database to `head` at start.

On PostgreSQL several server processes may start at once, so the upgrade runs under an advisory
lock; on SQLite the write lock of the migration's own transaction does the same. Each area
(kiosk, devices, ratings, supervision) may start its own branch from the core revision; the
server upgrades to all heads.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_KEY = 7_071_130  # any constant shared by every process of this program


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def startup_lock(conn) -> None:
    """Serialise start-up work (migrations, config sync) between processes on PostgreSQL."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction for Alembic, under the start-up lock.

    SQLite alters a column by building the table anew and dropping the old one, which its foreign
    keys would refuse while other tables point at it (cases ← ratings, events). As SQLite's own
    procedure says, the check is off for the migration (the pragma only takes effect outside a
    transaction) and `foreign_key_check` must find nothing broken before the commit."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                startup_lock(conn)
                yield conn
                if raw is not None:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "heads") -> None:
    cfg = alembic_config()
    with migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
