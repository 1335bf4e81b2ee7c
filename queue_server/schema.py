"""The schema is owned by Alembic migrations; the server brings its database to `head` at start.

On PostgreSQL several server processes may start at once, so the upgrade runs under an advisory
lock; on SQLite the write lock of the migration's own transaction does the same. Each area
(kiosk, devices, ratings, supervision) may start its own branch from the core revision; the
server upgrades to all heads.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

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


def upgrade(engine: Engine, revision: str = "heads") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        startup_lock(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
