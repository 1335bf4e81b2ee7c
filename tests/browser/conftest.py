"""Browser tests: a real hall server on a real port, driven through Debian's Chromium by Playwright.

`browser` is one Chromium for the whole session; `live_hall` is a fresh server (own SQLite file) per
test, so tests never see each other's tickets. Without /usr/bin/chromium the tests are skipped
loudly, or fail when HALL_REQUIRE_SERVICES=1 (CI).
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from queue_server.app import create_app

from .support import SMALL_HALL, Hall




@pytest.fixture(scope="session")
def browser(chromium):
    """The run's one Chromium (tests/conftest.py)."""
    return chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_hall(tmp_path):
    yield serve_live(tmp_path)


def serve_live(tmp_path, clock=None, *, staffed: bool = True) -> Hall:
    """A hall server on a free port; on the real clock unless given one. `staffed`: every
    window's clerk signed in on it (staffing.py), as on a working morning."""
    app = create_app([SMALL_HALL], f"sqlite:///{tmp_path / 'hall.db'}", secret=b"t", clock=clock)
    app.extensions["hall"].ignore_hours = True  # the real clock: tests run at any hour
    if staffed:
        from queue_server.staffing import sign_in_assigned
        for hall_id in app.extensions["hall"].halls:
            sign_in_assigned(app.extensions["hall"], hall_id, actor="test:morning")
    port = _free_port()
    sio = app.extensions["socketio"]
    thread = threading.Thread(target=sio.run, args=(app,), daemon=True,
                              kwargs=dict(host="127.0.0.1", port=port, allow_unsafe_werkzeug=True,
                                          use_reloader=False, log_output=False))
    thread.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the hall server did not answer on port {port}")
            time.sleep(0.02)
    # The werkzeug server cannot be stopped from outside a request; its daemon thread ends
    # with the test process, and each test has its own port and database.
    return Hall(app, f"http://127.0.0.1:{port}")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    pg = context.new_page()
    pg.set_default_timeout(5000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
