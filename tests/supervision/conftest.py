"""Browser fixtures for the supervisor's and citizen's pages: Debian's Chromium through Playwright,
and a hall server on a real port whose clock the test sets (a FrozenClock)."""
from __future__ import annotations

import os
import socket
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from queue_server.app import create_app
from queue_server.clock import FrozenClock

TESTS = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("HALL_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = TESTS / "_artifacts" / "supervision"
SMALL_HALL = TESTS / "halls" / "small.toml"


def _missing(message: str):
    if os.environ.get("HALL_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " and HALL_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip("SKIPPED LOUDLY: " + message)


class LiveHall:
    def __init__(self, app, url: str, clock: FrozenClock):
        self.app, self.url, self.clock = app, url, clock
        self.rt = app.extensions["hall"]
        self.hall_id = next(iter(self.rt.halls))
        self.client = app.test_client()


@pytest.fixture
def live(tmp_path, sqlite_db):
    clock = FrozenClock(datetime(2026, 4, 2, 10, 30))  # a Thursday: last month is March
    app = create_app([SMALL_HALL], sqlite_db(tmp_path / "hall.db"), secret=b"browser", clock=clock)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sio = app.extensions["socketio"]
    threading.Thread(target=sio.run, args=(app,), daemon=True,
                     kwargs=dict(host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, use_reloader=False,
                                 log_output=False)).start()
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("the hall server did not start")
            time.sleep(0.02)
    yield LiveHall(app, f"http://127.0.0.1:{port}", clock)


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", timezone_id="Asia/Shanghai")
    pg = context.new_page()
    pg.set_default_timeout(8000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
