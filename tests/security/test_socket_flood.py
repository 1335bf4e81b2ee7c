"""Issue 20.1: anonymous websockets cannot stall the hall.

Three hundred raw Engine.IO websockets from thirty addresses connect to a real `hall serve`,
answer its pings, and never join /hall (every seventh tries with a wrong token); each one the
server closes or refuses comes straight back. Meanwhile the clerks log in, the kiosk issues and
windows call: every one of those answers. The server refuses sockets beyond the per-address and
total caps, closes every one that did not join in time, and a real screen still joins and stays
after the flood. (Latency under 1,000 such sockets: bench/socket_flood.py, bench/README.md.)
"""
from __future__ import annotations

import asyncio
import threading
import time

import pytest
import socketio

from served_hall import Flood, call, flood, hall_config, raise_open_files, served

pytest.importorskip("aiohttp")

ADDRESSES = [f"127.0.3.{i}" for i in range(1, 31)]
PER_ADDRESS_TRIES = 10          # 300 sockets in all
PER_ADDRESS_CAP = 6
TOTAL_CAP = 120
JOIN_SECONDS = 2


def test_idle_sockets_are_closed_and_the_hall_keeps_answering(tmp_path):
    raise_open_files(4096)
    config = hall_config(tmp_path, f"socket_join_seconds = {JOIN_SECONDS}\n"
                                   f"sockets_per_address = {PER_ADDRESS_CAP}\nsockets_total = {TOTAL_CAP}")
    with served(tmp_path, config) as (port, log_path):
        catalogue = call(port, "GET", "/api/v1/matters")[1]
        matters = {m["code"]: m["id"] for m in catalogue["matters"]}
        windows = {w["number"]: w["id"] for w in catalogue["windows"]}

        seen = Flood()
        stop = asyncio.Event()
        loop = asyncio.new_event_loop()
        attack = threading.Thread(target=loop.run_until_complete, daemon=True,
                                  args=(flood(port, ADDRESSES, PER_ADDRESS_TRIES, stop, seen, wrong_token_share=7),))
        attack.start()
        # The flood is on when the caps have refused some and the server holds many.
        deadline = time.monotonic() + 60
        while not (seen.refused.get(429) and seen.refused.get(503) and seen.opened >= TOTAL_CAP):
            assert time.monotonic() < deadline, (seen, log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.1)

        # The hall's morning goes on under it: clerks log in, tickets come out, windows call.
        answers = []
        for n in (1, 2, 3, 4, 5):
            status, body = call(port, "POST", "/api/v1/auth/login", {"username": f"clerk0{n}", "password": "test1234"})
            answers.append(("login", status))
            token = body.get("token")
            code = {1: "XK00101001", 2: "XK00102001", 3: "QR00201001", 4: "QR00201001", 5: "GG00301001"}[n]
            answers.append(("issue", call(port, "POST", "/api/v1/tickets", {"matter_id": matters[code]},
                                          token="test-kiosk")[0]))
            answers.append(("call-next", call(port, "POST", f"/api/v1/windows/{windows[n]}/call-next", {}, token)[0]))
        opened_during = seen.opened
        loop.call_soon_threadsafe(stop.set)
        attack.join(timeout=60)

        assert answers == [(what, {"login": 200, "issue": 201, "call-next": 200}[what]) for what, _ in answers]
        assert not attack.is_alive(), f"sockets still open after the flood stopped: {seen}"
        # Every socket the server took, it closed itself (none joined); the rest it refused at once.
        assert seen.opened == seen.closed_by_server and seen.open_now == 0
        assert opened_during >= TOTAL_CAP and seen.refused.keys() == {429, 503}, seen
        assert not seen.failed, seen

        # A real screen joins with its token, gets its snapshot, and is not closed as idle.
        screen = socketio.Client(reconnection=False)
        snapshots = []
        screen.on("snapshot", snapshots.append, namespace="/hall")
        screen.connect(f"http://127.0.0.1:{port}", namespaces=["/hall"], auth={"token": "test-display"},
                       transports=["websocket"], wait_timeout=10)
        try:
            time.sleep(JOIN_SECONDS + 1.5)          # past the join deadline: a joined screen stays
            assert screen.connected and snapshots and snapshots[0]["seq"] >= 10
        finally:
            screen.disconnect()
        loop.close()
