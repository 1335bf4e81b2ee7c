"""The HTTP server under `hall serve` and `hall demo`: gunicorn's threaded worker, one per port.

Flask-SocketIO in threading mode needs one process per port (the load balancer keeps each client
on its process) and a thread per open websocket, which is what gunicorn's `gthread` worker gives:
keep-alive connections wait in its poller, requests and websockets run in its thread pool. It
served the hall's requests at about twice the rate of Werkzeug's development server on the same
machine (bench/README.md). Werkzeug remains the fallback where gunicorn cannot run (Windows).

The app is made in the worker process, after gunicorn forks it: database pools and the
background threads (supervision checks, device monitor, audit writer) must be born in the process
that uses them. The master process only checks the configuration before it starts anything.
"""
from __future__ import annotations

import gc
import logging
import os
import signal
from collections.abc import Callable

from flask import Flask

log = logging.getLogger("hall")

THREADS = 1000            # open websockets (screens, strips, raters) + requests in flight, per process
GRACEFUL_SECONDS = 10


def serve(make_app: Callable[[], Flask], host: str, port: int, *, threads: int = THREADS,
          on_stop: Callable[[Flask], None] | None = None) -> None:
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        BaseApplication = None
    if BaseApplication is None or os.name != "posix":
        _serve_werkzeug(make_app(), host, port, on_stop)
        return

    made: dict[str, Flask] = {}

    def post_fork(_server, _worker) -> None:
        _die_with_parent()

    def worker_exit(_server, _worker) -> None:
        if on_stop is not None and "app" in made:
            on_stop(made["app"])

    class Hall(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}", "workers": 1, "worker_class": "gthread", "threads": threads,
                "worker_connections": threads * 2, "keepalive": 75, "timeout": 60,
                "graceful_timeout": GRACEFUL_SECONDS, "accesslog": None, "errorlog": "-",
                "loglevel": "warning", "proc_name": f"hall-{port}", "post_fork": post_fork, "worker_exit": worker_exit,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            made["app"] = make_app()
            # The app's own objects (catalogue, SQLAlchemy's mappers and caches, Flask) live as
            # long as the process: moved out of the collector's sight, a full collection under
            # load took 3.5 ms instead of 55 ms, a pause every request in flight waited through.
            gc.collect()
            gc.freeze()
            return made["app"]

    Hall().run()


def _die_with_parent() -> None:
    """If `hall serve` itself is killed (kill -9, OOM), its worker goes at once instead of
    serving on with open websockets: clients must see the process gone and move to a live one.
    Linux's parent-death signal; elsewhere gunicorn's own parent check stops the worker later."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died between fork and prctl
            os._exit(1)
    except (OSError, AttributeError):
        log.warning("the worker will not follow its parent's death at once (no prctl)")


def _serve_werkzeug(app: Flask, host: str, port: int, on_stop) -> None:
    signal.signal(signal.SIGTERM, _stop)
    try:
        app.extensions["socketio"].run(app, host=host, port=port, allow_unsafe_werkzeug=True,
                                       use_reloader=False, log_output=False)
    except KeyboardInterrupt:
        pass
    finally:
        if on_stop is not None:
            on_stop(app)


def _stop(signum, frame):
    """SIGTERM stops like Ctrl+C, so the clean-up above runs."""
    raise KeyboardInterrupt
