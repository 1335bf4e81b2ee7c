"""Several `hall serve` processes on one PostgreSQL, sharing events through Redis.

An event from any process reaches the clients of every process, and call-next stays exactly-once
when the windows are spread over the processes.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest

from conftest import REDIS_URL, SMALL_HALL, fresh_postgres_url, service_missing
from live import wait_for
from test_stream import Screen

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, token=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {}))
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def redis_url():
    import redis
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        service_missing("Redis at " + REDIS_URL, exc)
    return REDIS_URL


@pytest.fixture
def servers(tmp_path, redis_url):
    """Two server processes started at the same moment on one fresh PostgreSQL schema."""
    url = fresh_postgres_url()
    channel = f"hall-test-{uuid.uuid4().hex[:8]}"
    procs, ports = [], []
    for i in range(2):
        port = free_port()
        log = open(tmp_path / f"server{i}.log", "wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", "serve", "--config", str(SMALL_HALL),
             "--database-url", url, "--message-queue", redis_url, "--channel", channel,
             "--port", str(port), "--data-dir", str(tmp_path / f"data{i}"), "--ignore-hours"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ | {"HALL_SECRET": "shared"}))
        ports.append(port)
    try:
        for proc, port, i in zip(procs, ports, range(2)):
            deadline = time.time() + 60
            while True:
                try:
                    call(port, "GET", "/api/v1/matters")
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        raise AssertionError((tmp_path / f"server{i}.log").read_text())
                    time.sleep(0.2)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def test_an_event_from_one_process_reaches_clients_of_the_other(servers):
    a, b = servers
    screen_b = Screen(f"http://127.0.0.1:{b}", token="test-display").connect()
    screen_a = Screen(f"http://127.0.0.1:{a}", token="test-display").connect()
    catalogue = call(a, "GET", "/api/v1/matters")[1]
    matter = next(m for m in catalogue["matters"] if m["code"] == "QR00201001")
    status, body = call(a, "POST", "/api/v1/tickets", {"matter_id": matter["id"]}, token="test-kiosk")
    assert status == 201
    token = call(b, "POST", "/api/v1/auth/login", {"username": "clerk03", "password": "test1234"})[1]["token"]
    window = next(w for w in catalogue["windows"] if w["number"] == 3)
    assert call(b, "POST", f"/api/v1/windows/{window['id']}/call-next", {}, token)[0] == 200
    for screen in (screen_a, screen_b):
        wait_for(lambda: len(screen.events) >= 2)
        screen.close()
        assert [e["type"] for e in screen.events] == ["ticket.issued", "ticket.called"]
        assert [e["seq"] for e in screen.events] == [1, 2]
        assert screen.events[1]["ticket"]["id"] == body["ticket"]["id"]


def test_call_next_exactly_once_across_processes(servers):
    a, b = servers
    catalogue = call(a, "GET", "/api/v1/matters")[1]
    matters = [m["id"] for m in catalogue["matters"]]
    for i in range(150):
        port = (a, b)[i % 2]
        assert call(port, "POST", "/api/v1/tickets", {"matter_id": matters[i % len(matters)]},
                    token="test-kiosk")[0] == 201
    called: list[int] = []
    lock = threading.Lock()

    def window(w):
        port = (a, b)[w["number"] % 2]
        token = call(port, "POST", "/api/v1/auth/login",
                     {"username": f"clerk{w['number']:02d}", "password": "test1234"})[1]["token"]
        mine = []
        while True:
            status, body = call(port, "POST", f"/api/v1/windows/{w['id']}/call-next", {}, token)
            if status == 404:
                break
            assert status == 200, body
            mine.append(body["ticket"]["id"])
            assert call(port, "POST", f"/api/v1/windows/{w['id']}/skip", {}, token)[0] == 200
        with lock:
            called.extend(mine)

    threads = [threading.Thread(target=window, args=(w,)) for w in catalogue["windows"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = Counter(called)
    assert len(counts) == 150 and max(counts.values()) == 1
