"""What the display tests share: paths, a small HTTP client, a server process that can be killed and
restarted on the same port and database, pty pairs behind a stable path, a /hall listener."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import socketio

from client import call
from live import free_port, readable

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
ROOT = TESTS.parent
SMALL_HALL = TESTS / "halls" / "small.toml"
DEMO_HALL = ROOT / "config" / "demo" / "hall.toml"
ARTIFACTS = TESTS / "_artifacts" / "display"
CHROMIUM = Path(os.environ.get("HALL_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_SERVICES = os.environ.get("HALL_REQUIRE_SERVICES") == "1"
PASSWORD = "test1234"


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout:.1f}s")


class Api:
    """The hall's HTTP API as kiosks, clerks and devices call it."""

    def __init__(self, url: str, password: str = PASSWORD, kiosk: str = "test-kiosk", display: str = "test-display"):
        self.url, self.password, self.kiosk, self.display = url, password, kiosk, display
        self._tokens: dict[str, str] = {}
        self._catalogue = None

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        return call(self.url + path, method, body, token)

    @property
    def catalogue(self) -> dict:
        if self._catalogue is None:
            status, self._catalogue = self.request("GET", "/api/v1/matters")
            assert status == 200, self._catalogue
        return self._catalogue

    def matter(self, code: str) -> dict:
        return next(m for m in self.catalogue["matters"] if m["code"] == code)

    def window(self, number: int) -> dict:
        return next(w for w in self.catalogue["windows"] if w["number"] == number)

    def token(self, username: str) -> str:
        if username not in self._tokens:
            status, body = self.request("POST", "/api/v1/auth/login", {"username": username, "password": self.password})
            assert status == 200, body
            self._tokens[username] = body["token"]
        return self._tokens[username]

    def issue(self, code: str, **extra) -> dict:
        status, body = self.request("POST", "/api/v1/tickets", {"matter_id": self.matter(code)["id"], **extra},
                                    token=self.kiosk)
        assert status in (200, 201), body
        return body["ticket"]

    def op(self, window_number: int, action: str, body: dict | None = None, expect: int | None = 200):
        status, answer = self.request("POST", f"/api/v1/windows/{self.window(window_number)['id']}/{action}",
                                      body or {}, token=self.token(f"clerk{window_number:02d}"))
        if expect is not None:
            assert status == expect, (action, status, answer)
        return answer

    def queue(self) -> dict:
        status, body = self.request("GET", "/api/v1/queue", token=self.display)
        assert status == 200, body
        return body


class HallProcess:
    """`hall serve` for one test: start, kill -9, start again on the same port and database."""

    def __init__(self, db: Path, port: int | None = None, hall: Path = SMALL_HALL, log: Path | None = None,
                 quiet_after: float | None = None, env: dict | None = None, unlimited_kiosks: bool = False,
                 nobody_signed_in: bool = False):
        self.env = env
        self.nobody_signed_in = nobody_signed_in
        self.db, self.port, self.hall = db, port or free_port(), hall
        self.log = log or db.with_suffix(".log")
        self.quiet_after = quiet_after
        self.unlimited_kiosks = unlimited_kiosks
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> "HallProcess":
        cmd = [sys.executable, str(HERE / "hall_process.py"), "--db", str(self.db), "--port", str(self.port),
               "--hall", str(self.hall)]
        if self.quiet_after:
            cmd += ["--quiet-after", str(self.quiet_after)]
        if self.unlimited_kiosks:
            cmd += ["--unlimited-kiosks"]
        if self.nobody_signed_in:
            cmd += ["--nobody-signed-in"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=str(ROOT),
                                         env={**os.environ, **(self.env or {})})
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hall server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/api/v1/matters", timeout=1) as res:
                    if res.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"hall server did not answer on {self.port}: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


class Pty:
    """A serial line: the driver opens `path` (a symlink to a pty slave, like /dev/serial/by-id/…);
    the test is the device on the master side. `unplug()` hangs the line up, `plug()` makes a new
    one behind the same path."""

    def __init__(self, path: Path):
        self.path = path
        self.master = self.slave = None
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        if self.path.is_symlink() or self.path.exists():
            self.path.unlink()
        self.path.symlink_to(os.ttyname(self.slave))

    def unplug(self) -> None:
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    def read(self, timeout: float = 0.2) -> bytes:
        out = b""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return out
            ready = readable(self.master, left)
            if not ready:
                return out
            try:
                out += os.read(self.master, 4096)
            except OSError:
                return out

    def write(self, data: bytes) -> None:
        os.write(self.master, data)


class Listener:
    """A /hall client that records every event (device.* included)."""

    def __init__(self, url: str, token: str):
        self.events: list[dict] = []
        self.snapshots: list[dict] = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False, handle_sigint=False)
        self.sio.on("snapshot", lambda d: self.snapshots.append(d), namespace="/hall")
        self.sio.on("*", self._any, namespace="/hall")
        self.sio.connect(url, namespaces=["/hall"], auth={"token": token}, transports=["websocket"], wait_timeout=5)
        wait_for(lambda: self.snapshots, what="snapshot on connect")

    def _any(self, name, data=None):
        with self.lock:
            self.events.append(data)

    def of(self, kind: str) -> list[dict]:
        with self.lock:
            return [e for e in self.events if e and e.get("type") == kind]

    def close(self) -> None:
        # the graceful close waits up to 3 s for the server's close frame; nothing here needs it
        threading.Thread(target=self.sio.disconnect, daemon=True).start()
        wait_for(lambda: not self.sio.connected, timeout=1, what="listener closed")
