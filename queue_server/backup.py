"""Backup and restore of a hall's SQLite database.

A backup is taken with SQLite's online backup API, so it is a consistent copy even while the
hall is serving (writers are held only page by page), then checked with `PRAGMA
integrity_check` before it is called good. A restore refuses a file that is not a hall
database or fails the check, writes the new database beside the old one and swaps it in with
one rename, so a failed restore leaves the old data untouched. PostgreSQL deployments use
pg_dump / pg_restore (README, "Backup").
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(ValueError):
    pass


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError("hall backup 只用于 SQLite 数据库；PostgreSQL 请用 pg_dump（见 README）")
    return Path(url.database)


def _check(path: Path) -> dict[str, int]:
    """Integrity and the hall tables' row counts, or BackupError."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: 无法打开：{exc}") from None
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"{path}: 数据库已损坏（integrity_check: {result}）")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"halls", "tickets", "cases", "events", "alembic_version"} <= tables:
            raise BackupError(f"{path}: 不是大厅数据库（缺少 halls/tickets/cases/events 表）")
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                for t in sorted(tables) if not t.startswith("sqlite_")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: 不是有效的 SQLite 数据库：{exc}") from None
    finally:
        conn.close()


def backup(database_url: str, out: Path | None = None) -> tuple[Path, dict[str, int]]:
    source = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"{source}: 数据库文件不存在")
    if out is None:
        out = source.parent / "backups" / f"hall-{datetime.now():%Y%m%d-%H%M%S}.db"
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out}: 文件已存在，不会覆盖")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(partial))
    try:
        src.backup(dst, pages=256)
    except sqlite3.Error as exc:
        dst.close()
        partial.unlink(missing_ok=True)
        raise BackupError(f"备份失败：{exc}") from None
    finally:
        src.close()
    dst.close()
    counts = _check(partial)
    os.replace(partial, out)
    return out, counts


def restore(database_url: str, backup_file: Path) -> dict[str, int]:
    """Replace the database with a checked backup. The server must be stopped."""
    target = sqlite_path(database_url)
    backup_file = Path(backup_file)
    if not backup_file.exists():
        raise BackupError(f"{backup_file}: 备份文件不存在")
    counts = _check(backup_file)
    _refuse_if_in_use(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(target.name + ".restoring")
    shutil.copyfile(backup_file, incoming)
    _check(incoming)
    if target.exists():
        keep = target.with_name(f"{target.name}.before-restore-{datetime.now():%Y%m%d-%H%M%S}")
        shutil.copyfile(target, keep)
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(incoming, target)
    return counts


def pid_file(target: Path) -> Path:
    return target.with_name(target.name + ".pid")


def mark_in_use(database_url: str) -> Path | None:
    """Called by a serving process: restore refuses while this process lives."""
    try:
        target = sqlite_path(database_url)
    except BackupError:
        return None
    path = pid_file(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(os.getpid()))
    return path


def _refuse_if_in_use(target: Path) -> None:
    """Swapping the file under a running server would lose its next writes. An idle server
    holds no SQLite lock, so the serving process leaves its pid beside the database."""
    path = pid_file(target)
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    except PermissionError:
        pass
    raise BackupError(f"{target}: 大厅服务正在运行（进程 {pid}），请先停止服务再恢复")
