"""Fake ESC/POS printers for the connector and queue tests.

``PrinterModel`` answers DLE EOT like a receipt printer and records every byte it got;
``TcpPrinter`` serves it on 127.0.0.1 (ephemeral port) and ``PtyPrinter`` on the master
side of a pseudo-terminal, the slave side being the "serial port" the connector opens.
``PtyPrinter(baudrate=9600)`` reads the pty at the line's pace (960 bytes a second), so a
status query waits behind the slip's unsent bytes as it does on a real serial printer.
``model.reset_after`` makes the printer drop the connection once it holds that many bytes
(a reset after a full job); ``model.hang_after`` set back to None resumes a stalled one.
"""
from __future__ import annotations

import os
import socket
import struct
import threading
import time

from live import readable  # tests/ is on the path (rootdir conftest)

DLE_EOT = b"\x10\x04"



class PrinterModel:
    """State a test flips: paper, cover, online, silent, hang."""

    def __init__(self) -> None:
        self.paper = "ok"          # "ok", "near_end", "out"
        self.cover_open = False
        self.online = True
        self.silent = False        # reads data but never answers status
        self.hang_after: int | None = None  # stop reading after this many bytes
        self.reset_after: int | None = None  # drop the connection once this many bytes came
        self.paper_out_after: int | None = None  # the roll ends once this many bytes came
        self.raw = bytearray()
        self.queries = 0
        self.lock = threading.Lock()
        self._tail = b""

    def reply(self, n: int) -> bytes:
        offline = not self.online or self.cover_open or self.paper == "out"
        if n == 1:
            return bytes([0x12 | (0x08 if offline else 0)])
        if n == 2:
            return bytes([0x12 | (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)])
        if n == 4:
            return bytes([0x12 | (0x0C if self.paper == "near_end" else 0) | (0x60 if self.paper == "out" else 0)])
        return b""

    def receive(self, chunk: bytes) -> bytes:
        """Record bytes; answer every DLE EOT n in the stream (even split across chunks)."""
        with self.lock:
            self.raw += chunk
            if self.paper_out_after is not None and len(self.raw) >= self.paper_out_after:
                self.paper = "out"
            data = self._tail + chunk
            out = bytearray()
            i = 0
            while True:
                j = data.find(DLE_EOT, i)
                if j < 0:  # a lone DLE at the end may start the next query
                    self._tail = b"\x10" if len(data) > i and data.endswith(b"\x10") else b""
                    break
                if j + 2 >= len(data):
                    self._tail = data[j:]
                    break
                self.queries += 1
                if not self.silent:
                    out += self.reply(data[j + 2])
                i = j + 3
            return bytes(out)

    def hung(self) -> bool:
        return self.hang_after is not None and len(self.raw) >= self.hang_after


def strip_queries(raw: bytes, jobs: list[bytes]) -> list[bytes]:
    """Split the stream into the given jobs, asserting that the only other bytes are
    DLE EOT queries: proves each job arrived whole, once, in order, with nothing extra."""
    found, pos = [], 0
    for job in jobs:
        at = raw.find(job, pos)
        assert at >= 0, "job bytes not found intact in the printer stream"
        gap = raw[pos:at]
        assert _only_queries(gap), f"unexpected bytes between jobs: {gap[:40]!r}"
        found.append(raw[at:at + len(job)])
        pos = at + len(job)
    assert _only_queries(raw[pos:]), f"unexpected trailing bytes: {raw[pos:pos + 40]!r}"
    return found


def _only_queries(gap: bytes) -> bool:
    return len(gap) % 3 == 0 and all(gap[k:k + 2] == DLE_EOT and gap[k + 2] in (1, 2, 4)
                                     for k in range(0, len(gap), 3))


class TcpPrinter:
    """A network printer on 127.0.0.1; ``close_on_accept`` models a print server that
    drops status connections (an empty reply)."""

    def __init__(self, model: PrinterModel | None = None, close_on_accept: bool = False,
                 rcvbuf: int | None = None, port: int = 0) -> None:
        self.model = model or PrinterModel()
        self.close_on_accept = close_on_accept
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.server.bind(("127.0.0.1", port))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.connections = 0
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            if self.close_on_accept:
                conn.close()
                continue
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while not self._stop.is_set():
                if self.model.hung():
                    time.sleep(0.02)
                    continue
                r = readable(conn, 0.05)
                if not r:
                    continue
                try:
                    limit = 65536
                    if self.model.hang_after is not None:
                        limit = max(1, min(limit, self.model.hang_after - len(self.model.raw)))
                    chunk = conn.recv(limit)
                except OSError:
                    return
                if not chunk:
                    return
                reply = self.model.receive(chunk)
                if self.model.reset_after is not None and len(self.model.raw) >= self.model.reset_after:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return  # reset: the status query after the job finds the link gone
                if reply:
                    try:
                        conn.sendall(reply)
                    except OSError:
                        return

    def close(self) -> None:
        self._stop.set()
        try:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.server.close()
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass


class PtyPrinter:
    """A serial printer on a pseudo-terminal: the connector opens ``self.path``."""

    def __init__(self, model: PrinterModel | None = None, baudrate: int | None = None) -> None:
        self.model = model or PrinterModel()
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        self.url = f"serial://{self.path}?baudrate={baudrate or 115200}"
        self.bytes_per_second = baudrate / 10 if baudrate else None  # 8N1: ten bits a byte
        self._line_clock = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            if self.model.hung():
                time.sleep(0.02)
                continue
            r = readable(self.master, 0.05)
            if not r:
                continue
            try:
                chunk = os.read(self.master, self._allowance())
            except OSError:
                return
            reply = self.model.receive(chunk)
            if reply:
                os.write(self.master, reply)

    def _allowance(self) -> int:
        """Bytes the line carries from now on: at the baud rate, read in 20 ms steps. The pace is
        kept against the clock, not per sleep: on a busy test host a sleep overshoots, and the
        line then catches up instead of falling behind (a real UART does not slow down)."""
        if self.bytes_per_second is None:
            return 4096
        now = time.monotonic()
        if now - self._line_clock > 0.5:        # the line was idle: no credit for quiet time
            self._line_clock = now
        step = max(1, int(self.bytes_per_second * 0.02))
        self._line_clock += step / self.bytes_per_second
        if self._line_clock > now:
            time.sleep(self._line_clock - now)
        return step

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
