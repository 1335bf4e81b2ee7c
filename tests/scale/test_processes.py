"""Several `hall serve` processes on one PostgreSQL, sharing events through Redis.

An event from any process reaches the clients of every process, and call-next stays exactly-once
when the windows are spread over the processes.
"""
from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest

from conftest import REDIS_URL, migrated_postgres_url
from live import wait_for
from hall_servers import call, hall_servers, require_redis
from test_stream import Screen

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def servers(tmp_path):
    """Two server processes started at the same moment on one fresh PostgreSQL schema."""
    require_redis()
    channel = f"hall-test-{uuid.uuid4().hex[:8]}"
    with hall_servers(tmp_path, migrated_postgres_url(), REDIS_URL, channel) as (_, ports, _logs):
        yield ports


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
        wait_for(lambda: len(screen.events) >= 3)
        screen.close()
        # Nobody had signed in on window 3: its call signed clerk03 in first (window.opened).
        assert [e["type"] for e in screen.events] == ["ticket.issued", "window.opened", "ticket.called"]
        assert [e["seq"] for e in screen.events] == [1, 2, 3]
        assert screen.events[2]["ticket"]["id"] == body["ticket"]["id"]


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


def test_a_rotated_display_token_cuts_its_connections_in_every_process(servers):
    """The admin on process A re-keys the hall screen; its connection on process B ends too."""
    a, b = servers
    on_b = Screen(f"http://127.0.0.1:{b}", token="test-display").connect()
    on_a = Screen(f"http://127.0.0.1:{a}", token="test-display").connect()
    admin = call(a, "POST", "/api/v1/auth/login", {"username": "admin", "password": "test1234"})[1]["token"]
    screen = next(d for d in call(a, "GET", "/api/v1/devices", token=admin)[1]["devices"] if d["name"] == "测试综合屏")
    status, body = call(a, "POST", f"/api/v1/devices/{screen['id']}/token", {}, admin)
    assert status == 200 and body["token"] != "test-display"
    wait_for(lambda: not on_a.sio.connected, timeout=2)          # the process that rotated: at once
    wait_for(lambda: not on_b.sio.connected, timeout=10)         # the other: by its sweep (3 s)
    assert call(b, "GET", "/api/v1/queue", token="test-display")[0] == 401
    again = Screen(f"http://127.0.0.1:{b}", token=body["token"]).connect()   # the new token works there
    assert again.sio.connected
    again.close()
