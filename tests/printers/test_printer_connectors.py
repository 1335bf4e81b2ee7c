"""Connectors: URL parsing, status replies, file and preview outputs, USB's clear error."""
from __future__ import annotations

import os

import pytest
from slip_samples import make_slip
from printer_fakes import PtyPrinter, TcpPrinter

from printers import P58, P80, build_slip, connect
from printers.connectors import (FileConnector, PreviewConnector, PrinterError, SerialConnector,
                                 TcpConnector, UsbConnector)
from printers.status import PrinterState, PrinterStatus, query


@pytest.mark.parametrize("url,cls,attrs", [
    ("tcp://192.168.1.50:9100", TcpConnector, {"host": "192.168.1.50", "port": 9100}),
    ("tcp://printer.local", TcpConnector, {"port": 9100}),
    ("tcp://10.0.0.2:9101?timeout=3&status_timeout=0.5&status=off", TcpConnector,
     {"timeout": 3.0, "status_timeout": 0.5, "check_status": False}),
    ("serial:///dev/ttyS0?baudrate=9600", SerialConnector, {"port": "/dev/ttyS0", "baudrate": 9600}),
    ("serial:///dev/ttyUSB0?baudrate=115200&parity=e&xonxoff=1", SerialConnector,
     {"port": "/dev/ttyUSB0", "baudrate": 115200}),
    ("serial://COM3", SerialConnector, {"port": "COM3", "baudrate": 9600}),
    ("usb://0483:5743", UsbConnector, {"vendor": 0x0483, "product": 0x5743}),
    ("usb://04B8:0E15?in_ep=0x81&out_ep=0x02", UsbConnector, {"in_ep": 0x81, "out_ep": 0x02}),
    ("file:/var/spool/hall/", FileConnector, {}),
    ("file:///tmp/slip.bin", FileConnector, {}),
    ("preview:", PreviewConnector, {"width_dots": 576}),
    ("preview:?profile=P58&keep=3", PreviewConnector, {"width_dots": 384, "keep": 3}),
])
def test_good_urls(url, cls, attrs):
    conn = connect(url)
    assert type(conn) is cls
    for k, v in attrs.items():
        assert getattr(conn, k) == v


def test_serial_options_are_normalised():
    conn = connect("serial:///dev/ttyUSB0?baudrate=115200&parity=e&xonxoff=1&stopbits=2")
    assert conn.options["parity"] == "E" and conn.options["xonxoff"] is True
    assert conn.options["stopbits"] == 2


@pytest.mark.parametrize("url,msg", [
    ("", "为空"), ("192.168.1.50:9100", "不支持"), ("lpt://1", "不支持"), ("printer", "缺少类型前缀"),
    ("tcp://", "缺少主机"), ("tcp://h:70000", "端口无效"), ("tcp://h:9100/x", "路径"),
    ("tcp://h?timout=3", "未知参数“timout”"), ("tcp://h?timeout=abc", "值“abc”无效"),
    ("tcp://h?timeout=0", "无效"), ("serial://", "缺少串口"), ("serial:///dev/ttyS0?baudrate=9601", "波特率"),
    ("serial:///dev/ttyS0?parity=X", "校验位"), ("serial:///dev/ttyS0?bytesize=9", "数据位"),
    ("usb://", "VID:PID"), ("usb://0483", "VID:PID"), ("usb://zz:01", "VID:PID"), ("file:", "文件路径"),
    ("preview:?width=100", "宽度"), ("preview:?profile=P99", "未知打印机型号"),
    ("tcp://h?status=maybe", "无效"),
])
def test_bad_urls_raise_chinese_value_error(url, msg):
    with pytest.raises(ValueError, match=msg):
        connect(url)


# --- status parsing -----------------------------------------------------------------------

def status_for(replies: dict[int, bytes]) -> PrinterStatus:
    return query(lambda req: replies.get(req[2], b""))


@pytest.mark.parametrize("replies,state", [
    ({1: b"\x12", 4: b"\x12"}, PrinterState.OK),
    ({1: b"\x16", 4: b"\x12"}, PrinterState.OK),                 # drawer bit is not a problem
    ({1: b"\x12", 4: b"\x1e"}, PrinterState.PAPER_NEAR_END),
    ({1: b"\x1a", 4: b"\x72", 2: b"\x32"}, PrinterState.PAPER_OUT),
    ({1: b"\x1a", 4: b"\x12", 2: b"\x16"}, PrinterState.COVER_OPEN),
    ({1: b"\x1a", 4: b"\x12", 2: b"\x12"}, PrinterState.OFFLINE),
    ({1: b"\x1a", 4: b"\x12"}, PrinterState.OFFLINE),             # no cause given
    ({}, PrinterState.UNKNOWN),                                   # silence
    ({1: b"", 4: b""}, PrinterState.UNKNOWN),                     # empty reply
    ({1: b"\x00", 4: b"\x12"}, PrinterState.UNKNOWN),             # not a status byte
    ({1: b"\xff", 4: b"\xff"}, PrinterState.UNKNOWN),
    ({1: b"\x12"}, PrinterState.UNKNOWN),                         # paper sensor silent
    ({1: b"\x99\x12", 4: b"\x12"}, PrinterState.OK),              # stale byte before the reply
])
def test_status_bytes(replies, state):
    st = status_for(replies)
    assert st.state == state
    assert st.can_print == (state in (PrinterState.OK, PrinterState.PAPER_NEAR_END))
    assert st.message


# --- tcp and serial status against fake printers -------------------------------------------

@pytest.fixture
def tcp_printer():
    p = TcpPrinter()
    yield p
    p.close()


@pytest.fixture
def pty_printer():
    p = PtyPrinter()
    yield p
    p.close()


@pytest.mark.parametrize("kind", ["tcp", "serial"])
def test_status_over_the_wire(kind, request):
    fake = request.getfixturevalue(f"{'tcp' if kind == 'tcp' else 'pty'}_printer")
    conn = connect(fake.url + ("?" if kind == "tcp" else "&") + "status_timeout=0.2")
    try:
        assert conn.status().state == PrinterState.OK
        fake.model.paper = "near_end"
        assert conn.status().state == PrinterState.PAPER_NEAR_END
        fake.model.paper = "out"
        assert conn.status().state == PrinterState.PAPER_OUT
        fake.model.paper, fake.model.cover_open = "ok", True
        assert conn.status().state == PrinterState.COVER_OPEN
        fake.model.cover_open, fake.model.online = False, False
        assert conn.status().state == PrinterState.OFFLINE
        fake.model.online, fake.model.silent = True, True
        st = conn.status()
        assert st.state == PrinterState.UNKNOWN and not st.can_print
        fake.model.silent = False
        assert conn.status().state == PrinterState.OK
        conn.write(b"\x1b@hello\n")
        # The printer answers in stream order, so after this reply it has had the data.
        assert conn.status().state == PrinterState.OK
    finally:
        conn.close()
    assert b"\x1b@hello\n" in bytes(fake.model.raw)


def test_tcp_status_when_server_drops_connection_is_unknown():
    fake = TcpPrinter(close_on_accept=True)
    try:
        st = connect(fake.url + "?status_timeout=0.2").status()
        assert st.state == PrinterState.UNKNOWN and not st.can_print
    finally:
        fake.close()


def test_tcp_refused_is_offline_with_reason():
    fake = TcpPrinter()
    port = fake.port
    fake.close()
    conn = connect(f"tcp://127.0.0.1:{port}?status_timeout=0.2")
    st = conn.status()
    assert st.state == PrinterState.OFFLINE and "无法连接" in st.message
    with pytest.raises(PrinterError, match="无法连接"):
        conn.write(b"x")


def test_status_off_is_assumed_not_known(tcp_printer):
    tcp_printer.model.silent = True
    st = connect(tcp_printer.url + "?status=off").status()
    assert st.can_print and "未查询" in st.detail


def test_serial_missing_port_is_a_clear_error():
    conn = connect("serial:///dev/does-not-exist?baudrate=9600")
    with pytest.raises(PrinterError, match="无法打开串口"):
        conn.open()
    assert conn.status().state == PrinterState.OFFLINE


def test_usb_without_pyusb_or_device_is_a_clear_chinese_error():
    conn = connect("usb://0483:5743")
    with pytest.raises(PrinterError, match="pyusb|未找到 USB 打印机"):
        conn.open()
    assert conn.status().state == PrinterState.OFFLINE


# --- file and preview -----------------------------------------------------------------------

def test_file_directory_writes_one_file_per_job(tmp_path):
    conn = connect(f"file:{tmp_path}")
    a, b = build_slip(make_slip(), P80), build_slip(make_slip(ticket_number="A013"), P80)
    conn.write(a, job_id="T-0012")
    conn.write(b, job_id="T/0013")
    conn.write(a, job_id="T-0012")            # a reprint never overwrites the first
    files = sorted(os.listdir(tmp_path))
    assert files == ["T-0012-2.bin", "T-0012.bin", "T_0013.bin"]
    assert (tmp_path / "T-0012.bin").read_bytes() == a
    assert (tmp_path / "T_0013.bin").read_bytes() == b
    assert conn.status().state == PrinterState.OK


def test_file_path_appends_raw_bytes(tmp_path):
    target = tmp_path / "lp0"
    conn = connect(f"file:{target}")
    conn.write(b"one")
    conn.write(b"two")
    assert target.read_bytes() == b"onetwo"


def test_file_missing_directory(tmp_path):
    conn = connect(f"file:{tmp_path}/nope/out.bin")
    assert conn.status().state == PrinterState.OFFLINE
    with pytest.raises(PrinterError):
        conn.write(b"x")


def test_preview_keeps_last_pngs():
    conn = connect("preview:?profile=P58&keep=2")
    for n in ("A", "B", "C"):
        conn.write(build_slip(make_slip(ticket_number=n), P58), job_id=n)
    assert conn.job_ids() == ["B", "C"]
    assert conn.latest_png("A") is None
    png = conn.latest_png("C")
    assert png.startswith(b"\x89PNG") and conn.latest_png() == png
    from io import BytesIO

    from PIL import Image
    assert Image.open(BytesIO(png)).width == 384


class USBTimeoutError(Exception):
    """Named like pyusb's, which is what the connector recognises."""


class FakeUsb:
    """Stands in for python-escpos' Usb class: same methods the connector calls."""

    present = True
    model = None
    made: list = []

    @staticmethod
    def is_usable() -> bool:
        return True

    def __init__(self, idVendor, idProduct, timeout=0, in_ep=0x82, out_ep=0x01):
        self.args = (idVendor, idProduct, timeout, in_ep, out_ep)
        self.pending = b""
        FakeUsb.made.append(self)

    def open(self):
        if not FakeUsb.present:
            from escpos.exceptions import DeviceNotFoundError
            raise DeviceNotFoundError("Device not found")

    def _raw(self, msg):
        self.pending += FakeUsb.model.receive(bytes(msg))

    def _read(self):
        if not self.pending:
            raise USBTimeoutError("timed out")
        out, self.pending = self.pending, b""
        return list(out)

    from escpos.escpos import Escpos
    query_status = Escpos.query_status   # python-escpos' own public status call, over the fake
    del Escpos

    def close(self):
        pass


def test_usb_connector_through_escpos_usb(monkeypatch):
    from printer_fakes import PrinterModel
    import escpos.printer
    monkeypatch.setattr(escpos.printer, "Usb", FakeUsb)
    FakeUsb.model, FakeUsb.present, FakeUsb.made = PrinterModel(), True, []
    conn = connect("usb://0483:5743?timeout=2")
    assert conn.status().state == PrinterState.OK
    assert FakeUsb.made[0].args == (0x0483, 0x5743, 2000, 0x82, 0x01)
    conn.write(b"\x1b@usb\n")
    assert b"\x1b@usb\n" in bytes(FakeUsb.model.raw)
    FakeUsb.model.paper = "out"
    assert conn.status().state == PrinterState.PAPER_OUT
    FakeUsb.model.silent = True
    assert conn.status().state == PrinterState.UNKNOWN
    conn.close()
    FakeUsb.present = False
    with pytest.raises(PrinterError, match="未找到 USB 打印机 0483:5743"):
        connect("usb://0483:5743").open()


def test_file_folder_url_that_does_not_exist_is_not_turned_into_a_file(tmp_path):
    conn = connect(f"file:{tmp_path}/spool/")
    assert conn.status().state == PrinterState.OFFLINE
    with pytest.raises(PrinterError, match="目录不存在"):
        conn.write(b"x", job_id="A")
    assert not (tmp_path / "spool").exists()
