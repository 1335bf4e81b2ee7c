"""Real `hall serve` processes for the scale tests, and a tiny HTTP client for them."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import client
from conftest import REDIS_URL, busy_hall_config, service_missing
from live import free_port

ROOT = Path(__file__).resolve().parents[2]


call = client.local   # a process that is not there raises OSError


def require_redis() -> None:
    import redis
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it
        service_missing("Redis at " + REDIS_URL, exc)


def _wait_subscribed(message_queue: str, channel: str, count: int) -> None:
    """Every process listens on the channel as soon as it serves, before any screen connects."""
    import redis
    client = redis.Redis.from_url(message_queue)
    deadline = time.time() + 10
    try:
        while (dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)) < count:
            if time.time() > deadline:
                raise AssertionError(f"not every process listens on {channel} 10 s after it serves")
            time.sleep(0.05)
    finally:
        client.close()


@contextmanager
def hall_servers(tmp_path: Path, database_url: str, message_queue: str, channel: str, count: int = 2):
    """`count` server processes on one database and message queue, started together (as a city
    deployment starts them); yields (processes, ports, log files) and stops them after."""
    procs, ports, logs = [], [], []
    config = busy_hall_config(tmp_path)
    for i in range(count):
        port = free_port()
        log_path = tmp_path / f"server{i}.log"
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", "serve", "--config", str(config),
             "--database-url", database_url, "--message-queue", message_queue, "--channel", channel,
             "--port", str(port), "--data-dir", str(tmp_path / f"data{i}"), "--ignore-hours"],
            cwd=ROOT, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT,
            env=os.environ | {"HALL_SECRET": "shared-by-every-process-of-this-test-city"}))
        ports.append(port)
        logs.append(log_path)
    try:
        for proc, port, log_path in zip(procs, ports, logs):
            deadline = time.time() + 60
            while True:
                try:
                    call(port, "GET", "/api/v1/matters")
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        raise AssertionError(log_path.read_text())
                    time.sleep(0.2)
        _wait_subscribed(message_queue, channel, count)
        yield procs, ports, logs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
