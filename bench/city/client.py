"""HTTP to the hall servers: keep-alive connections, one per thread and server process.

Each kiosk and each clerk always reaches the same server process (as behind nginx `ip_hash`);
the simulator picks the port, this module only keeps the connections and times the requests.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from collections import defaultdict

API = "/api/v1"


class Failed(RuntimeError):
    """A request the simulated day cannot go on without (a 5xx, or a refusal it did not expect)."""


class Wire:
    """Thread-safe: each thread has its own connection to each port."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self.local = threading.local()
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)   # op -> seconds
        self.statuses: dict[tuple[str, int], int] = defaultdict(int)

    def _conn(self, port: int) -> http.client.HTTPConnection:
        conns = self.local.__dict__.setdefault("conns", {})
        conn = conns.get(port)
        if conn is None:
            conn = conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
        return conn

    def _drop(self, port: int) -> None:
        conn = self.local.__dict__.get("conns", {}).pop(port, None)
        if conn is not None:
            conn.close()

    def call(self, port: int, op: str, method: str, path: str, body: dict | None = None,
             token: str | None = None, retry: bool = False) -> tuple[int, dict]:
        """(status, json). `retry`: the request is idempotent (an issue with a request_id), so a
        connection the server closed may be reopened and the request sent again."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body or {}) if method == "POST" else None
        for attempt in (1, 2):
            start = time.perf_counter()
            try:
                conn = self._conn(port)
                conn.request(method, API + path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                break
            except (OSError, http.client.HTTPException):
                self._drop(port)
                if attempt == 2 or not retry:
                    raise
        elapsed = time.perf_counter() - start
        with self.lock:
            self.latency[op].append(elapsed)
            self.statuses[(op, response.status)] += 1
        return response.status, json.loads(raw or b"{}")

    def close(self) -> None:
        for conn in self.local.__dict__.get("conns", {}).values():
            conn.close()

    def requests(self) -> int:
        return sum(self.statuses.values())
