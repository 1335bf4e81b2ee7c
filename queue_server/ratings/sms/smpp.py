"""A small SMPP 3.4 transmitter over a raw socket: bind_transmitter, submit_sm, enquire_link, unbind.

Chinese text goes as UCS-2 (data_coding 0x08): 70 characters fit one message; a longer text is
split into parts of 67 characters, each with a concatenation UDH (IEI 0x00: reference, total,
part number) and esm_class 0x40, never splitting a surrogate pair. While it waits for a
response the client answers the SMSC's own enquire_link, so a keep-alive from the other side
never looks like a broken session.
"""
from __future__ import annotations

import socket
import struct
import time

BIND_TRANSMITTER, BIND_TRANSMITTER_RESP = 0x00000002, 0x80000002
SUBMIT_SM, SUBMIT_SM_RESP = 0x00000004, 0x80000004
UNBIND, UNBIND_RESP = 0x00000006, 0x80000006
ENQUIRE_LINK, ENQUIRE_LINK_RESP = 0x00000015, 0x80000015
GENERIC_NACK = 0x80000000
UCS2 = 0x08
UDHI = 0x40

HEADER = struct.Struct(">IIII")
MAX_PDU = 64 * 1024
SINGLE_BYTES, PART_BYTES = 140, 134   # 140 octets of short_message; 6 of them the UDH in parts

# Command status values worth naming (SMPP 3.4 §5.1.3).
STATUS_WORDS = {0x01: "消息长度错误", 0x08: "短信中心系统错误", 0x0B: "目标号码无效", 0x0D: "绑定失败",
                0x0E: "密码错误", 0x0F: "系统标识错误", 0x14: "短信中心队列已满", 0x58: "发送过快（被限流）"}
PERMANENT = {0x0B}  # resending cannot help: the number is wrong


class SmppError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def cstr(value: str, limit: int) -> bytes:
    raw = value.encode("ascii")
    if len(raw) >= limit:
        # Not the value: it may be the destination number or the password, and errors are logged.
        raise SmppError(f"field too long for SMPP ({len(raw)} octets, {limit - 1} max)")
    return raw + b"\0"


def read_cstr(body: bytes, offset: int) -> tuple[str, int]:
    end = body.index(b"\0", offset)
    return body[offset:end].decode("ascii", "replace"), end + 1


def ucs2_parts(text: str, reference: int) -> list[tuple[int, bytes]]:
    """(esm_class, short_message) per part."""
    data = text.encode("utf-16-be")
    if len(data) <= SINGLE_BYTES:
        return [(0, data)]
    chunks, start = [], 0
    while start < len(data):
        end = min(start + PART_BYTES, len(data))
        if end < len(data) and 0xD8 <= data[end - 2] <= 0xDB:  # a high surrogate: keep the pair
            end -= 2
        chunks.append(data[start:end])
        start = end
    if len(chunks) > 255:
        raise SmppError("text too long for one concatenated SMS")
    ref = reference & 0xFF
    return [(UDHI, bytes([0x05, 0x00, 0x03, ref, len(chunks), i + 1]) + chunk)
            for i, chunk in enumerate(chunks)]


class SmppClient:
    """One bound transmitter session."""

    def __init__(self, host: str, port: int, system_id: str, password: str, *, system_type: str = "",
                 source: str = "", source_ton: int = 0, source_npi: int = 1, dest_ton: int = 0,
                 dest_npi: int = 1, timeout: float = 10.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.source, self.source_ton, self.source_npi = source, source_ton, source_npi
        self.dest_ton, self.dest_npi = dest_ton, dest_npi
        self.sock: socket.socket | None = None
        self.seq = 0
        self.last_used = 0.0
        self.in_flight = False   # a submit_sm went out and its answer has not come back
        self.accepted_parts = 0  # parts of the current text the SMSC has accepted

    # --- wire ------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self.seq = self.seq % 0x7FFFFFFF + 1
        return self.seq

    def _send(self, command_id: int, body: bytes, seq: int, status: int = 0) -> None:
        self.sock.sendall(HEADER.pack(HEADER.size + len(body), command_id, status, seq) + body)

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise SmppError("短信中心关闭了连接")
            data += chunk
        return data

    def _read(self) -> tuple[int, int, int, bytes]:
        length, command_id, status, seq = HEADER.unpack(self._recv_exact(HEADER.size))
        if not HEADER.size <= length <= MAX_PDU:
            raise SmppError(f"bad PDU length {length}")
        return command_id, status, seq, self._recv_exact(length - HEADER.size)

    def _request(self, command_id: int, body: bytes) -> tuple[int, bytes]:
        """Send a request and wait for its response, answering the SMSC's keep-alives meanwhile."""
        seq = self._next_seq()
        self.in_flight = command_id == SUBMIT_SM
        self._send(command_id, body, seq)
        while True:
            got, status, got_seq, reply = self._read()
            if got == ENQUIRE_LINK:
                self._send(ENQUIRE_LINK_RESP, b"", got_seq)
                continue
            if got == UNBIND:
                self._send(UNBIND_RESP, b"", got_seq)
                self.close()
                raise SmppError("短信中心解除了绑定")
            if got == GENERIC_NACK and got_seq in (seq, 0):
                raise SmppError(f"generic_nack 0x{status:08X}", status)
            if got == command_id | 0x80000000 and got_seq == seq:
                self.last_used = time.monotonic()
                self.in_flight = False
                return status, reply
            # Anything else (a late response to an abandoned request) is skipped.

    # --- operations ------------------------------------------------------------------------

    def connect(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.settimeout(self.timeout)
        body = (cstr(self.system_id, 16) + cstr(self.password, 9) + cstr(self.system_type, 13)
                + bytes([0x34, 0, 0]) + cstr("", 41))
        status, _ = self._request(BIND_TRANSMITTER, body)
        if status != 0:
            self.close()
            raise SmppError(f"绑定失败：{STATUS_WORDS.get(status, hex(status))}", status)

    def submit(self, destination: str, text: str, reference: int) -> list[str]:
        """Send one text (in as many parts as it needs); the SMSC's message id per part."""
        ids = []
        self.accepted_parts = 0
        for esm_class, short_message in ucs2_parts(text, reference):
            body = (cstr("", 6) + bytes([self.source_ton, self.source_npi]) + cstr(self.source, 21)
                    + bytes([self.dest_ton, self.dest_npi]) + cstr(destination, 21)
                    + bytes([esm_class, 0, 0]) + cstr("", 17) + cstr("", 17)
                    + bytes([0, 0, UCS2, 0, len(short_message)]) + short_message)
            status, reply = self._request(SUBMIT_SM, body)
            if status != 0:
                raise SmppError(f"提交失败：{STATUS_WORDS.get(status, hex(status))}", status)
            ids.append(read_cstr(reply, 0)[0] if reply else "")
            self.accepted_parts += 1
        return ids

    def maybe_delivered(self) -> bool:
        """After a failed submit: could any of the text have reached the SMSC?"""
        return self.in_flight or self.accepted_parts > 0

    def enquire_link(self) -> None:
        status, _ = self._request(ENQUIRE_LINK, b"")
        if status != 0:
            raise SmppError(f"enquire_link 0x{status:08X}", status)

    def unbind(self) -> None:
        try:
            self._request(UNBIND, b"")
        finally:
            self.close()

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
