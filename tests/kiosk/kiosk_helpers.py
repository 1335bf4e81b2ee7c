"""What the kiosk tests share: the rules hall, a fake slip printer, the browser and the artifacts folder."""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from queue_server.config import load_hall_config

TESTS = Path(__file__).resolve().parent.parent
SMALL_HALL = TESTS / "halls" / "small.toml"
ARTIFACTS = TESTS / "_artifacts" / "kiosk"
CHROMIUM = Path(os.environ.get("HALL_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "test1234"
KIOSK = "test-kiosk"
DISPLAY = "test-display"

SOCIAL_CARD = "GG00301001"   # 社会保障卡申领, 即办件, windows 5 6 8 9; quota 3 a day in this hall
MIGRATION = "QR00201001"     # 户口迁移, 即办件, windows 3 4 8 10; last ticket 16:30 in this hall
ENTERPRISE = "XK00101001"    # 企业设立登记, 承诺件 3 working days, windows 1 2 10
INVOICE = "QT00401001"       # 发票代开, 即办件, window 7 9
ID_A = "11010519491231002X"  # valid GB 11643 numbers
ID_B = "110101199003074477"


def id_number(n: int) -> str:
    """The n-th valid test ID number (born 1990-01-01 in 110101)."""
    body = f"11010119900101{n:03d}"
    total = sum(int(d) * w for d, w in zip(body, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)))
    return body + "10X98765432"[total % 11]


def rules_hall():
    """The small test hall with the rules the kiosk must honour: opening hours 8:30–17:30 on
    working days, a quota and a last ticket time."""
    from datetime import time
    cfg = load_hall_config(SMALL_HALL)
    cfg.open_time, cfg.close_time = time(8, 30), time(17, 30)
    for m in cfg.matters:
        if m.code == SOCIAL_CARD:
            m.daily_quota = 3
        if m.code == MIGRATION:
            m.last_ticket_time = time(16, 30)
    return cfg


class FakePrinter:
    """An ESC/POS network printer on 127.0.0.1: answers DLE EOT as told, keeps every byte it got."""

    def __init__(self, paper: str = "ok"):
        self.paper = paper            # "ok" | "out"
        self.silent_after_slip = False  # takes a whole slip, then answers no status (a reset)
        self.raw = bytearray()
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.url = f"tcp://127.0.0.1:{self.port}?status_timeout=0.5&connect_timeout=1"
        self.closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def reply(self, n: int) -> bytes:
        out = self.paper == "out"
        return bytes([{1: 0x12 | (0x08 if out else 0), 2: 0x12 | (0x20 if out else 0),
                       4: 0x12 | (0x60 if out else 0)}.get(n, 0x12)])

    def _serve(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn):
        with conn:
            tail = b""
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                data = tail + chunk
                answer, i = bytearray(), 0
                while True:
                    j = data.find(b"\x10\x04", i)
                    if j < 0 or j + 2 >= len(data):
                        tail = data[j:] if 0 <= j else (b"\x10" if data.endswith(b"\x10") else b"")
                        body = data[i:j] if 0 <= j else data[i:len(data) - len(tail)]
                        break
                    with self.lock:
                        self.raw += data[i:j]
                        mute = self.silent_after_slip and b"\x1dV" in self.raw
                    if not mute:
                        answer += self.reply(data[j + 2])
                    i = j + 3
                with self.lock:
                    self.raw += body
                if answer:
                    conn.sendall(bytes(answer))

    def slips(self) -> list[list[str]]:
        """The text lines of each slip received (a slip starts at ESC @)."""
        from printers.decode import decode, text_lines
        with self.lock:
            raw = bytes(self.raw)
        parts = [b"\x1b@" + p for p in raw.split(b"\x1b@")[1:]]
        return [[line.text for line in text_lines(decode(p))] for p in parts]

    def close(self):
        self.closed = True
        self.sock.close()


class Server:
    """A WSGI app on a real port, in a thread, that can be stopped (port closed) and started
    again on the same port: the queue server going away and coming back."""

    def __init__(self, app, port: int = 0):
        self.app, self.port = app, port
        self.server = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from werkzeug.serving import make_server
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
