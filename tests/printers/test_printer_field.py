"""The outcome told to the citizen, against fake printers that misbehave as field printers do:
a serial printer read at 9600 baud, a network printer that resets after the job, one that
stalls and resumes, one whose paper runs out at the end of the slip, one that hangs.

Three outcomes: ``printed`` (all taken, printer fine after), ``unconfirmed`` (all taken, then
no answer or a problem: look at the slip), ``failed`` (not all taken; the rest is thrown away,
so it never comes out later)."""
from __future__ import annotations

import time

import pytest
from printer_fakes import PtyPrinter, TcpPrinter, strip_queries
from slip_samples import make_slip

from printers import P58, P80, PrintQueue, build_slip, connect
from printers.queue import JobState
from test_print_queue import Events

FAST = dict(retry_delays=(0.05, 0.1, 0.2))
NATIVE = build_slip(make_slip(), P80)
RASTER = build_slip(make_slip(ticket_number="A013", ticket_id="371102202406110013"), P58.raster())


@pytest.mark.parametrize("slip", [NATIVE, RASTER], ids=["native", "raster"])
def test_serial_printer_at_9600_baud_prints_and_says_printed(slip):
    """The query waits for the line to carry the slip (960 bytes a second), not 1 s."""
    fake = PtyPrinter(baudrate=9600)
    events = Events()
    try:
        with PrintQueue(connect(fake.url), on_event=events, **FAST) as q:
            t0 = time.monotonic()
            q.submit("T1", slip)
            info = q.wait("T1", 60)
            took = time.monotonic() - t0
        assert info.state == JobState.PRINTED, info.error
        assert took >= len(slip) / 960 * 0.9          # it really went at the line's pace
        strip_queries(bytes(fake.model.raw), [slip])  # whole, once, nothing but status around it
        assert "job.failed" not in events.names() and "printer.alert" not in events.names()
    finally:
        fake.close()


def test_serial_two_slips_back_to_back_at_9600_baud():
    fake = PtyPrinter(baudrate=9600)
    try:
        with PrintQueue(connect(fake.url), **FAST) as q:
            q.submit("T1", NATIVE)
            q.submit("T2", NATIVE.replace(b"A012", b"A014"))
            assert q.wait("T1", 30).state == JobState.PRINTED
            assert q.wait("T2", 30).state == JobState.PRINTED
        strip_queries(bytes(fake.model.raw), [NATIVE, NATIVE.replace(b"A012", b"A014")])
    finally:
        fake.close()


def test_reset_after_the_full_job_is_unconfirmed_not_failed():
    fake = TcpPrinter()
    fake.model.reset_after = 6 + len(NATIVE)      # the status asked before, the whole slip, reset
    events = Events()
    try:
        with PrintQueue(connect(fake.url + "?timeout=1&status_timeout=0.3"), on_event=events, **FAST) as q:
            q.submit("T1", NATIVE)
            info = q.wait("T1", 5)
        assert info.state == JobState.UNCONFIRMED
        assert "已全部送出" in info.error
        strip_queries(bytes(fake.model.raw), [NATIVE])  # once, whole: no second copy sent
        assert events.wait_for("job.unconfirmed", job_id="T1")
    finally:
        fake.close()


def test_paper_running_out_at_the_end_of_the_slip_is_unconfirmed():
    fake = TcpPrinter()
    fake.model.paper_out_after = len(NATIVE) - 10
    try:
        with PrintQueue(connect(fake.url + "?timeout=1&status_timeout=0.3"), **FAST) as q:
            q.submit("T1", NATIVE)
            info = q.wait("T1", 5)
        assert info.state == JobState.UNCONFIRMED and "缺纸" in info.error
        assert bytes(fake.model.raw).count(NATIVE) == 1
    finally:
        fake.close()


def test_short_stall_then_resume_prints_once():
    """A printer busy for a moment (less than the timeout) is not a failure."""
    fake = TcpPrinter(rcvbuf=4096)
    fake.model.hang_after = 3000
    try:
        with PrintQueue(connect(fake.url + "?timeout=3&status_timeout=0.5"), **FAST) as q:
            q.submit("T1", RASTER)
            time.sleep(1.0)
            fake.model.hang_after = None              # resumes within the timeout
            info = q.wait("T1", 10)
        assert info.state == JobState.PRINTED, info.error
        strip_queries(bytes(fake.model.raw), [RASTER])
    finally:
        fake.close()


def test_stall_past_the_timeout_fails_and_never_prints_late():
    """Told 「未能打印」, the citizen takes a reprint: the stalled printer must not then
    print the rest of the first slip when it comes back."""
    fake = TcpPrinter(rcvbuf=4096)
    fake.model.hang_after = 3000
    try:
        with PrintQueue(connect(fake.url + "?timeout=1&status_timeout=0.3"), **FAST) as q:
            q.submit("T1", RASTER)
            info = q.wait("T1", 10)
            assert info.state == JobState.FAILED and "停止接收数据" in info.error
            fake.model.hang_after = None              # the printer comes back
            time.sleep(1.0)
            late = len(fake.model.raw)
            # It gets what its own buffers had taken before stalling (a torn part, never cut
            # off); the rest was dropped, so no whole second slip appears after 「未能打印」.
            assert late < len(RASTER) - 2000, f"{late} of {len(RASTER)} bytes arrived after 'failed'"
            assert b"\x1dV" not in bytes(fake.model.raw)
            reprint = RASTER.replace(b"A013", b"A913")
            q.reprint("T1", reprint)                  # the citizen's 补打, on a fresh connection
            assert q.wait("T1", 10).state == JobState.PRINTED
        raw = bytes(fake.model.raw)
        assert raw[late:].count(reprint) == 1 and len(raw) - late < len(reprint) + 30
    finally:
        fake.close()


def test_tcp_hang_fails_within_the_timeout():
    fake = TcpPrinter(rcvbuf=4096)
    fake.model.hang_after = 500
    try:
        with PrintQueue(connect(fake.url + "?timeout=1&status_timeout=0.3"), **FAST) as q:
            t0 = time.monotonic()
            q.submit("T1", RASTER)
            info = q.wait("T1", 10)
            assert info.state == JobState.FAILED
            assert time.monotonic() - t0 < 4
    finally:
        fake.close()


def test_unknown_clears_by_itself_when_probed():
    """After a reset the printer is 'unknown'; asked again while idle it is fine, and says so."""
    fake = TcpPrinter()
    fake.model.reset_after = 6 + len(NATIVE)
    events = Events()
    try:
        with PrintQueue(connect(fake.url + "?timeout=1&status_timeout=0.3"), on_event=events, **FAST) as q:
            q.submit("T1", NATIVE)
            assert q.wait("T1", 5).state == JobState.UNCONFIRMED
            assert q.last_status.state.value == "unknown"
            fake.model.reset_after = None             # the printer is back up
            status = q.probe(timeout=5)
            assert status is not None and status.state.value == "ok"
            assert events.wait_for("printer.ok")
            assert q.pending() == 0
        strip_queries(bytes(fake.model.raw), [NATIVE])  # a probe sends no slip bytes
    finally:
        fake.close()


def test_probe_while_jobs_wait_leaves_it_to_the_jobs():
    fake = TcpPrinter()
    fake.model.paper = "out"
    try:
        with PrintQueue(connect(fake.url + "?timeout=1&status_timeout=0.3"), **FAST) as q:
            q.submit("T1", NATIVE)
            time.sleep(0.2)
            assert q.probe(timeout=1) is None
            fake.model.paper = "ok"
            assert q.wait("T1", 5).state == JobState.PRINTED
    finally:
        fake.close()
