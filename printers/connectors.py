"""Printer connections, chosen by URL from the hall config.

``connect(url)`` parses and validates; it does not open anything, so a wrong URL is found
when the config is loaded and an unplugged printer only when printing. Every connector has
the same small interface: ``open()``, ``write(data, job_id=None)`` (returns once the
printer has taken every byte, so the status asked next is about that slip), ``status()``,
``close()`` and ``abort()`` (after a failed write: drop the unsent rest). Network, serial and USB printers are asked for DLE EOT status; ``?status=off``
turns that off for print servers that never answer (then status is assumed, not known).
"""
from __future__ import annotations

import os
import re
import socket
import struct
import threading
import time
from collections import OrderedDict
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from . import status as st
from .status import PrinterState, PrinterStatus

#: Serial writes go in chunks of this many bytes, each with its own timeout.
SERIAL_CHUNK = 1024

USAGE = ("可用的打印机地址：tcp://主机:9100、serial:///dev/ttyS0?baudrate=9600、"
         "usb://VID:PID（如 usb://0483:5743）、file:路径、preview:")


class PrinterError(Exception):
    """The printer could not be reached or refused the data; message is for the screen."""


class PrinterTimeout(PrinterError):
    """A write or read did not finish in time: the printer may have printed part of it."""


class PrinterUnconfirmed(PrinterError):
    """Every byte was handed over, then the link went (a reset, a pulled cable): the slip
    may well be on paper, so this is neither printed nor failed."""


class Connector:
    """Base class: one printer, opened lazily and reopened after errors."""

    url: str = ""
    check_status: bool = True

    def open(self) -> None:
        raise NotImplementedError

    def write(self, data: bytes, job_id: str | None = None) -> None:
        raise NotImplementedError

    def status(self) -> PrinterStatus:
        return PrinterStatus.ok()

    def close(self) -> None:
        pass

    def abort(self) -> None:
        """Close after a failed write, dropping whatever was not sent (never printed late)."""
        self.close()

    def __enter__(self) -> "Connector":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    def _status_via(self, exchange) -> PrinterStatus:
        if not self.check_status:
            return PrinterStatus(PrinterState.OK, "未查询状态（status=off）")
        try:
            self.open()
        except PrinterError as e:
            return PrinterStatus(PrinterState.OFFLINE, str(e))
        try:
            return st.query(exchange)
        except PrinterError as e:
            self.close()
            return PrinterStatus.unknown(str(e))


class TcpConnector(Connector):
    """A network printer on raw port 9100 (JetDirect style)."""

    def __init__(self, host: str, port: int = 9100, timeout: float = 10.0,
                 connect_timeout: float = 3.0, status_timeout: float = 1.0,
                 check_status: bool = True) -> None:
        self.host, self.port = host, port
        self.timeout, self.connect_timeout, self.status_timeout = timeout, connect_timeout, status_timeout
        self.check_status = check_status
        self.url = f"tcp://{host}:{port}"
        self._sock: socket.socket | None = None

    def open(self) -> None:
        if self._sock is not None:
            return
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as e:
            raise PrinterError(f"无法连接打印机 {self.host}:{self.port}（{e.strerror or e}）") from e
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock

    def write(self, data: bytes, job_id: str | None = None) -> None:
        """Send everything and return once the printer has taken it all (acknowledged, not
        just queued in our kernel), so the status asked next is about this slip. ``timeout``
        bounds each stretch without progress: a slow printer working through a big raster
        is fine, a hung one is caught, and then the unsent rest is thrown away (never
        printed late, after the citizen was told it failed)."""
        self.open()
        assert self._sock is not None
        self._sock.settimeout(self.timeout)
        view, sent = memoryview(data), 0
        try:
            while sent < len(data):
                sent += self._sock.send(view[sent:])
            _drain(self._sock, self.timeout)
        except ConnectionResetError as e:
            if sent < len(data):
                self.abort()
                raise PrinterError(f"打印机 {self.host}:{self.port} 断开了连接"
                                   f"（已发送 {sent}/{len(data)} 字节）") from e
            self.close()
            raise PrinterUnconfirmed(f"打印机 {self.host}:{self.port} 收完数据前后断开了连接") from e
        except socket.timeout as e:
            delivered = sent - (_unacked(self._sock) or 0)
            self.abort()
            raise PrinterTimeout(f"打印机 {self.host}:{self.port} 停止接收数据"
                                 f"（已送达 {delivered}/{len(data)} 字节）") from e
        except OSError as e:
            self.abort()
            raise PrinterError(f"向打印机 {self.host}:{self.port} 发送数据失败"
                               f"（{e.strerror or e}，已发送 {sent}/{len(data)} 字节）") from e

    def abort(self) -> None:
        """Close with a reset: the kernel drops what the printer has not taken yet, instead
        of delivering it whenever the printer comes back."""
        sock = self._sock
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.close()

    def _exchange(self, request: bytes) -> bytes:
        sock = self._sock
        assert sock is not None
        try:
            sock.setblocking(False)
            try:
                while sock.recv(256):  # stale replies or auto status bytes
                    pass
                # recv returned b"": the printer closed the connection.
                raise PrinterError("打印机已断开连接")
            except BlockingIOError:
                pass
            sock.settimeout(self.status_timeout)
            sock.sendall(request)
            reply = sock.recv(16)
        except socket.timeout:
            return b""
        except OSError as e:
            raise PrinterError(f"状态查询失败（{e.strerror or e}）") from e
        if not reply:
            raise PrinterError("打印机已断开连接")
        return reply

    def status(self) -> PrinterStatus:
        return self._status_via(self._exchange)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


def _unacked(sock: socket.socket) -> int | None:
    """Bytes written but not yet acknowledged by the peer (Linux SIOCOUTQ); None elsewhere."""
    try:
        import fcntl
        import termios
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
    except (ImportError, OSError, AttributeError):
        return None


def _closed(sock: socket.socket) -> bool:
    """The connection was reset under us (Linux TCP_INFO state TCP_CLOSE)."""
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] == 7
    except (OSError, AttributeError):
        return False


def _drain(sock: socket.socket, timeout: float) -> None:
    """Wait until the peer acknowledged every byte; ``socket.timeout`` when nothing moved
    for ``timeout`` seconds, ``ConnectionResetError`` when the link was reset first (the
    last bytes' acknowledgement may be what was lost). Without SIOCOUTQ (not Linux) it
    returns at once."""
    last, since = None, time.monotonic()
    while True:
        left = _unacked(sock)
        if not left:
            return
        if _closed(sock):
            raise ConnectionResetError("printer reset the connection")
        now = time.monotonic()
        if left != last:
            last, since = left, now
        elif now - since > timeout:
            raise socket.timeout("printer stopped taking data")
        time.sleep(0.01)


class SerialConnector(Connector):
    """A serial (RS-232 / USB-serial) printer through pyserial."""

    def __init__(self, port: str, baudrate: int = 9600, bytesize: int = 8, parity: str = "N",
                 stopbits: float = 1, xonxoff: bool = False, rtscts: bool = False,
                 dsrdtr: bool = False, timeout: float = 10.0, status_timeout: float = 1.0,
                 check_status: bool = True) -> None:
        self.port, self.baudrate = port, baudrate
        self.options = dict(bytesize=bytesize, parity=parity, stopbits=stopbits,
                            xonxoff=xonxoff, rtscts=rtscts, dsrdtr=dsrdtr)
        self.timeout, self.status_timeout, self.check_status = timeout, status_timeout, check_status
        self.url = f"serial://{port}?baudrate={baudrate}"
        self._serial = None

    def open(self) -> None:
        if self._serial is not None:
            return
        import serial  # pyserial; imported here so other connectors work without it

        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=self.status_timeout,
                                         write_timeout=self.timeout, **self.options)
        except (serial.SerialException, OSError, ValueError) as e:
            raise PrinterError(f"无法打开串口 {self.port}（{e}）") from e

    def wire_seconds(self, nbytes: int) -> float:
        """How long ``nbytes`` take on the line: a start bit, the data bits, parity, stop bits."""
        bits = 1 + self.options["bytesize"] + (self.options["parity"] != "N") + self.options["stopbits"]
        return nbytes * bits / self.baudrate

    def write(self, data: bytes, job_id: str | None = None) -> None:
        """Send in chunks with ``timeout`` per chunk, then wait until the line has carried
        it all: at 9600 baud a slip takes seconds after ``write`` returns (it sits in the
        driver, the adapter or the pty), and a status query sent earlier waits behind it.
        A chunk that makes no progress means the printer is stuck: the unsent rest is
        flushed away, never printed late."""
        import serial

        self.open()
        self._serial.write_timeout = self.timeout + self.wire_seconds(SERIAL_CHUNK)
        started, sent = time.monotonic(), 0
        try:
            while sent < len(data):
                sent += self._serial.write(data[sent:sent + SERIAL_CHUNK])
            # 5 % more for the printer's own pace and the driver's scheduling.
            self._drain(started + 1.05 * self.wire_seconds(len(data)) + 0.05)
        except serial.SerialTimeoutException as e:
            self.abort()
            raise PrinterTimeout(f"串口打印机 {self.port} 停止接收数据"
                                 f"（已发送约 {sent}/{len(data)} 字节）") from e
        except (serial.SerialException, OSError) as e:
            self.abort()
            raise PrinterError(f"向串口打印机 {self.port} 发送数据失败（{e}）") from e

    def _drain(self, on_wire_until: float) -> None:
        """The driver's buffer empties (bounded by ``timeout`` without progress), then the
        time the line needs has passed (a pty or USB adapter reports nothing waiting)."""
        import serial

        last, since = None, time.monotonic()
        while True:
            try:
                left = self._serial.out_waiting
            except (serial.SerialException, OSError, AttributeError):
                left = 0
            now = time.monotonic()
            if not left:
                break
            if left != last:
                last, since = left, now
            elif now - since > self.timeout:
                raise serial.SerialTimeoutException("printer stopped taking data")
            time.sleep(0.02)
        rest = on_wire_until - time.monotonic()
        if rest > 0:
            time.sleep(rest)

    def abort(self) -> None:
        """Throw away what the driver has not sent yet, then close."""
        if self._serial is not None:
            try:
                self._serial.reset_output_buffer()
            except Exception:  # a vanished device: closing is all that is left
                pass
        self.close()

    def _exchange(self, request: bytes) -> bytes:
        import serial

        try:
            self._serial.reset_input_buffer()
            self._serial.write_timeout = self.timeout
            self._serial.write(request)
            return self._serial.read(1)
        except (serial.SerialException, OSError) as e:
            raise PrinterError(f"串口状态查询失败（{e}）") from e

    def status(self) -> PrinterStatus:
        return self._status_via(self._exchange)

    def close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            try:
                port.close()
            except Exception:  # closing a vanished device must not mask the real error
                pass


class UsbConnector(Connector):
    """A USB printer through python-escpos' ``Usb`` (the optional ``usb`` extra: python-escpos,
    pyusb, and libusb from the system). python-escpos finds and claims the device and asks
    DLE EOT status through its public ``query_status``; the slip itself goes through ``_raw``,
    because python-escpos has no public call that sends ready-made bytes (its ``text``/``image``
    would rebuild the slip, losing GB18030 mode, our raster codes and the exact bytes the
    screen shows)."""

    def __init__(self, vendor: int, product: int, in_ep: int = 0x82, out_ep: int = 0x01,
                 timeout: float = 10.0, check_status: bool = True) -> None:
        self.vendor, self.product, self.in_ep, self.out_ep = vendor, product, in_ep, out_ep
        self.timeout, self.check_status = timeout, check_status
        self.url = f"usb://{vendor:04x}:{product:04x}"
        self._printer = None

    def _usb(self):
        try:
            from escpos.printer import Usb
        except ImportError as e:
            raise PrinterError("未安装 USB 打印支持，无法使用 USB 打印机：请执行 pip install 'hall[usb]'，"
                               "并安装 libusb（apt-get install libusb-1.0-0）") from e
        if not Usb.is_usable():
            raise PrinterError("未安装 pyusb，无法使用 USB 打印机：请执行 pip install 'hall[usb]'，"
                               "并安装 libusb（apt-get install libusb-1.0-0）")
        return Usb

    def open(self) -> None:
        if self._printer is not None:
            return
        Usb = self._usb()
        printer = Usb(self.vendor, self.product, timeout=int(self.timeout * 1000),
                      in_ep=self.in_ep, out_ep=self.out_ep)
        try:
            printer.open()
        except Exception as e:  # DeviceNotFoundError, USBError, permission denied …
            raise PrinterError(f"未找到 USB 打印机 {self.vendor:04x}:{self.product:04x}，"
                               f"请检查连接线、电源和设备权限（udev 规则）（{e}）") from e
        self._printer = printer

    def write(self, data: bytes, job_id: str | None = None) -> None:
        self.open()
        try:
            self._printer._raw(data)
        except Exception as e:  # pyusb raises usb.core.USBTimeoutError / USBError
            self.close()
            if "timeout" in type(e).__name__.lower() or "timed out" in str(e).lower():
                raise PrinterTimeout(f"向 USB 打印机 {self.url} 发送数据超时") from e
            raise PrinterError(f"向 USB 打印机 {self.url} 发送数据失败（{e}）") from e

    def _exchange(self, request: bytes) -> bytes:
        try:
            return bytes(self._printer.query_status(request))
        except Exception as e:
            if "timeout" in type(e).__name__.lower():
                return b""
            raise PrinterError(f"USB 状态查询失败（{e}）") from e

    def status(self) -> PrinterStatus:
        return self._status_via(self._exchange)

    def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            try:
                printer.close()
            except Exception:
                pass


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class FileConnector(Connector):
    """Raw bytes to a file or device (``file:/dev/usb/lp0``), or one file per slip when the
    path is a directory (for archiving or a spooler that watches the folder)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.url = f"file:{path}"
        # "file:/var/spool/hall/" means a folder even before it exists: never create a
        # file named "hall" in its place.
        self.folder = path.endswith(("/", os.sep)) or self.path.is_dir()
        self.last_path: Path | None = None
        self._counter = 0

    def _dir(self) -> Path:
        return self.path if self.folder else self.path.parent

    def open(self) -> None:
        if not self._dir().is_dir():
            raise PrinterError(f"打印输出目录不存在：{self._dir()}")

    def write(self, data: bytes, job_id: str | None = None) -> None:
        self.open()
        try:
            if self.folder:
                self.last_path = self._write_new(data, job_id)
            else:
                with open(self.path, "ab") as f:
                    f.write(data)
                self.last_path = self.path
        except OSError as e:
            raise PrinterError(f"写入打印文件失败：{e}") from e

    def _write_new(self, data: bytes, job_id: str | None) -> Path:
        """``<job_id>.bin``; a reprint of the same job gets ``<job_id>-2.bin`` and so on, so
        nothing already written is overwritten. Written then renamed: a watcher never sees
        half a slip."""
        self._counter += 1
        stem = _SAFE_NAME.sub("_", job_id or "") or f"job-{time.strftime('%Y%m%d-%H%M%S')}-{self._counter}"
        n = 1
        while True:
            target = self.path / (f"{stem}.bin" if n == 1 else f"{stem}-{n}.bin")
            if not target.exists():
                break
            n += 1
        tmp = self.path / f".{target.name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return target

    def status(self) -> PrinterStatus:
        target = self._dir()
        if not target.is_dir():
            return PrinterStatus(PrinterState.OFFLINE, f"目录不存在：{target}")
        writable = os.access(self.path if self.path.exists() else target, os.W_OK)
        return PrinterStatus.ok() if writable else PrinterStatus(PrinterState.OFFLINE, f"无写权限：{self.path}")


class PreviewConnector(Connector):
    """A printer that renders to PNG and keeps the last few for the kiosk screen and the
    one-machine demo."""

    def __init__(self, width_dots: int = 576, keep: int = 20) -> None:
        self.width_dots, self.keep = width_dots, keep
        self.url = f"preview:?width={width_dots}"
        self._pngs: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._counter = 0

    def open(self) -> None:
        pass

    def write(self, data: bytes, job_id: str | None = None) -> None:
        from .render import FontNotFound, render_png

        try:
            png = render_png(data, self.width_dots)
        except FontNotFound as e:
            raise PrinterError(str(e)) from e
        with self._lock:
            self._counter += 1
            key = job_id or f"preview-{self._counter}"
            self._pngs.pop(key, None)
            self._pngs[key] = png
            while len(self._pngs) > self.keep:
                self._pngs.popitem(last=False)

    def latest_png(self, job_id: str | None = None) -> bytes | None:
        """The PNG of ``job_id`` (its latest print), or of the last job printed."""
        with self._lock:
            if job_id is not None:
                return self._pngs.get(job_id)
            return next(reversed(self._pngs.values()), None)

    def job_ids(self) -> list[str]:
        with self._lock:
            return list(self._pngs)


# --- URL parsing -------------------------------------------------------------------------

def _options(url: str, query: str, allowed: dict[str, type]) -> dict:
    """Query parameters, each converted; unknown or repeated ones are errors, because a
    misspelt ``baudrate`` silently ignored would print garbage."""
    out = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        if key not in allowed:
            raise ValueError(f"打印机地址 {url} 中有未知参数“{key}”，可用：{'、'.join(allowed)}")
        if len(values) > 1:
            raise ValueError(f"打印机地址 {url} 中参数“{key}”重复")
        conv, raw = allowed[key], values[0]
        try:
            if conv is bool:
                if raw.lower() not in ("1", "0", "on", "off", "true", "false", "yes", "no"):
                    raise ValueError(raw)
                out[key] = raw.lower() in ("1", "on", "true", "yes")
            else:
                out[key] = conv(raw)
        except ValueError:
            raise ValueError(f"打印机地址 {url} 中参数“{key}”的值“{raw}”无效") from None
    if "status" in out:
        out["check_status"] = out.pop("status")
    return out


def _positive(v: str) -> float:
    x = float(v)
    if not 0 < x <= 600:
        raise ValueError(v)
    return x


_TIMEOUTS = {"timeout": _positive, "status_timeout": _positive, "status": bool}
_BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)


def connect(url: str) -> Connector:
    """A connector for a printer URL (not yet opened); ``ValueError`` with a Chinese
    message for anything malformed."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("打印机地址为空。" + USAGE)
    url = url.strip()
    scheme, sep, rest = url.partition(":")
    scheme = scheme.lower()
    if not sep:
        raise ValueError(f"打印机地址“{url}”缺少类型前缀。" + USAGE)
    if scheme == "tcp":
        return _tcp(url)
    if scheme == "serial":
        return _serial(url)
    if scheme == "usb":
        return _usb(url)
    if scheme == "file":
        path = rest[2:] if rest.startswith("//") else rest
        if not path:
            raise ValueError(f"打印机地址“{url}”缺少文件路径，例如 file:/var/spool/hall/")
        return FileConnector(path)
    if scheme == "preview":
        opts = _options(url, rest.lstrip("?"), {"width": int, "profile": str, "keep": int})
        width = opts.get("width", 576)
        if "profile" in opts:
            from .profile import profile_by_name
            width = profile_by_name(opts["profile"]).width_dots
        if not (96 <= width <= 2048 and width % 8 == 0):
            raise ValueError(f"打印机地址“{url}”的宽度无效：{width}")
        return PreviewConnector(width, keep=max(1, opts.get("keep", 20)))
    raise ValueError(f"不支持的打印机地址“{url}”。" + USAGE)


def _tcp(url: str) -> TcpConnector:
    parts = urlsplit(url)
    try:
        port = parts.port or 9100
    except ValueError:
        raise ValueError(f"打印机地址“{url}”的端口无效（应为 1–65535）") from None
    if not parts.hostname:
        raise ValueError(f"打印机地址“{url}”缺少主机名或 IP，例如 tcp://192.168.1.50:9100")
    if parts.path not in ("", "/"):
        raise ValueError(f"打印机地址“{url}”不应包含路径")
    opts = _options(url, parts.query, {**_TIMEOUTS, "connect_timeout": _positive})
    return TcpConnector(parts.hostname, port, **opts)


def _serial(url: str) -> SerialConnector:
    parts = urlsplit(url)
    port = parts.path if not parts.netloc else parts.netloc + parts.path  # serial://COM3
    if not port or port == "/":
        raise ValueError(f"打印机地址“{url}”缺少串口设备，例如 serial:///dev/ttyS0?baudrate=9600")
    opts = _options(url, parts.query, {**_TIMEOUTS, "baudrate": int, "bytesize": int,
                                       "parity": str, "stopbits": float, "xonxoff": bool,
                                       "rtscts": bool, "dsrdtr": bool})
    if opts.get("baudrate", 9600) not in _BAUDRATES:
        raise ValueError(f"打印机地址“{url}”的波特率无效，可用：{'、'.join(map(str, _BAUDRATES))}")
    if opts.get("bytesize", 8) not in (5, 6, 7, 8):
        raise ValueError(f"打印机地址“{url}”的数据位无效（5–8）")
    if "parity" in opts:
        opts["parity"] = opts["parity"].upper()
        if opts["parity"] not in ("N", "E", "O", "M", "S"):
            raise ValueError(f"打印机地址“{url}”的校验位无效（N、E、O）")
    if opts.get("stopbits", 1) not in (1, 1.5, 2):
        raise ValueError(f"打印机地址“{url}”的停止位无效（1、1.5、2）")
    return SerialConnector(port, **opts)


def _usb(url: str) -> UsbConnector:
    body, _, query = url[len("usb:"):].lstrip("/").partition("?")
    m = re.fullmatch(r"(?:0x)?([0-9A-Fa-f]{1,4}):(?:0x)?([0-9A-Fa-f]{1,4})", body)
    if not m:
        raise ValueError(f"打印机地址“{url}”格式应为 usb://VID:PID（十六进制，如 usb://0483:5743）")
    opts = _options(url, query, {"timeout": _positive, "status": bool,
                                 "in_ep": lambda v: int(v, 0), "out_ep": lambda v: int(v, 0)})
    return UsbConnector(int(m.group(1), 16), int(m.group(2), 16), **opts)
