"""Issue 20, points 3, 4, 5 and 7, attacked on a real hall server process (tests/display/hall_process.py:
the small hall, its clock on a Tuesday morning, the kiosk mounted at /kiosk as in `hall demo`).

- a forged Host never sends the kiosk's token (or a citizen's numbers) anywhere, nor poisons the
  catalogue a slip's QR code is printed from;
- anonymous callers cannot take tickets, slips or reprints through the kiosk pages; a kiosk
  browser paired with an admin's one-time code can, and the audit names the device;
- guessing query codes is slow;
- a staff token in a socket URL is refused, snapshots are limited per connection, only this
  hall's calls are voiced.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import socketio

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
PASSWORD = "test1234"
KIOSK = "test-kiosk"
SOCIAL_CARD = "GG00301001"
ID_A = "11010519491231002X"
PHONE = "13812345678"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A hall server in its own process."""
    tmp = tmp_path_factory.mktemp("issue20")
    port = _free_port()
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, str(TESTS / "display" / "hall_process.py"), "--db", str(tmp / "hall.db"),
                             "--port", str(port)], stdout=log, stderr=log, cwd=str(ROOT), env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/api/v1/matters", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp / "server.log").read_text()[-2000:])
            time.sleep(0.05)
    yield port
    proc.kill()
    proc.wait(timeout=10)
    log.close()


def request(port, method, path, body=None, headers=None):
    """(status, JSON, headers) of one request, with whatever Host and headers the caller forges."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={**({"Content-Type": "application/json"} if data else {}),
                                                   **(headers or {})})
    res = conn.getresponse()
    raw = res.read()
    conn.close()
    try:
        answer = json.loads(raw or b"null")
    except ValueError:
        answer = raw
    return res.status, answer, res.headers


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def login(port, who):
    status, body, _ = request(port, "POST", "/api/v1/auth/login", {"username": who, "password": PASSWORD})
    assert status == 200, body
    return body["token"]


def matter_id(port, code):
    return next(m["id"] for m in request(port, "GET", "/api/v1/matters")[1]["matters"] if m["code"] == code)


class Listener:
    """The attacker's server: counts every connection made to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.seen: list[bytes] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(1)
            try:
                self.seen.append(conn.recv(65536))
            except OSError:
                self.seen.append(b"")
            conn.close()

    def close(self):
        self.sock.close()


# --- point 3: no Host header decides where a kiosk sends its token -----------------------------


def test_a_forged_host_is_refused_and_never_receives_the_kiosk_token_or_a_citizen(server):
    evil = Listener()
    try:
        for host in ("evil.example", f"evil.example:{evil.port}", "hall.test.evil.example"):
            for method, path, body in (("GET", "/api/v1/matters", None), ("GET", "/kiosk/api/catalogue", None),
                                       ("POST", "/kiosk/api/tickets", {"matter_id": matter_id(server, SOCIAL_CARD),
                                                                       "id_number": ID_A, "phone": PHONE})):
                status, answer, _ = request(server, method, path, body, {"Host": host, **bearer(KIOSK)})
                assert status == 400 and answer["error"]["code"] == "unknown_host", (host, path, answer)
        # A Host the server does answer to (its own loopback, another port: the attacker's): the
        # kiosk works, and still calls nobody but its own server.
        forged = {"Host": f"127.0.0.1:{evil.port}", **bearer(KIOSK)}
        status, catalogue, _ = request(server, "GET", "/kiosk/api/catalogue", headers=forged)
        assert status == 200 and catalogue["hall"]["base_url"] == "http://hall.test"
        status, taken, _ = request(server, "POST", "/kiosk/api/tickets",
                                   {"matter_id": matter_id(server, SOCIAL_CARD), "id_number": ID_A, "phone": PHONE},
                                   forged)
        assert status == 201, taken
        time.sleep(0.3)   # what the listener would have got, it has by now
        assert evil.seen == []
        # The catalogue the next slip is printed from is the hall's own (its QR names base_url).
        status, again, _ = request(server, "GET", "/kiosk/api/catalogue", headers=bearer(KIOSK))
        assert again["hall"]["base_url"] == "http://hall.test"
    finally:
        evil.close()


# --- point 4: the kiosk pages need a paired kiosk ----------------------------------------------


def test_anonymous_callers_take_no_ticket_and_a_paired_kiosk_does_named_in_the_audit(server):
    quota_matter = matter_id(server, "XK00101001")
    before = request(server, "GET", "/api/v1/queue", headers=bearer("test-display"))[1]["waiting"]["total"]
    for _ in range(32):
        status, answer, _ = request(server, "POST", "/kiosk/api/tickets", {"matter_id": quota_matter})
        assert status == 401 and answer["error"]["code"] == "kiosk_not_paired"
    for method, path in (("GET", "/kiosk/slip/1.png"), ("POST", "/kiosk/api/reprint/1"), ("GET", "/kiosk/api/print/1"),
                         ("GET", "/kiosk/api/catalogue")):
        assert request(server, method, path, {} if method == "POST" else None)[0] == 401, path
    assert request(server, "GET", "/api/v1/queue", headers=bearer("test-display"))[1]["waiting"]["total"] == before

    # The admin issues a code; the kiosk browser types it once and gets an HttpOnly cookie.
    admin = login(server, "admin")
    devices = request(server, "GET", "/api/v1/devices", headers=bearer(admin))[1]["devices"]
    kiosk = next(d for d in devices if d["kind"] == "kiosk")
    display = next(d for d in devices if d["kind"] == "display")
    assert request(server, "POST", f"/api/v1/devices/{display['id']}/pairing-code", {}, bearer(admin))[1]["error"]["code"] \
        == "not_pairable"
    assert request(server, "POST", f"/api/v1/devices/{kiosk['id']}/pairing-code", {})[0] == 401
    code = request(server, "POST", f"/api/v1/devices/{kiosk['id']}/pairing-code", {}, bearer(admin))[1]["code"]
    status, paired, headers = request(server, "POST", "/api/v1/devices/pair", {"code": code})
    assert status == 200 and paired["device"]["name"] == kiosk["name"]
    cookie = headers["Set-Cookie"]
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert "httponly" in parts and "samesite=strict" in parts and "path=/kiosk" in parts
    credential = cookie.split(";")[0]
    assert credential.split("=", 1)[1] not in json.dumps(paired)
    # The code was for one browser only.
    status, refused, _ = request(server, "POST", "/api/v1/devices/pair", {"code": code})
    assert status == 403 and refused["error"]["code"] == "invalid_pairing_code"

    status, taken, _ = request(server, "POST", "/kiosk/api/tickets", {"matter_id": quota_matter},
                               {"Cookie": credential})
    assert status == 201, taken
    ticket_id = taken["ticket"]["id"]
    status, png, _ = request(server, "GET", f"/kiosk/slip/{ticket_id}.png", headers={"Cookie": credential})
    assert status == 200 and png[:8] == b"\x89PNG\r\n\x1a\n"
    # The preview printer printed it: no reprint, paired or not.
    status, answer, _ = request(server, "POST", f"/kiosk/api/reprint/{ticket_id}", {}, {"Cookie": credential})
    assert status == 409 and answer["error"]["code"] == "slip_not_failed"
    # The audit names the device (and the kiosk browser's address).
    audit = request(server, "GET", "/api/v1/supervision/audit", headers=bearer(admin))[1]
    rows = [r for r in audit["entries"] if r["target"] == "/api/v1/tickets" and r["status"] == 201]
    assert rows and rows[0]["actor"] == f"device:{kiosk['name']}", rows[:2]


def test_wrong_pairing_codes_are_slow(server):
    """Ten tries per address in ten minutes (the pairing above counted two of this address's)."""
    codes = [request(server, "POST", "/api/v1/devices/pair", {"code": f"{n:08d}"})[1]["error"]["code"]
             for n in range(12)]
    first = codes.index("too_many_tries")
    assert 8 <= first <= 10 and set(codes[:first]) == {"invalid_pairing_code"}, codes
    assert set(codes[first:]) == {"too_many_tries"}, codes


# --- point 5: guessing is slow ---------------------------------------------------------------


def test_guessing_query_codes_is_slow(server):
    answers = [request(server, "GET", f"/api/v1/tickets/ZZ{n:06d}")[0] for n in range(14)]
    assert answers[:10] == [404] * 10 and answers[-1] == 429, answers
    status, answer, headers = request(server, "GET", "/api/v1/ratings/web/ZZ000001")
    assert status == 429 and answer["error"]["code"] == "too_many_lookups" and int(headers["Retry-After"]) > 0
    status, answer, _ = request(server, "POST", "/api/v1/ratings", {"channel": "web", "level": 5, "query_code": "ZZ1"})
    assert status == 429
    # A kiosk or a clerk reading a ticket by id is not a guess.
    assert request(server, "GET", "/api/v1/tickets/1", headers=bearer("test-display"))[0] in (200, 404)


# --- point 7: smaller holes ------------------------------------------------------------------


def test_a_staff_token_in_a_socket_url_is_refused_and_snapshots_are_limited(server):
    url = f"http://127.0.0.1:{server}"
    token = login(server, "supervisor")
    sio = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(f"{url}?token={token}", namespaces=["/hall"], transports=["websocket"], wait_timeout=5)
    sio = socketio.Client(reconnection=False)
    sio.connect(url, namespaces=["/hall"], transports=["websocket"], auth={"token": token}, wait_timeout=5)
    try:
        answers = [sio.call("snapshot", namespace="/hall", timeout=5) for _ in range(22)]
        assert all("seq" in a for a in answers[:20])
        assert answers[-1]["error"]["code"] == "too_many_snapshots"
    finally:
        sio.disconnect()


def test_only_this_halls_calls_are_voiced(server):
    assert request(server, "GET", "/display/voice/A012/1.wav")[0] == 200
    for path in ("/display/voice/Q012/1.wav", "/display/voice/A012/9999.wav", "/display/voice/A123456/1.wav",
                 "/display/voice/ZZZ1/1.wav"):
        assert request(server, "GET", path)[0] == 404, path
