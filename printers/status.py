"""Printer status from DLE EOT real-time replies.

DLE EOT is answered by the printer even while its buffer is full, so it is the one way to
know, before sending a slip, whether the paper is out or the cover open. No reply, an empty
reply or a malformed byte is *unknown*: the printer may be off or not an ESC/POS printer,
and treating that as fine would silently drop citizens' slips.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

DLE_EOT = b"\x10\x04"
PRINTER, OFFLINE_CAUSE, PAPER = 1, 2, 4


class PrinterState(str, Enum):
    OK = "ok"
    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


MESSAGES = {
    PrinterState.OK: "打印机正常",
    PrinterState.PAPER_NEAR_END: "打印纸即将用完，请及时换纸",
    PrinterState.PAPER_OUT: "打印机缺纸，请装纸",
    PrinterState.COVER_OPEN: "打印机纸仓盖未关好",
    PrinterState.OFFLINE: "打印机离线",
    PrinterState.UNKNOWN: "打印机无应答（未开机、未连接或不支持状态查询）",
}


@dataclass(frozen=True)
class PrinterStatus:
    state: PrinterState
    detail: str = ""

    @property
    def can_print(self) -> bool:
        """Near end still prints; everything else waits."""
        return self.state in (PrinterState.OK, PrinterState.PAPER_NEAR_END)

    @property
    def message(self) -> str:
        """Chinese text for the kiosk screen and the alert."""
        return MESSAGES[self.state] + (f"：{self.detail}" if self.detail else "")

    @classmethod
    def ok(cls) -> "PrinterStatus":
        return cls(PrinterState.OK)

    @classmethod
    def unknown(cls, detail: str = "") -> "PrinterStatus":
        return cls(PrinterState.UNKNOWN, detail)


def _valid(b: int) -> bool:
    """Every DLE EOT reply has bits 0 and 7 clear and bits 1 and 4 set."""
    return b & 0x93 == 0x12


def query(exchange: Callable[[bytes], bytes]) -> PrinterStatus:
    """Ask DLE EOT 1 (online), 2 (why offline) and 4 (paper sensor) through ``exchange``,
    which writes a request and returns the reply bytes (b"" when none came in time)."""

    def ask(n: int) -> int | None:
        reply = exchange(DLE_EOT + bytes([n]))
        # A reply may be preceded by stale bytes; the last one answers this request.
        return reply[-1] if reply and _valid(reply[-1]) else None

    printer = ask(PRINTER)
    if printer is None:
        return PrinterStatus.unknown("状态查询无应答")
    paper = ask(PAPER)
    if paper is not None and paper & 0x60:
        return PrinterStatus(PrinterState.PAPER_OUT)
    if printer & 0x08:
        cause = ask(OFFLINE_CAUSE)
        if cause is not None and cause & 0x04:
            return PrinterStatus(PrinterState.COVER_OPEN)
        if cause is not None and cause & 0x20:
            return PrinterStatus(PrinterState.PAPER_OUT)
        return PrinterStatus(PrinterState.OFFLINE)
    if paper is None:
        return PrinterStatus.unknown("纸张状态无应答")
    if paper & 0x0C:
        return PrinterStatus(PrinterState.PAPER_NEAR_END)
    return PrinterStatus.ok()
