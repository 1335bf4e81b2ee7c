"""The city's server processes, its database, and what they cost (from /proc).

The fresh database, the Redis channel, the server processes (each serving every hall: `--config`
once per hall) and the per-process CPU come from bench/servers.py, shared by every bench.
CPU is utime + stime from /proc/PID/stat, memory VmRSS/VmHWM from /proc/PID/status. PostgreSQL's
share is read from its backends: the servers connect with the run's `application_name`, and a
sampler follows those backends' CPU while they live.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.servers import (PG_SERVER, REDIS_URL, TICK, cpu_seconds, hall_servers, postgres_database,
                           redis_channel, stat_fields)

__all__ = ["PG_SERVER", "REDIS_URL", "cpu_seconds", "memory_kb", "reset_peak", "postgres_cpu_total",
           "fresh_database", "tag", "database_bytes", "BackendSampler", "start_servers"]


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) in KiB."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def reset_peak(pid: int) -> None:
    """Start VmHWM again from the current RSS (Linux: `5` to /proc/PID/clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def _own_cpu(pid: str) -> float:
    if not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
        return 0.0
    fields = stat_fields(int(pid))
    total = int(fields[11]) + int(fields[12])
    if b"-D" in Path(f"/proc/{pid}/cmdline").read_bytes():  # the postmaster: its reaped backends too
        total += int(fields[13]) + int(fields[14])
    return total / TICK


def postgres_cpu_total() -> float:
    """CPU of every postgres process plus the backends the postmaster has reaped. Includes
    anything else using this PostgreSQL meanwhile."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                total += _own_cpu(entry.name)
            except (OSError, ValueError):
                continue
    return total


# --- the database -----------------------------------------------------------------------------


@contextmanager
def fresh_database(server_url: str = PG_SERVER):
    """A new database for one run (dropped after), its URL tagged for the backend sampler."""
    with postgres_database(server_url) as url:
        yield tag(url, make_url(url).database)


def tag(url: str, app_name: str) -> str:
    """The URL with an application_name: the run's backends are then found in pg_stat_activity."""
    return url + ("&" if "?" in url else "?") + f"application_name={app_name}"


def database_bytes(url: str) -> int:
    """The hall tables' size (tables, indexes, TOAST) in the URL's schema."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname = current_schema()")).scalar())
    finally:
        engine.dispose()


class BackendSampler:
    """Follows the CPU of the PostgreSQL backends whose application_name is the run's, every
    `every` seconds: a backend that ends between two samples loses at most that much."""

    def __init__(self, url: str, every: float = 2.0):
        self.url, self.every = url, every
        self.name = make_url(url).query.get("application_name", "")
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        with self.engine.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                                {"n": self.name}).scalars().all()
        for pid in pids:
            try:
                cpu = _own_cpu(str(pid))
            except (OSError, ValueError):
                continue
            if cpu:
                self.seen[pid] = max(self.seen.get(pid, 0.0), cpu)

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a missed sample only loses precision
                pass

    def __enter__(self):
        own = make_url(self.url).update_query_dict({"application_name": "city-day-sampler"})
        self.engine = create_engine(own, pool_size=1, max_overflow=0)
        self.sample()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.engine.dispose()

    def total(self) -> float:
        return sum(self.seen.values())


# --- the servers ------------------------------------------------------------------------------


@contextmanager
def start_servers(configs: list[Path], count: int, database_url: str, work_dir: Path,
                  message_queue: str = REDIS_URL, timeout: float = 600.0):
    """`count` `hall serve` processes, every one serving every hall, on one database and a fresh
    Redis channel (bench/servers.py); yields their list once all answer, stops them after. A
    city's start syncs 50 halls' configs: hence the long timeout."""
    with hall_servers(configs, count, database_url=database_url, message_queue=message_queue,
                      channel=redis_channel(message_queue), data_dir=work_dir, timeout=timeout) as cluster:
        yield cluster.servers
