"""The window's own printer: papers the clerk hands over across the counter (the 一次性补正告知单),
sent the same way the kiosk sends a slip (printers.PrintQueue over a connector), so a stalled
or silent printer is reported as such and a delivered-but-unconfirmed paper is never called
failed (and so never printed twice by a clerk who presses again)."""
from __future__ import annotations

import threading

from printers import PrinterError, connect
from printers.queue import JobState, print_once

from .errors import HallError

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(url: str) -> threading.Lock:
    """One job at a time per printer: two clerks sharing a printer queue behind each other."""
    with _locks_guard:
        return _locks.setdefault(url, threading.Lock())


def print_paper(url: str, job: str, data: bytes, what: str, *, ready_within: float = 4.0) -> dict:
    """Send `data` to the printer at `url` and wait for the outcome.

    The clerk and the citizen stand waiting: a printer not ready (no paper, cover open, silent)
    within `ready_within` seconds is reported at once rather than retried for minutes; once it
    takes the paper, the write may take as long as a slow serial line needs. Answers
    {"outcome": "printed"} or {"outcome": "unconfirmed", "message": …}; a paper that did not
    print is a HallError (503 `printer_failed`) saying why, in Chinese."""
    try:
        conn = connect(url)
    except ValueError as exc:
        raise HallError("printer_failed", f"窗口打印机地址无效：{exc}", 503) from None
    with _lock(url):
        try:
            info = print_once(conn, job, data, ready_within=ready_within, wait=120)   # 9600 baud is slow
        except PrinterError as exc:
            raise HallError("printer_failed", f"{what}未能打印：{exc}", 503) from None
    if info is not None and info.state == JobState.PRINTED:
        return {"outcome": "printed", "message": f"{what}已打印"}
    if info is not None and info.state == JobState.UNCONFIRMED:
        return {"outcome": "unconfirmed",
                "message": f"{what}已送出，但打印机未确认，请看是否已打出（不要急于再打一张）：{info.error}"}
    raise HallError("printer_failed", f"{what}未能打印：{(info.error if info else '') or '打印机无应答'}", 503)
