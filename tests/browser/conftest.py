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

from .support import CHROMIUM, REQUIRE_SERVICES, SMALL_HALL, Hall


def _missing(message: str):
    if REQUIRE_SERVICES:
        pytest.fail(message + " and HALL_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip("SKIPPED LOUDLY: " + message + "; install Debian's chromium to run the browser tests")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        _missing(f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        _missing(f"the playwright package is missing ({exc})")
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM),
                                      args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
    except Exception as exc:  # noqa: BLE001 - any launch failure
        pw.stop()
        _missing(f"Chromium at {CHROMIUM} did not start ({exc.__class__.__name__}: {exc})")
    yield chromium
    chromium.close()
    pw.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_hall(tmp_path):
    app = create_app([SMALL_HALL], f"sqlite:///{tmp_path / 'hall.db'}", secret=b"t")
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
    yield Hall(app, f"http://127.0.0.1:{port}")


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
