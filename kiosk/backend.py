"""The kiosk's backend: what runs on the kiosk machine beside its printer.

It holds the kiosk's device token and talks to the queue server over its HTTP API only, as a
separate machine would (mounted in the hall server, it calls the same API in that process
through a `transport` the server gives it: queue_server/kiosk_host.py). It caches the catalogue,
issues tickets with the page's request id (a double tap or a retry returns the first ticket),
prints the slip, and tells the server how its printer is.

Settings, first found wins: the Flask app's config, then the environment, then defaults:
`KIOSK_SERVER_URL` / `HALL_KIOSK_SERVER` (required on a kiosk's own machine: `--server`; never
the request's Host),
`KIOSK_TOKEN` / `HALL_KIOSK_TOKEN` (default: the demo hall's `demo-kiosk`, which no real hall
accepts), `KIOSK_PRINTER` / `HALL_KIOSK_PRINTER` (default: the device's `printer` in the hall
config, else `preview:`), `KIOSK_PRINTER_PROFILE` / `HALL_KIOSK_PRINTER_PROFILE` (P80, P58 …).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable

from .pinyin import initials, syllables
from .printing import REPRINTABLE, SlipPrinter

log = logging.getLogger("hall.kiosk")

DEMO_TOKEN = "demo-kiosk"
TIMEOUT = 5.0               # seconds for one call to the server
CATALOGUE_TTL = 60.0
AVAILABILITY_TTL = 3.0
HEARTBEAT_EVERY = 20.0
DOWN_STATUSES = (502, 503, 504)
# (method, path, JSON body, token) -> (status, JSON answer): the hall server's API in-process
Transport = Callable[[str, str, "dict | None", str], "tuple[int, Any]"]


class ServerDown(Exception):
    """The queue server did not answer (or answered that it cannot work now)."""


class Refused(Exception):
    """The server said no, with its code and Chinese message (shown as is)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def setting(config: dict, name: str, env: str, default: str | None = None) -> str | None:
    return config.get(name) or os.environ.get(env) or default


class KioskBackend:
    def __init__(self, *, token: str, server_url: str | None = None, printer_url: str | None = None,
                 printer_profile: str | None = None, local_printer: str | None = None,
                 transport: Transport | None = None) -> None:
        self.token = token
        # Mounted in the hall server: its API is called in the same process (queue_server/kiosk_host.py),
        # never at an address a request named.
        self.transport = transport
        self.server_url = server_url.rstrip("/") if server_url else None
        self._printer_url, self._printer_profile, self._local_printer = printer_url, printer_profile, local_printer
        self._printer: SlipPrinter | None = None
        self._lock = threading.Lock()
        self._catalogue: tuple[float, dict] | None = None
        self._availability: tuple[float, dict] | None = None
        self._me: dict | None = None
        self._beat_at = 0.0
        self._beat_state: str | None = None
        self._beat_missing_until = 0.0
        self._reprinted: set[int] = set()

    # --- talking to the server -------------------------------------------------------------

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = TIMEOUT) -> tuple[int, Any]:
        """(status, JSON body); ServerDown when nothing usable came back."""
        if self.transport is not None:
            status, answer = self.transport(method, path, body, self.token)
            if status in DOWN_STATUSES:
                raise ServerDown(f"服务器暂时不可用（HTTP {status}）")
            return status, answer
        root = self.server_url
        if not root:
            raise ServerDown("未配置排队服务器地址")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(root.rstrip("/") + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                return res.status, json.loads(res.read() or b"null")
        except urllib.error.HTTPError as err:
            if err.code in DOWN_STATUSES:
                raise ServerDown(f"服务器暂时不可用（HTTP {err.code}）") from None
            try:
                return err.code, json.loads(err.read() or b"null")
            except ValueError:
                return err.code, None
        except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError, ValueError) as exc:
            log.warning("queue server %s unreachable: %s", root, getattr(exc, "reason", exc))
            raise ServerDown("无法连接排队服务器") from None

    def _ok(self, status: int, body: Any) -> Any:
        if 200 <= status < 300:
            return body
        error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
        raise Refused(status, error.get("code", "http_error"), error.get("message") or f"服务器拒绝了请求（{status}）")

    # --- catalogue and waits ----------------------------------------------------------------

    def catalogue(self) -> dict:
        """The hall's catalogue with pinyin search keys, cached; the last copy while the server is away."""
        cached = self._catalogue
        if cached and time.monotonic() - cached[0] < CATALOGUE_TTL:
            return cached[1]
        try:
            body = self._ok(*self.call("GET", "/api/v1/matters"))
        except ServerDown:
            if cached:
                return cached[1]
            raise
        for m in body["matters"]:
            m["initials"], m["syllables"] = initials(m["name"]), syllables(m["name"])
            m["keys"] = [k.strip().lower() for k in (m.get("pinyin") or "").replace("，", ",").split(",") if k.strip()]
        for d in body["departments"]:
            d["initials"], d["syllables"] = initials(d["name"]), syllables(d["name"])
        self._catalogue = (time.monotonic(), body)
        return body

    def availability(self) -> dict:
        cached = self._availability
        if cached and time.monotonic() - cached[0] < AVAILABILITY_TTL:
            return cached[1]
        body = self._ok(*self.call("GET", "/api/v1/matters/availability"))
        self._availability = (time.monotonic(), body)
        return body

    # --- tickets ------------------------------------------------------------------------------

    def _issue(self, path: str, body: dict) -> tuple[dict, bool]:
        """One retry on a lost answer: the request id makes the retry return the same ticket."""
        try:
            status, reply = self.call("POST", path, body)
        except ServerDown:
            if not body.get("request_id"):
                raise
            time.sleep(0.3)
            status, reply = self.call("POST", path, body)
        return self._ok(status, reply), status == 201

    def take_ticket(self, form: dict) -> dict:
        body = {k: form[k] for k in ("matter_id", "priority", "id_number", "phone", "request_id") if form.get(k)}
        reply, created = self._issue("/api/v1/tickets", body)
        return self._after_issue(reply["ticket"], created)

    def check_in(self, form: dict) -> dict:
        body = {k: form[k] for k in ("code", "id_number", "request_id") if form.get(k)}
        reply, created = self._issue("/api/v1/appointments/check-in", body)
        result = self._after_issue(reply["ticket"], created)
        result["appointment"] = reply.get("appointment")
        return result

    def _after_issue(self, ticket: dict, created: bool) -> dict:
        """The ticket stands whatever the printer does: print, and say how it went."""
        self._availability = None
        catalogue = self.catalogue()
        printer = self.printer()
        print_error = ""
        try:
            printer.print_ticket(ticket, catalogue)
        except Exception as exc:  # noqa: BLE001 - a broken printer must not hide the ticket
            log.exception("slip for ticket %s not queued", ticket.get("id"))
            print_error = str(exc)
        job = printer.job(ticket["id"])
        if print_error:
            job["state"], job["error"] = "failed", print_error
        return {"ticket": ticket, "created": created, "print": job,
                "slip_url": f"slip/{ticket['id']}.png", "windows": self._window_words(ticket, catalogue),
                "matter": next((m for m in catalogue["matters"] if m["id"] == ticket["matter_id"]), None)}

    @staticmethod
    def _window_words(ticket: dict, catalogue: dict) -> list[dict]:
        windows = {w["id"]: w for w in catalogue["windows"]}
        return [{"number": windows[i]["number"], "name": windows[i]["name"]}
                for i in ticket.get("window_ids") or [] if i in windows]

    def reprint(self, ticket_id: int) -> dict:
        """Only a slip this kiosk failed to print (or could not confirm, when the citizen says
        it did not come out), and only once (paper is not a toy, two slips confuse the desk)."""
        printer = self.printer()
        if printer.slip_bytes(ticket_id) is None:
            raise Refused(404, "unknown_slip", "本机没有这张号票的告知单，请到服务台补打")
        ticket = self._ok(*self.call("GET", f"/api/v1/tickets/{ticket_id}"))["ticket"]
        with self._lock:
            if ticket_id in self._reprinted:
                raise Refused(409, "already_reprinted", "告知单已补打过一次，请到服务台补打")
            if printer.job(ticket_id)["state"] not in REPRINTABLE:
                raise Refused(409, "slip_not_failed", "这张告知单已打印或正在打印，无需补打")
            self._reprinted.add(ticket_id)
        printer.reprint(ticket, self.catalogue())
        return printer.job(ticket_id)

    # --- printer and health -------------------------------------------------------------------

    def printer(self) -> SlipPrinter:
        with self._lock:
            if self._printer is None:
                url = self._printer_url or self._device_printer() or self._local_printer or "preview:"
                self._printer = SlipPrinter(url, self._printer_profile)
                self._printer.on_change = self._printer_changed
            return self._printer

    def _device_printer(self) -> str | None:
        """The `printer` of this device in the hall config, if the server tells it (GET /me)."""
        try:
            me = self.me()
        except (ServerDown, Refused):
            return None
        return (me or {}).get("printer") or None

    def me(self) -> dict:
        if self._me is None:
            self._me = self._ok(*self.call("GET", "/api/v1/me"))
        return self._me

    def status(self) -> dict:
        """Server reachable (and this kiosk's token accepted)? How is the printer? Sends the
        heartbeat now and then, and at once when the printer's state changes."""
        printer = self.printer()
        out: dict[str, Any] = {"server": False, "message": "", "printer": printer.status(), "at": time.time()}
        try:
            status, body = self.call("GET", "/api/v1/me", timeout=3.0)
        except ServerDown as exc:
            out["message"] = str(exc)
            return out
        if status == 401:
            out["message"] = "取号机令牌无效或已停用，请联系管理员"
            return out
        out["server"] = status == 200
        if status == 200:
            self._me = body
        self._heartbeat(out["printer"]["state"])
        return out

    def _printer_changed(self, state: str) -> None:
        """Tell the server at once (not from the printing thread, which must not wait on the network)."""
        threading.Thread(target=self._heartbeat, args=(state,), name="kiosk-heartbeat", daemon=True).start()

    def _heartbeat(self, state: str) -> None:
        now = time.monotonic()
        if now < self._beat_missing_until:
            return
        if state == self._beat_state and now - self._beat_at < HEARTBEAT_EVERY:
            return
        try:
            status, _ = self.call("POST", "/api/v1/devices/heartbeat", {"status": {"printer": state}}, timeout=3.0)
        except ServerDown:
            return
        self._beat_at, self._beat_state = now, state
        if status in (404, 405):  # a server without the device registry yet: ask again later
            self._beat_missing_until = now + 300

    def close(self) -> None:
        if self._printer is not None:
            self._printer.close()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
