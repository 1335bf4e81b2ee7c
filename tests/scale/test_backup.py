"""Backup and restore: restored into a fresh database, every table compares equal."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from conftest import PG_URL, SMALL_HALL, HallDriver, fresh_postgres_url, service_missing
from queue_server.app import create_app
from queue_server.supervision.audit import flush as flush_audit
from queue_server.backup import BackupError, backup, mark_in_use, restore

ROOT = Path(__file__).resolve().parents[2]


def finish_open_case(hall) -> dict:
    """The 承诺件 accepted in the morning, finished from the case desk."""
    listed = hall.c.get("/api/v1/cases?scope=hall", headers=hall.headers("supervisor")).get_json()["cases"]
    (open_case,) = [c for c in listed if c["status"] == "accepted"]
    finished = hall.case_op(open_case["id"], "finish", who="clerk01")
    assert finished.status_code == 200, finished.get_json()
    return finished.get_json()["case"]


def play_a_morning(app, clock=None):
    hall = HallDriver(app.test_client())
    for code in ("QR00201001", "GG00301001", "XK00101001", "QR00201001"):
        assert hall.issue(code, phone="13812345678").status_code == 201
    hall.op(3, "call-next")
    hall.op(3, "accept")
    hall.op(3, "finish")
    hall.op(1, "call-next")
    hall.op(1, "accept")   # a 承诺件: its visit ends here, the case stays open at the desk
    hall.op(5, "call-next")
    hall.op(5, "skip")
    flush_audit(app.extensions["hall"])  # the audit writer's batch lands now, not during the backup
    return hall


def dump(url: str) -> dict[str, list]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            return {t: sorted((tuple(r) for r in conn.execute(text(f'SELECT * FROM "{t}"'))), key=repr)
                    for t in tables}
    finally:
        engine.dispose()


def test_sqlite_backup_while_serving_then_restore_into_a_fresh_directory(tmp_path, sqlite_db, clock):
    live_url = sqlite_db(tmp_path / "live" / "hall.db")
    app = create_app([SMALL_HALL], live_url, secret=b"s", clock=clock)
    play_a_morning(app)
    out, counts = backup(live_url, tmp_path / "b.db")          # the app still has its pool open
    assert counts["tickets"] == 4 and counts["cases"] == 2 and counts["events"] > 0
    app.extensions["hall"].engine.dispose()

    fresh_url = f"sqlite:///{tmp_path / 'fresh' / 'hall.db'}"
    restore(fresh_url, out)
    assert dump(fresh_url) == dump(live_url)
    # The restored hall carries on where it stopped.
    hall = HallDriver(create_app([SMALL_HALL], fresh_url, secret=b"s", clock=clock).test_client())
    assert finish_open_case(hall)["status"] == "finished"
    assert hall.issue("QR00201001").get_json()["ticket"]["number"] == "B003"


def test_restore_refuses_bad_files_and_keeps_the_old_data(tmp_path, sqlite_db, clock):
    url = sqlite_db(tmp_path / "hall.db")
    app = create_app([SMALL_HALL], url, secret=b"s", clock=clock)
    play_a_morning(app)
    app.extensions["hall"].engine.dispose()
    before = dump(url)

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    with pytest.raises(BackupError, match="不是有效的 SQLite"):
        restore(url, garbage)
    other = tmp_path / "other.db"
    import sqlite3
    sqlite3.connect(other).execute("CREATE TABLE notes (x)").connection.commit()
    with pytest.raises(BackupError, match="不是大厅数据库"):
        restore(url, other)
    with pytest.raises(BackupError, match="不存在"):
        restore(url, tmp_path / "missing.db")
    assert dump(url) == before


def test_restore_refuses_while_the_server_runs(tmp_path, sqlite_db, clock):
    url = sqlite_db(tmp_path / "hall.db")
    app = create_app([SMALL_HALL], url, secret=b"s", clock=clock)
    play_a_morning(app)
    out, _ = backup(url, tmp_path / "b.db")
    marker = mark_in_use(url)  # this very process plays the running server
    with pytest.raises(BackupError, match="正在运行"):
        restore(url, out)
    marker.unlink()
    app.extensions["hall"].engine.dispose()
    restore(url, out)


def test_backup_and_restore_commands(tmp_path, sqlite_db, clock):
    data = tmp_path / "var"
    app = create_app([SMALL_HALL], sqlite_db(data / "hall.db"), secret=b"s", clock=clock)
    play_a_morning(app)
    app.extensions["hall"].engine.dispose()
    def run(*args):
        return subprocess.run([sys.executable, "-m", "queue_server.cli", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
    made = run("backup", "--data-dir", str(data), "--out", str(tmp_path / "b.db"))
    assert made.returncode == 0, made.stderr
    assert "tickets 4" in made.stdout
    again = run("backup", "--data-dir", str(data), "--out", str(tmp_path / "b.db"))
    assert again.returncode == 2 and "不会覆盖" in again.stderr
    back = run("restore", str(tmp_path / "b.db"), "--data-dir", str(tmp_path / "new"))
    assert back.returncode == 0, back.stderr
    assert dump(f"sqlite:///{tmp_path / 'new' / 'hall.db'}") == dump(f"sqlite:///{data / 'hall.db'}")
    pg = run("backup", "--database-url", "postgresql+psycopg://x@127.0.0.1/y")
    assert pg.returncode == 2 and "pg_dump" in pg.stderr


@pytest.mark.postgres
def test_postgres_pg_dump_and_restore_into_a_fresh_database(tmp_path):
    """The documented way: pg_dump -Fc of the hall database, pg_restore into a new one."""
    if not shutil.which("pg_dump"):
        service_missing("pg_dump", FileNotFoundError("pg_dump"))
    url = fresh_postgres_url()
    schema = url.split("search_path%3D")[1]
    app = create_app([SMALL_HALL], url, secret=b"s")
    app.extensions["hall"].ignore_hours = True  # the real clock
    play_a_morning(app)
    app.extensions["hall"].engine.dispose()

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    target_db = f"hall_restore_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {target_db}"))
    try:
        archive = tmp_path / "hall.dump"
        host = ["-h", "127.0.0.1", "-U", "postgres"]
        subprocess.run(["pg_dump", *host, "-Fc", "-n", schema, "-f", str(archive), "test"], check=True, timeout=60)
        subprocess.run(["pg_restore", *host, "--no-owner", "-d", target_db, str(archive)], check=True, timeout=60)
        restored_url = PG_URL.rsplit("/", 1)[0] + f"/{target_db}?options=-csearch_path%3D{schema}"
        assert dump(restored_url) == dump(url)
        # The restored database serves: the app starts on it and carries on.
        restored = create_app([SMALL_HALL], restored_url, secret=b"s")
        restored.extensions["hall"].ignore_hours = True
        hall = HallDriver(restored.test_client())
        assert finish_open_case(hall)["status"] == "finished"
        # Done with it before its database goes: no audit row or device check left to chase it.
        flush_audit(restored.extensions["hall"])
        restored.extensions["hall_device_monitor"].stop()
        restored.extensions["hall"].engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {target_db} WITH (FORCE)"))
        admin.dispose()
