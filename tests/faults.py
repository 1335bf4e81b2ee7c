"""A TCP proxy the test controls: put it between the server and PostgreSQL or Redis, then
`down()` cuts every connection and refuses new ones (what clients see while a database
restarts), `up()` lets traffic through again; `hang()` keeps connections open but passes no
bytes (a frozen host, a network that drops packets without a reset), `resume()` lets the held
bytes through."""
from __future__ import annotations

import socket
import threading


class FaultProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.is_up = True
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.stopped = False
        self.flowing = threading.Event()
        self.flowing.set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.is_up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self.flowing.wait()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def down(self):
        self.is_up = False
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.conns.clear()

    def up(self):
        self.is_up = True

    def hang(self):
        self.flowing.clear()

    def resume(self):
        self.flowing.set()

    def close(self):
        self.stopped = True
        self.flowing.set()
        self.down()
        self.listener.close()
