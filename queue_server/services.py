"""The background work of one app, started and stopped in one place.

`start(app)` runs from `create_app`, after the blueprints are registered and before the app is
returned: the device monitor (heartbeats and 离线 alerts) always, and the supervision workers
(warnings, defaults, day close, unstaffed windows, the SMS sender) on the real clock unless
`HALL_WORKERS=0` (supervision/workers.py says why), and the in-server kiosk's print queues
when they exist. `stop(app)` ends them all; it runs at
process exit (gunicorn's worker exit included) and from tests when their app is done, so no
thread goes on polling a database whose app is gone.

Two helpers start themselves, on purpose, and end by themselves when idle: the audit writer
(with the first audit row) and the socket token sweeper (while a socket is connected).
"""
from __future__ import annotations

import atexit
import weakref

from flask import Flask

from .devices import Monitor, Registry
from .supervision.workers import Workers, wanted

_started: "weakref.WeakSet[Flask]" = weakref.WeakSet()   # apps whose jobs may still run


def start(app: Flask) -> None:
    rt = app.extensions["hall"]
    registry = Registry(rt)
    app.extensions["hall_devices"] = registry
    running: list = [Monitor(registry, app).start()]
    app.extensions["hall_device_monitor"] = running[0]
    if wanted(rt):
        workers = Workers(rt).start()
        app.extensions["hall_workers"] = workers
        running.append(workers)
    if "kiosk" in app.blueprints:
        running.append(_KioskPrinters(app))
    app.extensions["hall_services"] = running
    _started.add(app)           # held weakly: stop_all, at exit or from tests, stops what is still there


class _KioskPrinters:
    """The in-server kiosk's backends, one per paired kiosk device, each with a print queue
    (a thread); made on a kiosk's first request, closed with the app."""

    def __init__(self, app: Flask) -> None:
        self._app = weakref.ref(app)

    def stop(self) -> None:
        app = self._app()
        if app is not None:
            from kiosk.views import close_all
            close_all(app)


def stop(app: Flask) -> None:
    """Stop every background job of `app`, newest first; stopping twice is harmless."""
    running = app.extensions.get("hall_services", [])
    while running:
        running.pop().stop()


def stop_all() -> None:
    """Stop the jobs of every app still alive: at process exit, and before a test run drops the
    databases they poll."""
    for app in list(_started):
        stop(app)


atexit.register(stop_all)
