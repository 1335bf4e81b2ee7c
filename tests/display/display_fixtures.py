"""Fixtures for the display browser tests: Debian's Chromium through Playwright (skipped loudly when
missing, a failure with HALL_REQUIRE_SERVICES=1), and hall servers in their own processes.

Not a conftest.py on purpose: other test modules do `from conftest import …` and a second
conftest module on sys.path would shadow tests/conftest.py. Test modules import these by name."""
from __future__ import annotations

import pytest

from conftest import copy_migrated_sqlite
from display_helpers import ARTIFACTS, HallProcess




ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# How a hall display is started (kiosk mode): the voice plays with no tap. One test checks the
# 「点击启用语音」 overlay in a browser without it.


@pytest.fixture
def open_page(chromium):
    """open_page(url, width, height) -> page; every page's JavaScript errors fail the test."""
    contexts, errors = [], []

    def _open(url: str, width: int = 1920, height: int = 1080):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                       timezone_id="Asia/Shanghai")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(8000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def hall_process(tmp_path):
    """hall_process(hall=..., quiet_after=...) -> a started server; all are killed at the end."""
    started = []

    def _start(**kwargs) -> HallProcess:
        db = tmp_path / f"hall{len(started)}.db"
        copy_migrated_sqlite(db)
        server = HallProcess(db, **kwargs).start()
        started.append(server)
        return server

    yield _start
    for server in started:
        server.kill()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
