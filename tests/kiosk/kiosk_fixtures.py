"""Kiosk fixtures, imported by the kiosk test modules: the API tests run on the rules hall (a quota
and a last ticket time) with the frozen clock of tests/conftest.py; the browser tests drive
Debian's Chromium. Not a conftest.py: test folders without __init__.py would each put a module
named `conftest` in sys.modules, and tests doing `from conftest import …` would get the wrong one."""
from __future__ import annotations

import pytest

from kiosk_helpers import rules_hall
from queue_server.app import create_app


@pytest.fixture
def app(db_url, clock):
    """Overrides tests/conftest.py's app: the same small hall, with the kiosk's rules."""
    return create_app([rules_hall()], db_url, secret=b"test-secret", clock=clock)




@pytest.fixture(scope="module")
def browser(chromium):
    """The run's one Chromium (tests/conftest.py)."""
    return chromium
