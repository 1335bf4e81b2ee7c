"""Issue 20.1, the deployment that holds: sockets in their own process, behind nginx.

`hall serve --role api` and `hall serve --role sockets` on one PostgreSQL and one Redis, behind
nginx as deploy/nginx.conf ships it. A hall display joins through nginx and sees a call made
through the API process; each process refuses the other's work with a code that says where to
go; nginx refuses one address's sockets beyond its caps with the app's JSON error, before they
reach Python; and while an attacker keeps 200 sockets trying through nginx, the clerks log in,
the kiosk issues and the windows call. (Latency under 1,000 such sockets: bench/socket_flood.py
--deployment split, bench/README.md.)
"""
from __future__ import annotations

import asyncio
import http.client
import json
import os
import threading
import time
import uuid
from pathlib import Path

import pytest
import socketio

from conftest import REDIS_URL, migrated_postgres_url, service_missing
from served_hall import Flood, call, flood, hall_config, need_nginx, proxied, raise_open_files, run_hall, served

pytest.importorskip("aiohttp")


def _require_redis() -> None:
    import redis
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it
        service_missing("Redis at " + REDIS_URL, exc)


def get(port: int, path: str, source: str = "127.0.0.1") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body.startswith(b"{") else {"raw": body[:80]}
    finally:
        conn.close()


def test_a_role_needs_the_message_queue(tmp_path):
    result = run_hall("serve", "--config", str(hall_config(tmp_path)), "--role", "sockets",
                      "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2 and "--message-queue" in result.stderr and "实时连接" in result.stderr


def test_a_nice_out_of_range_is_refused(tmp_path):
    result = run_hall("serve", "--config", str(hall_config(tmp_path)), "--nice", "25",
                      "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2 and "0–19" in result.stderr


def _served_pid(port: int) -> int:
    """The `hall serve` process started with this port (its command line says so)."""
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in args and b"--port" in args and args[args.index(b"--port") + 1] == str(port).encode():
            return int(proc.name)
    raise AssertionError(f"no hall serve on port {port}")


def test_sockets_apart_from_the_api_behind_nginx(tmp_path):
    need_nginx()
    _require_redis()
    raise_open_files(4096)
    database = migrated_postgres_url()
    channel = f"split-{uuid.uuid4().hex[:8]}"
    shared = ("--database-url", database, "--message-queue", REDIS_URL, "--channel", channel)
    config = hall_config(tmp_path, 'trusted_proxies = ["127.0.0.1"]')
    with served(tmp_path, config, *shared, "--role", "api") as (api, _), \
         served(tmp_path, config, *shared, "--role", "sockets") as (sockets, _), \
         proxied(tmp_path, api, sockets) as hall:
        catalogue = call(hall, "GET", "/api/v1/matters")[1]
        matters = {m["code"]: m["id"] for m in catalogue["matters"]}
        windows = {w["number"]: w["id"] for w in catalogue["windows"]}

        # Each process keeps to its role, and says where to go.
        status, body = get(api, "/socket.io/?EIO=4&transport=polling")
        assert (status, body["error"]["code"]) == (404, "sockets_elsewhere")
        status, body = get(sockets, "/api/v1/matters")
        assert (status, body["error"]["code"]) == (404, "api_elsewhere")

        # Under a flood the sockets' process yields the CPU to the API's (bench/README.md).
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, _served_pid(sockets)) == min(19, ours + 10)
        assert os.getpriority(os.PRIO_PROCESS, _served_pid(api)) == ours

        # Only the sockets' process listens on the message queue; the API's only publishes.
        import redis
        listeners = redis.Redis.from_url(REDIS_URL)
        assert dict(listeners.pubsub_numsub(channel)) == {channel.encode(): 1}
        listeners.close()

        # The hall display joins through nginx (the sockets' process) and sees the call made
        # through the API's process: the event crossed over Redis.
        screen = socketio.Client(reconnection=False)
        seen: list[dict] = []
        screen.on("snapshot", lambda snap: seen.append({"type": "snapshot", "seq": snap["seq"]}), namespace="/hall")
        screen.on("ticket.called", lambda ev: seen.append(ev), namespace="/hall")
        screen.connect(f"http://127.0.0.1:{hall}", namespaces=["/hall"], auth={"token": "test-display"},
                       transports=["websocket"], wait_timeout=10)
        try:
            status, login = call(hall, "POST", "/api/v1/auth/login", {"username": "clerk01", "password": "test1234"})
            assert status == 200
            status, issued = call(hall, "POST", "/api/v1/tickets", {"matter_id": matters["XK00101001"]},
                                  token="test-kiosk")
            assert status == 201
            status, called = call(hall, "POST", f"/api/v1/windows/{windows[1]}/call-next", {}, login["token"])
            assert status == 200
            deadline = time.monotonic() + 10
            while not any(e["type"] == "ticket.called" for e in seen):
                assert time.monotonic() < deadline, seen
                time.sleep(0.05)
            event = next(e for e in seen if e["type"] == "ticket.called")
            assert event["ticket"]["number"] == issued["ticket"]["number"] and event["window_id"] == windows[1]
        finally:
            screen.disconnect()

        # nginx answers one address's burst of socket opens beyond its rate with the app's error,
        # before the request reaches Python.
        answers = [get(hall, "/socket.io/?EIO=4&transport=polling", "127.0.7.1") for _ in range(80)]
        refused = [body for status, body in answers if status == 429]
        assert refused and all(b["error"]["code"] == "too_many_connections" for b in refused)
        assert sum(status == 200 for status, _ in answers) >= 50      # the burst a real screen may need

        # An attacker keeps 200 sockets trying through nginx; the hall's work goes on meanwhile.
        seen_flood, stop = Flood(), asyncio.Event()
        loop = asyncio.new_event_loop()
        addresses = [f"127.0.8.{i}" for i in range(1, 5)]
        attack = threading.Thread(target=loop.run_until_complete, daemon=True,
                                  args=(flood(hall, addresses, 50, stop, seen_flood),))
        attack.start()
        try:
            deadline = time.monotonic() + 30
            while seen_flood.opened < 100:
                assert time.monotonic() < deadline, seen_flood
                time.sleep(0.1)
            answers = []
            for n, code in ((2, "XK00102001"), (3, "QR00201001"), (5, "GG00301001")):
                status, body = call(hall, "POST", "/api/v1/auth/login",
                                    {"username": f"clerk0{n}", "password": "test1234"})
                answers.append(("login", status))
                answers.append(("issue", call(hall, "POST", "/api/v1/tickets", {"matter_id": matters[code]},
                                              token="test-kiosk")[0]))
                answers.append(("call-next", call(hall, "POST", f"/api/v1/windows/{windows[n]}/call-next", {},
                                                  body["token"])[0]))
            assert answers == [("login", 200), ("issue", 201), ("call-next", 200)] * 3
        finally:
            loop.call_soon_threadsafe(stop.set)
            attack.join(timeout=60)
            loop.close()
        assert not seen_flood.failed, seen_flood
