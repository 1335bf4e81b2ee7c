"""A real server on a real socket, in a thread, for websocket and browser tests."""
from __future__ import annotations

import threading
import time

from werkzeug.serving import make_server


class LiveServer:
    def __init__(self, app, host: str = "127.0.0.1"):
        self.app = app
        self.server = make_server(host, 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met within %.1fs" % timeout)
