"""A serial port that keeps itself open: unplugged, it is re-opened every `retry` seconds, and the
owner is told (`on_open`) so it can send again what the device should be showing.

One worker thread owns the port: it writes what `send()` queued and reads what the device says
(a read also notices an unplugged adapter at once: the OS reports an I/O error). `url` is a
device path (/dev/ttyUSB0, /dev/serial/by-id/…) or any pyserial URL (socket://, rfc2217://).
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Callable

import serial

log = logging.getLogger("hall.serial")


class SerialLink:
    def __init__(self, url: str, baudrate: int = 9600, *, retry: float = 1.0,
                 on_open: Callable[[], None] | None = None, on_data: Callable[[bytes], None] | None = None):
        self.url, self.baudrate, self.retry = url, baudrate, retry
        self.on_open, self.on_data = on_open, on_data
        self.port: serial.SerialBase | None = None
        self.opens = 0
        self.written: list[bytes] = []      # the last frames written (diagnostics and tests)
        self._queue: deque[bytes] = deque(maxlen=64)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"serial-{url}")

    @property
    def is_open(self) -> bool:
        return self.port is not None

    def start(self) -> "SerialLink":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=3)
        self._close()

    def send(self, data: bytes) -> None:
        self._queue.append(data)
        self._wake.set()

    def _open(self) -> bool:
        try:
            self.port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.1, write_timeout=2)
        except (serial.SerialException, OSError, ValueError) as exc:
            log.debug("cannot open %s: %s", self.url, exc)
            self.port = None
            return False
        self.opens += 1
        self._queue.clear()   # what was queued while unplugged is stale: the owner re-sends the present
        log.info("opened %s at %d baud", self.url, self.baudrate)
        if self.on_open:
            self.on_open()
        return True

    def _close(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # noqa: BLE001 - it is gone anyway
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.port is None and not self._open():
                self._stop.wait(self.retry)
                continue
            try:
                while self._queue:
                    data = self._queue[0]
                    self.port.write(data)
                    self.port.flush()
                    self._queue.popleft()
                    self.written.append(data)
                    del self.written[:-50]
                chunk = self.port.read(256)   # waits up to the port timeout (0.1 s)
                if chunk and self.on_data:
                    self.on_data(chunk)
            except (serial.SerialException, OSError) as exc:
                log.warning("%s lost (%s); re-opening every %.1fs", self.url, exc, self.retry)
                self._close()
                self._stop.wait(self.retry)


def run_until_signalled(driver) -> int:
    """Run a device driver (start/stop) as a process until SIGTERM or Ctrl+C."""
    import signal
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    driver.start()
    done.wait()
    driver.stop()
    return 0
