"""A fake SMSC for the tests: a real TCP server on 127.0.0.1 that speaks enough SMPP 3.4 to check
our client byte by byte — bind_transmitter, submit_sm (UCS-2, concatenation UDH), enquire_link,
unbind — and reassembles the texts the phone would show. It decodes PDUs with its own code (not
the client's), so a bug shared by encoder and decoder cannot hide.

Faults on demand: `refuse_next` (command statuses to answer the next submit_sm with),
`drop_next_submit` (close the connection instead of answering: the "did it go?" case),
`ping_before_reply` (send our own enquire_link before answering, as real SMSCs do).
"""
from __future__ import annotations

import socket
import struct
import threading


class FakeSmsc:
    def __init__(self, system_id: str = "hall", password: str = "secret"):
        self.system_id, self.password = system_id, password
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.lock = threading.Lock()
        self.pdus: list[tuple[str, dict]] = []          # every PDU received, decoded
        self.parts: dict[tuple[str, int], dict[int, str]] = {}
        self.messages: list[dict] = []                  # complete texts, as the phone shows them
        self.refuse_next: list[int] = []
        self.drop_next_submit = 0
        self.ping_before_reply = False
        self.enquire_link_resps = 0
        self.connections = 0
        self.next_id = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"smpp://{self.system_id}:{self.password}@127.0.0.1:{self.port}?source=10690001"

    def close(self) -> None:
        self.running = False
        self.server.close()

    # --- the server ---------------------------------------------------------------------

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def _send(self, conn, command_id: int, status: int, seq: int, body: bytes = b"") -> None:
        conn.sendall(struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body)

    def _serve(self, conn: socket.socket) -> None:
        bound = False
        try:
            while True:
                length, command_id, status, seq = struct.unpack(">IIII", self._read(conn, 16))
                body = self._read(conn, length - 16)
                if command_id == 0x00000002:  # bind_transmitter
                    fields = self._bind(body)
                    self._log("bind_transmitter", fields)
                    ok = fields["system_id"] == self.system_id and fields["password"] == self.password
                    bound = ok
                    self._send(conn, 0x80000002, 0 if ok else 0x0E, seq, b"FAKESMSC\0")
                elif command_id == 0x00000004:  # submit_sm
                    if not bound:
                        self._send(conn, 0x80000004, 0x04, seq)  # ESME_RINVBNDSTS
                        continue
                    fields = self._submit(body)
                    self._log("submit_sm", fields)
                    if self.drop_next_submit:
                        self.drop_next_submit -= 1
                        self._take(fields)  # it reached the SMSC, but the answer is lost
                        conn.close()
                        return
                    if self.refuse_next:
                        self._send(conn, 0x80000004, self.refuse_next.pop(0), seq)
                        continue
                    if self.ping_before_reply:
                        self._send(conn, 0x00000015, 0, 900_000 + seq)
                        rl, rc, rs, rq = struct.unpack(">IIII", self._read(conn, 16))
                        self._read(conn, rl - 16)
                        if rc == 0x80000015 and rq == 900_000 + seq:
                            self.enquire_link_resps += 1
                    message_id = self._take(fields)
                    self._send(conn, 0x80000004, 0, seq, message_id.encode() + b"\0")
                elif command_id == 0x00000015:
                    self._log("enquire_link", {})
                    self._send(conn, 0x80000015, 0, seq)
                elif command_id == 0x00000006:
                    self._log("unbind", {})
                    self._send(conn, 0x80000006, 0, seq)
                    conn.close()
                    return
                else:
                    self._send(conn, 0x80000000, 0x03, seq)  # generic_nack: invalid command id
        except (ConnectionError, OSError):
            return

    def _log(self, name: str, fields: dict) -> None:
        with self.lock:
            self.pdus.append((name, fields))

    # --- decoding -------------------------------------------------------------------------

    @staticmethod
    def _cstrings(body: bytes, count: int, at: int = 0) -> tuple[list[str], int]:
        out = []
        for _ in range(count):
            end = body.index(b"\0", at)
            out.append(body[at:end].decode("ascii"))
            at = end + 1
        return out, at

    def _bind(self, body: bytes) -> dict:
        (system_id, password, system_type), at = self._cstrings(body, 3)
        return {"system_id": system_id, "password": password, "system_type": system_type,
                "interface_version": body[at]}

    def _submit(self, body: bytes) -> dict:
        (service_type,), at = self._cstrings(body, 1)
        source_ton, source_npi = body[at], body[at + 1]
        (source,), at = self._cstrings(body, 1, at + 2)
        dest_ton, dest_npi = body[at], body[at + 1]
        (dest,), at = self._cstrings(body, 1, at + 2)
        esm_class = body[at]  # then protocol_id and priority_flag, not checked
        (schedule, validity), at = self._cstrings(body, 2, at + 3)
        registered, replace, data_coding, default_id, sm_length = body[at:at + 5]
        message = body[at + 5:at + 5 + sm_length]
        assert len(message) == sm_length and sm_length <= 140
        udh = None
        if esm_class & 0x40:
            udh_len = message[0]
            udh = message[1:1 + udh_len]
            message = message[1 + udh_len:]
        return {"source": source, "source_ton": source_ton, "source_npi": source_npi, "dest": dest,
                "dest_ton": dest_ton, "dest_npi": dest_npi, "esm_class": esm_class,
                "data_coding": data_coding, "udh": udh, "payload": message, "sm_length": sm_length}

    def _take(self, fields: dict) -> str:
        with self.lock:
            self.next_id += 1
            message_id = f"M{self.next_id:05d}"
            udh = fields["udh"]
            if udh is None:
                self.messages.append({"dest": fields["dest"], "source": fields["source"],
                                      "text": fields["payload"].decode("utf-16-be"), "parts": 1})
                return message_id
            assert udh[0] == 0x00 and udh[1] == 3, "8-bit concatenation IE expected"
            ref, total, number = udh[2], udh[3], udh[4]
            key = (fields["dest"], ref)
            self.parts.setdefault(key, {})[number] = fields["payload"]
            if len(self.parts[key]) == total:
                got = self.parts.pop(key)
                data = b"".join(got[i] for i in range(1, total + 1))
                self.messages.append({"dest": fields["dest"], "source": fields["source"],
                                      "text": data.decode("utf-16-be"), "parts": total})
            return message_id
