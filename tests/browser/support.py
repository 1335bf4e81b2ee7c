"""What the browser tests share besides fixtures: paths, accounts and a small API client."""
from __future__ import annotations

import os
from pathlib import Path

from client import call

TESTS = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("HALL_CHROMIUM", "/usr/bin/chromium"))
SMALL_HALL = TESTS / "halls" / "small.toml"
ARTIFACTS = TESTS / "_artifacts"
REQUIRE_SERVICES = os.environ.get("HALL_REQUIRE_SERVICES") == "1"
PASSWORD = "test1234"
KIOSK = "test-kiosk"
DISPLAY = "test-display"


class Hall:
    """A running hall server and the API calls a test makes besides the browser's."""

    def __init__(self, app, url: str):
        self.app, self.url = app, url
        catalogue = self.get("/api/v1/matters")
        self.matters = {m["code"]: m for m in catalogue["matters"]}
        self.windows = {w["number"]: w for w in catalogue["windows"]}
        self._tokens: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        return call(self.url + path, method, body, token)

    def get(self, path: str, token: str | None = None):
        status, body = self.request("GET", path, token=token)
        assert status == 200, body
        return body

    def token(self, username: str) -> str:
        if username not in self._tokens:
            status, body = self.request("POST", "/api/v1/auth/login", {"username": username, "password": PASSWORD})
            assert status == 200, body
            self._tokens[username] = body["token"]
        return self._tokens[username]

    def issue(self, code: str, **extra) -> dict:
        status, body = self.request("POST", "/api/v1/tickets", {"matter_id": self.matters[code]["id"], **extra},
                                    token=KIOSK)
        assert status == 201, body
        return body["ticket"]

    def ticket(self, ticket_id: int) -> dict:
        return self.get(f"/api/v1/tickets/{ticket_id}", token=DISPLAY)["ticket"]

    def queue(self) -> dict:
        return self.get("/api/v1/queue", token=DISPLAY)

    def op(self, window_number: int, action: str, body: dict | None = None, who: str | None = None):
        window = self.windows[window_number]
        return self.request("POST", f"/api/v1/windows/{window['id']}/{action}", body or {},
                            token=self.token(who or f"clerk{window_number:02d}"))
