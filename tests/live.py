"""A real server on a real socket, in a thread, for websocket and browser tests."""
from __future__ import annotations

import select
import socket
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


def readable(fd, timeout: float) -> bool:
    """Whether `fd` (a socket or a file descriptor) has data within `timeout` seconds. poll, not
    select: a long test run holds more than select's 1,024 descriptors, and select then raises
    in the fake's thread, which drops the connection with a reset (it made a printer look dead)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(max(0.0, timeout) * 1000))


def free_port() -> int:
    """A port no one listens on now, for a server in its own process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
