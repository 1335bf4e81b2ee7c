"""The tests' one HTTP client for served halls (a server on a port, its own process or a thread):
`call` gives (status, JSON) for any status (`local` the same for a port on this machine), and a process that is not there raises OSError
(URLError, ConnectionError), which the kill and restart tests count on. In-process tests use
Flask's test client through conftest.HallDriver instead."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(url: str, method: str = "GET", body: dict | None = None, token: str | None = None, *,
         headers: dict | None = None, timeout: float = 10) -> tuple[int, Any]:
    """(status, JSON or None) of one request, with the bearer token when given."""
    request = urllib.request.Request(
        url, method=method, data=None if body is None else json.dumps(body).encode(),
        headers=({} if body is None else {"Content-Type": "application/json"})
        | ({"Authorization": f"Bearer {token}"} if token else {}) | (headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def local(port: int, method: str, path: str, body: dict | None = None, token: str | None = None, *,
          headers: dict | None = None, timeout: float = 30, host: str = "127.0.0.1") -> tuple[int, Any]:
    """`call` on a port of this machine (or another loopback address: `host`)."""
    return call(f"http://{host}:{port}{path}", method, body, token, headers=headers, timeout=timeout)


def ok(port: int, method: str, path: str, body: dict | None = None, token: str | None = None) -> Any:
    """The JSON of a request that must succeed (2xx); anything else fails the test with the answer."""
    status, answer = local(port, method, path, body, token, timeout=10)
    assert 200 <= status < 300, (method, path, status, answer)
    return answer
