"""Real `hall serve` processes for the benches, on SQLite or on a fresh PostgreSQL database
sharing events through a fresh Redis channel, and what each process cost (CPU, peak memory).

A bench measures the server as it is deployed: started by its own command, in its own processes,
spoken to over 127.0.0.1. Each run gets a new database (CREATE DATABASE, dropped after) and a
new channel, so runs never see each other's tickets or events.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("HALL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HALL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-shared-secret-of-every-server-process"
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port: int, method: str, path: str, body: dict | None = None, token: str | None = None,
        timeout: float = 30) -> tuple[int, dict]:
    """One request on a new connection: (status, json). For set-up, not for measuring."""
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def exit_cleanly_on_sigterm() -> None:
    """A bench stopped with SIGTERM still stops its servers and drops its database (the
    `finally` blocks run), instead of leaving them to whoever uses the machine next."""
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


# --- what a process costs -------------------------------------------------------------------

def stat_fields(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2:].split()   # after "pid (comm) ": state is field 0


def _descendants(pid: int) -> list[int]:
    """The process and all its children (a server may fork workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(stat_fields(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process tree so far (children already reaped included)."""
    total = 0.0
    for p in _descendants(pid):
        try:
            f = stat_fields(p)
        except OSError:
            continue
        total += int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if p == pid else 0)
    return total / TICK


def peak_rss_mb(pid: int) -> float:
    """Sum of the tree's peak resident sizes (VmHWM), in MiB."""
    total = 0
    for p in _descendants(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


# --- the servers ----------------------------------------------------------------------------

@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path
    cpu_mark: float = 0.0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Cluster:
    """N server processes of one deployment. Client i sticks to server i % N (like nginx ip_hash)."""
    servers: list[Server]
    database: str                     # "SQLite" | "PostgreSQL"
    database_url: str
    channel: str | None = None
    data_dir: Path = field(default_factory=Path)

    @property
    def ports(self) -> list[int]:
        return [s.port for s in self.servers]

    def port_for(self, client: int) -> int:
        return self.servers[client % len(self.servers)].port

    def mark(self) -> None:
        """Start counting CPU from now (a phase's cost, not the start-up's)."""
        for s in self.servers:
            s.cpu_mark = cpu_seconds(s.proc.pid)

    def usage(self) -> dict:
        """CPU seconds since the last mark, summed over the processes, and each one's peak RSS."""
        cpu = sum(cpu_seconds(s.proc.pid) - s.cpu_mark for s in self.servers)
        return {"cpu_s": round(cpu, 2), "peak_rss_mb": [round(peak_rss_mb(s.proc.pid), 1) for s in self.servers]}

    def check_alive(self) -> None:
        for s in self.servers:
            if s.proc.poll() is not None:
                raise RuntimeError(f"hall serve on port {s.port} exited ({s.proc.returncode}):\n{s.log_tail()}")


@contextmanager
def postgres_database(server_url: str = PG_SERVER) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of `server_url`; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url
    base = make_url(server_url)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    conninfo = dict(host=base.host or "127.0.0.1", port=base.port or 5432, user=base.username or "postgres",
                    dbname=base.database or "postgres", autocommit=True)
    if base.password:
        conninfo["password"] = base.password
    with psycopg.connect(**conninfo) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**conninfo) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_channel(redis_url: str = REDIS_URL) -> str:
    """A channel name no other run uses; checks Redis answers first (a clear error, not a hang)."""
    import redis
    redis.Redis.from_url(redis_url, socket_timeout=3).ping()
    return f"bench-{uuid.uuid4().hex[:10]}"


def _wait_ready(server: Server, deadline: float, path: str) -> None:
    while True:
        try:
            status, _ = api(server.port, "GET", path, timeout=5)
            if status == 200:
                return
        except OSError:
            pass
        if server.proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"hall serve on port {server.port} did not start:\n{server.log_tail()}")
        time.sleep(0.2)


@contextmanager
def hall_servers(config: Path | list[Path], processes: int = 1, *, database_url: str | None = None,
                 message_queue: str | None = None, channel: str | None = None,
                 data_dir: Path | None = None, workers: bool = False, timeout: float = 120) -> Iterator[Cluster]:
    """`processes` × `hall serve --ignore-hours` on one database, started together as a city
    deployment starts them, all answering before this yields; stopped (SIGTERM) afterwards.

    Several configs: every process serves every hall (a city). Without `database_url` the one
    process uses SQLite in `data_dir`. Background checkers (time-limit warnings, SMS, device
    watch) are off unless `workers`: their events are not the bench's and would only add noise
    (and they run on the wall clock, which a simulated day outruns)."""
    configs = config if isinstance(config, list) else [config]
    if database_url is None and processes != 1:
        raise ValueError("SQLite serves one hall from one process; use PostgreSQL for more")
    own_dir = data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="hall-bench-")) if own_dir else data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"HALL_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
    if not workers:
        env["HALL_WORKERS"] = "0"
    servers: list[Server] = []
    try:
        for i in range(processes):
            port = free_port()
            log = data_dir / f"server{i}.log"
            cmd = [sys.executable, "-m", "queue_server.cli", "serve"]
            for path in configs:
                cmd += ["--config", str(path)]
            cmd += ["--data-dir", str(data_dir / f"data{i}" if database_url else data_dir),
                   "--port", str(port), "--ignore-hours"]
            if database_url:
                cmd += ["--database-url", database_url]
            if message_queue:
                cmd += ["--message-queue", message_queue, "--channel", channel or redis_channel(message_queue)]
            servers.append(Server(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(log, "wb"),
                                                   stderr=subprocess.STDOUT), port, log))
        deadline = time.time() + timeout
        ready = "/api/v1/matters" + (f"?hall={configs[0].stem}" if len(configs) > 1 else "")
        for server in servers:
            _wait_ready(server, deadline, ready)
        yield Cluster(servers, "PostgreSQL" if database_url else "SQLite",
                      database_url or f"sqlite:///{data_dir / 'hall.db'}", channel, data_dir)
    finally:
        for server in servers:
            if server.proc.poll() is None:
                server.proc.terminate()
        for server in servers:
            try:
                server.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()
        if own_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def deployment(config: Path, processes: int, *, postgres: str | None, redis_url: str = REDIS_URL,
               data_dir: Path | None = None) -> Iterator[Cluster]:
    """One hall as deployed: SQLite in one process (`postgres` None), or `processes` servers on a
    fresh PostgreSQL database and a fresh Redis channel (also for one process: the city shape)."""
    if postgres is None:
        with hall_servers(config, processes, data_dir=data_dir) as cluster:
            yield cluster
        return
    channel = redis_channel(redis_url)
    with postgres_database(postgres) as url, \
            hall_servers(config, processes, database_url=url, message_queue=redis_url, channel=channel,
                         data_dir=data_dir) as cluster:
        yield cluster
