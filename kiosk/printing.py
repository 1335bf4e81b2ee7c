"""The kiosk's slip printer: its print queue, its state, its picture (the slip a ticket makes is
printers/ticket.py's, the same the service desk prints).

The ticket is committed on the server before anything is printed, so a printer that is out of
paper or offline never loses a ticket: the job waits a little, then fails, and the screen sends
the citizen to the service desk for a reprint. A slip that went out whole but that the printer
did not confirm is "unconfirmed": the screen asks the citizen to look, and reprints only when
asked. The slip's picture on the screen is rendered from the very bytes sent to the printer.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable

from printers import PrintQueue, build_slip, render_png
from printers.profile import profile_for
from printers.ticket import ticket_slip

KEEP = 100                 # slips kept for the screen and reprints (a morning's worth at one kiosk)
GIVE_UP_AFTER = 20.0       # seconds a slip waits for a printer that cannot print, then fails
RETRY_DELAYS = (0.3, 0.5, 1, 2, 3)
PROBE_EVERY = 10.0         # seconds between checks of a printer that was found unable to print
BAD_STATES = ("paper_out", "cover_open", "offline")
PROBED_STATES = BAD_STATES + ("unknown",)   # asked again while idle until they clear
REPRINTABLE = ("failed", "unconfirmed")   # a slip the citizen may not have: one reprint on request
STATE_WORDS = {"ok": "打印机正常", "paper_near_end": "打印纸即将用完", "paper_out": "打印机缺纸",
               "cover_open": "打印机纸仓盖未关好", "offline": "打印机离线", "unknown": "打印机无应答"}


class SlipPrinter:
    """One kiosk printer. Job ids are `ticket-<id>`: one slip per ticket, reprints on request."""

    def __init__(self, url: str, profile_name: str | None = None, *,
                 give_up_after: float | None = None) -> None:
        self.url = url
        self.profile = profile_for(url, profile_name)
        self.state = "ok" if url.startswith("preview:") else "unknown"
        self.message = ""
        self.on_change: Callable[[str], None] | None = None  # told when the state changes
        self._slips: OrderedDict[int, bytes] = OrderedDict()
        self._pngs: OrderedDict[int, bytes] = OrderedDict()
        self._codes: dict[int, dict[str, Any]] = {}  # the slip's codes, for a reprint
        self._lock = threading.Lock()
        self._probing = threading.Lock()
        self._probed = 0.0
        self.queue = PrintQueue(url, on_event=self._on_event, retry_delays=RETRY_DELAYS,
                                give_up_after=GIVE_UP_AFTER if give_up_after is None else give_up_after)

    def _on_event(self, name: str, payload: dict[str, Any]) -> None:
        before = self.state
        if name == "printer.alert":
            self.state, self.message = payload.get("state", "unknown"), payload.get("message", "")
        elif name == "printer.ok" or (name == "job.printed" and self.state == "unknown"):
            self.state, self.message = "ok", ""
        if self.state != before and self.on_change is not None:
            self.on_change(self.state)

    def print_ticket(self, ticket: dict[str, Any], catalogue: dict[str, Any]) -> bool:
        """Queue the ticket's slip once; False when it was already queued (a double tap)."""
        with self._lock:
            if ticket["id"] in self._slips:
                return False
            data = build_slip(ticket_slip(ticket, catalogue), self.profile)
            self._remember(ticket["id"], data)
            self._codes[ticket["id"]] = {k: ticket.get(k) for k in ("query_code", "ballot_code")}
        self.queue.submit(f"ticket-{ticket['id']}", data)
        return True

    def reprint(self, ticket: dict[str, Any], catalogue: dict[str, Any]) -> None:
        """The slip again, marked 【补打】. The server gives the slip's codes only in the issuing
        answer, so they come from what this kiosk printed."""
        with self._lock:
            ticket = {**ticket, **self._codes.get(ticket["id"], {})}
        data = build_slip(ticket_slip(ticket, catalogue, reprint=True), self.profile)
        with self._lock:
            self._remember(ticket["id"], data)
        self.queue.reprint(f"ticket-{ticket['id']}", data)

    def _remember(self, ticket_id: int, data: bytes) -> None:
        self._slips[ticket_id] = data
        self._slips.move_to_end(ticket_id)
        self._pngs.pop(ticket_id, None)
        while len(self._slips) > KEEP:
            old, _ = self._slips.popitem(last=False)
            self._pngs.pop(old, None)
            self._codes.pop(old, None)

    def slip_bytes(self, ticket_id: int) -> bytes | None:
        with self._lock:
            return self._slips.get(ticket_id)

    def png(self, ticket_id: int) -> bytes | None:
        """The picture of exactly what was sent, rendered once on first request."""
        with self._lock:
            cached, data = self._pngs.get(ticket_id), self._slips.get(ticket_id)
        if cached is not None or data is None:
            return cached
        png = render_png(data, self.profile.width_dots)
        with self._lock:
            if ticket_id in self._slips:
                self._pngs[ticket_id] = png
        return png

    def job(self, ticket_id: int) -> dict[str, Any]:
        """What the screen says about one slip: queued / printing / printed / unconfirmed / failed."""
        info = self.queue.job(f"ticket-{ticket_id}")
        return {"state": info.state.value if info else "unknown", "error": info.error if info else "",
                "printer": self.status()}

    def status(self) -> dict[str, Any]:
        """What was known when asked; a probe this starts answers the next call."""
        state, message = self.state, self.message
        if state in PROBED_STATES:
            self._probe_later()
        return {"state": state, "message": message or STATE_WORDS.get(state, ""),
                "ok": state in ("ok", "paper_near_end"), "pending": self.queue.pending()}

    def _probe_later(self) -> None:
        """A printer that failed or went silent is asked again now and then while idle, so the
        screen and the heartbeat recover once the paper is back or the printer is up again
        (the queue otherwise only asks when printing)."""
        if self.queue.pending() or time.monotonic() - self._probed < PROBE_EVERY:
            return
        if not self._probing.acquire(blocking=False):
            return
        self._probed = time.monotonic()
        threading.Thread(target=self._probe, name="printer-probe", daemon=True).start()

    def _probe(self) -> None:
        """Through the queue's own connection: a serial port opened twice would split replies."""
        try:
            status = self.queue.probe()
            if status is not None and not self.queue.pending() and status.state.value != self.state:
                self.state, self.message = status.state.value, "" if status.can_print else status.message
                if self.on_change is not None:
                    self.on_change(self.state)
        finally:
            self._probing.release()

    def close(self) -> None:
        self.queue.close(timeout=2)
