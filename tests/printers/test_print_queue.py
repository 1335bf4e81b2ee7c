"""The print queue against fake printers on TCP (127.0.0.1) and a pseudo-terminal:
nothing lost, nothing printed twice, alerts raised, hangs bounded."""
from __future__ import annotations

import threading
import time

import pytest
from slip_samples import make_slip
from printer_fakes import PtyPrinter, TcpPrinter, strip_queries

from printers import P58, P80, PrintQueue, build_slip, connect
from printers.queue import JobState

FAST = dict(retry_delays=(0.05, 0.1, 0.2))
SLIP = build_slip(make_slip(), P80)
SLIP2 = build_slip(make_slip(ticket_number="A013", ticket_id="371102202406110013"), P58.raster())


class Events:
    """Collects queue events; ``wait_for`` blocks until one arrives."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict]] = []
        self.cond = threading.Condition()

    def __call__(self, name: str, payload: dict) -> None:
        with self.cond:
            self.items.append((name, payload))
            self.cond.notify_all()

    def names(self) -> list[str]:
        with self.cond:
            return [n for n, _ in self.items]

    def wait_for(self, name: str, timeout: float = 3.0, **match) -> dict:
        def found():
            return next((p for n, p in self.items if n == name
                         and all(p.get(k) == v for k, v in match.items())), None)
        with self.cond:
            assert self.cond.wait_for(lambda: found() is not None, timeout), \
                f"no {name} {match} in {self.names()}"
            return found()


@pytest.fixture
def tcp():
    p = TcpPrinter()
    yield p
    p.close()


@pytest.fixture
def pty():
    p = PtyPrinter()
    yield p
    p.close()


def queue_for(fake, events, query="", **kw) -> PrintQueue:
    sep = "&" if "?" in fake.url else "?"
    url = fake.url + sep + "status_timeout=0.2&timeout=0.5" + query
    return PrintQueue(connect(url), on_event=events, **{**FAST, **kw})


@pytest.mark.parametrize("kind", ["tcp", "pty"])
def test_online_printer_gets_identical_bytes_once(kind, request):
    fake = request.getfixturevalue(kind)
    events = Events()
    with queue_for(fake, events) as q:
        t0 = time.monotonic()
        q.submit("T1", SLIP)
        q.submit("T2", SLIP2)
        assert time.monotonic() - t0 < 0.05          # submit never waits for the printer
        assert q.wait("T1", 3).state == JobState.PRINTED
        assert q.wait("T2", 3).state == JobState.PRINTED
    a, b = strip_queries(bytes(fake.model.raw), [SLIP, SLIP2])
    assert a == SLIP and b == SLIP2
    assert "printer.alert" not in events.names()
    assert events.names().count("job.printed") == 2


@pytest.mark.parametrize("kind", ["tcp", "pty"])
def test_paper_out_alerts_waits_and_prints_after_paper(kind, request):
    fake = request.getfixturevalue(kind)
    fake.model.paper = "out"
    events = Events()
    with queue_for(fake, events) as q:
        q.submit("T1", SLIP)
        alert = events.wait_for("printer.alert")
        assert alert["state"] == "paper_out" and "缺纸" in alert["message"]
        time.sleep(0.3)
        info = q.job("T1")
        assert info.state == JobState.QUEUED and info.attempts >= 2     # retried, held
        assert SLIP not in bytes(fake.model.raw)                        # nothing sent yet
        fake.model.paper = "ok"
        assert q.wait("T1", 3).state == JobState.PRINTED
    names = events.names()
    assert names.index("printer.alert") < names.index("printer.ok") < names.index("job.printed")
    assert names.count("printer.alert") == 1                            # one alert, not one per retry
    strip_queries(bytes(fake.model.raw), [SLIP])


def test_near_end_warns_but_prints(tcp):
    tcp.model.paper = "near_end"
    events = Events()
    with queue_for(tcp, events) as q:
        q.submit("T1", SLIP)
        assert q.wait("T1", 3).state == JobState.PRINTED
    assert events.wait_for("printer.alert")["state"] == "paper_near_end"


def test_cover_open_then_closed(tcp):
    tcp.model.cover_open = True
    events = Events()
    with queue_for(tcp, events) as q:
        q.submit("T1", SLIP)
        assert events.wait_for("printer.alert")["state"] == "cover_open"
        tcp.model.cover_open = False
        assert q.wait("T1", 3).state == JobState.PRINTED


def test_silent_printer_is_unknown_and_the_job_is_kept(tcp):
    tcp.model.silent = True
    events = Events()
    with queue_for(tcp, events) as q:
        q.submit("T1", SLIP)
        alert = events.wait_for("printer.alert")
        assert alert["state"] == "unknown" and not alert["can_print"]
        time.sleep(0.5)
        assert q.state("T1") == JobState.QUEUED
        assert SLIP not in bytes(tcp.model.raw)
        tcp.model.silent = False
        assert q.wait("T1", 3).state == JobState.PRINTED
    events.wait_for("printer.ok")
    strip_queries(bytes(tcp.model.raw), [SLIP])


def test_empty_reply_is_unknown_and_the_job_is_kept():
    fake = TcpPrinter(close_on_accept=True)
    events = Events()
    try:
        with queue_for(fake, events) as q:
            q.submit("T1", SLIP)
            assert events.wait_for("printer.alert")["state"] == "unknown"
            time.sleep(0.3)
            assert q.state("T1") == JobState.QUEUED
            assert fake.connections >= 2                      # it keeps reconnecting
    finally:
        fake.close()


def test_unreachable_printer_then_it_comes_up():
    # Grab a free port, close it, start the queue, then start the printer on that port.
    probe = TcpPrinter()
    port = probe.port
    probe.close()
    events = Events()
    q = PrintQueue(connect(f"tcp://127.0.0.1:{port}?status_timeout=0.2&connect_timeout=0.2"),
                   on_event=events, **FAST)
    try:
        q.submit("T1", SLIP)
        assert events.wait_for("printer.alert")["state"] == "offline"
        fake = TcpPrinter(port=port)               # the printer is switched on
        try:
            assert q.wait("T1", 3).state == JobState.PRINTED
            strip_queries(bytes(fake.model.raw), [SLIP])
        finally:
            fake.close()
    finally:
        q.close()


def test_printer_dead_after_taking_the_job_is_unconfirmed_and_the_queue_moves_on(tcp):
    # The printer's network stack took the whole (small) slip, then the printer went dead:
    # the slip may well come out when it is power-cycled, so the citizen is told to look,
    # not that it failed.
    tcp.model.hang_after = 500
    events = Events()
    with queue_for(tcp, events) as q:
        t0 = time.monotonic()
        q.submit("T1", SLIP)
        q.submit("T2", SLIP2)
        info = q.wait("T1", 5)
        assert info.state == JobState.UNCONFIRMED and "未确认" in info.error
        assert time.monotonic() - t0 < 3
        assert q.state("T2") == JobState.QUEUED    # held: the printer still does not answer
        tcp.model.hang_after = None                 # power-cycled
        assert q.wait("T2", 5).state == JobState.PRINTED
    # T1 was not sent again on its own (only explicit reprints do that); the two connections'
    # bytes reach this fake interleaved, so count what arrived in total.
    raw = bytes(tcp.model.raw)
    assert len(raw) < len(SLIP) + len(SLIP2) + 200
    assert raw.count(b"A012") <= 1 and raw.count(b"A013") <= 1
    assert tcp.connections >= 2                     # reconnected after the hang
    assert events.wait_for("job.unconfirmed", job_id="T1")["state"] == "unconfirmed"


def test_write_that_stalls_times_out():
    fake = TcpPrinter(rcvbuf=4096)
    fake.model.hang_after = 2000
    big = b"\x1b@" + bytes(8 * 1024 * 1024)        # more than the socket buffers can hold
    events = Events()
    try:
        with queue_for(fake, events) as q:
            t0 = time.monotonic()
            q.submit("BIG", big)
            info = q.wait("BIG", 10)
            assert info.state == JobState.FAILED and "停止接收数据" in info.error
            assert time.monotonic() - t0 < 5
            events.wait_for("printer.alert", state="unknown")
    finally:
        fake.close()


def test_serial_printer_hanging_times_out(pty):
    pty.model.hang_after = 100
    big = b"\x1b@" + bytes(256 * 1024)
    events = Events()
    with queue_for(pty, events) as q:
        t0 = time.monotonic()
        q.submit("BIG", big)
        info = q.wait("BIG", 10)
        assert info.state == JobState.FAILED and "停止接收数据" in info.error
        assert time.monotonic() - t0 < 5


def test_duplicate_submit_prints_once_and_reprint_prints_again(tcp):
    events = Events()
    with queue_for(tcp, events) as q:
        q.submit("T1", SLIP)
        q.submit("T1", SLIP)                        # double tap
        assert q.wait("T1", 3).state == JobState.PRINTED
        q.submit("T1", SLIP)                        # a retried request after printing
        time.sleep(0.2)
        assert bytes(tcp.model.raw).count(SLIP) == 1
        marked = build_slip(make_slip(reprint=True), P80)
        info = q.submit("T1", marked, reprint=True)
        assert info.reprint and info.state == JobState.QUEUED
        assert q.wait("T1", 3).state == JobState.PRINTED
        q.reprint("T1")                             # resend the kept bytes
        time.sleep(0.05)
        assert q.wait("T1", 3).state == JobState.PRINTED
    strip_queries(bytes(tcp.model.raw), [SLIP, marked, marked])


def test_reprint_of_a_job_still_waiting_does_not_double(tcp):
    tcp.model.paper = "out"
    events = Events()
    with queue_for(tcp, events) as q:
        q.submit("T1", SLIP)
        events.wait_for("printer.alert")
        q.reprint("T1")
        tcp.model.paper = "ok"
        assert q.wait("T1", 3).state == JobState.PRINTED
        time.sleep(0.2)
    assert bytes(tcp.model.raw).count(SLIP) == 1


def test_reprint_unknown_job_needs_data(tmp_path):
    with PrintQueue(connect(f"file:{tmp_path}"), **FAST) as q:
        with pytest.raises(KeyError):
            q.reprint("nope")


def test_finished_jobs_are_forgotten_beyond_the_limit(tmp_path):
    with PrintQueue(connect(f"file:{tmp_path}"), keep_finished=3, **FAST) as q:
        for i in range(10):
            q.submit(f"J{i}", b"x%d" % i)
        assert q.wait("J9", 3).state == JobState.PRINTED
        known = [i for i in range(10) if q.job(f"J{i}") is not None]
        assert known == [7, 8, 9]
        assert len(list(tmp_path.iterdir())) == 10


def test_waiting_too_long_gives_up(tcp):
    tcp.model.paper = "out"
    with queue_for(tcp, Events(), give_up_after=0.3) as q:
        q.submit("T1", SLIP)
        info = q.wait("T1", 3)
        assert info.state == JobState.FAILED and "等待打印机超时" in info.error


def test_broken_callback_does_not_stop_printing(tmp_path):
    def boom(name, payload):
        raise RuntimeError("screen gone")
    with PrintQueue(connect(f"file:{tmp_path}"), on_event=boom, **FAST) as q:
        q.submit("A", b"1")
        q.submit("B", b"2")
        assert q.wait("B", 3).state == JobState.PRINTED


def test_factory_gives_a_fresh_connector_after_a_drop(tcp):
    made = []

    def factory():
        made.append(connect(tcp.url + "?status_timeout=0.2&timeout=0.5"))
        return made[-1]

    tcp.model.silent = True
    with PrintQueue(factory, **FAST) as q:
        q.submit("T1", SLIP)
        time.sleep(0.4)
        tcp.model.silent = False
        assert q.wait("T1", 3).state == JobState.PRINTED
    assert len(made) >= 2


def test_queue_accepts_a_url_and_rejects_bad_input(tmp_path):
    with PrintQueue(f"file:{tmp_path}") as q:
        with pytest.raises(ValueError):
            q.submit("", b"x")
        with pytest.raises(ValueError):
            q.submit("A", b"")
    with pytest.raises(ValueError):
        PrintQueue("lpt://1")


def test_pending_counts_waiting_and_printing(tcp):
    tcp.model.paper = "out"
    events = Events()
    with queue_for(tcp, events) as q:
        q.submit("T1", SLIP)
        q.submit("T2", SLIP2)
        events.wait_for("printer.alert")
        assert q.pending() == 2
        alert = events.wait_for("printer.alert")
        assert alert["pending"] in (1, 2)
        tcp.model.paper = "ok"
        assert q.wait("T2", 3).state == JobState.PRINTED
        assert q.pending() == 0
