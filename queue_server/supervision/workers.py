"""The background jobs of a running server: time-limit warnings, default ratings, late SMS
invitations, closing windows nobody staffs any more (every `check_seconds`), and the SMS sender (every few seconds, or at once when a
case finishes).

They start with the app only on the real clock: an app under a FrozenClock (tests, simulations)
gets no threads, and its test calls `check_warnings`, `apply_defaults` and `send_due` itself at
the instants it chooses. `HALL_WORKERS=0` keeps them off too (e.g. for a second server process
when one is enough). services.py starts them; `stop()` ends them and unbinds the SMSC.
With several processes each runs them; that is safe: warnings are unique per deadline, a
default per case, and a message is claimed by one sender only.
"""
from __future__ import annotations

import logging
import os
import threading

from ..clock import Clock
from ..dayclose import close_days
from ..ratings.defaults import apply_defaults
from ..ratings.invitations import invite_missed
from ..ratings.sms.sender import close_gateways, send_due
from ..runtime import Runtime
from ..staffing import sweep as close_unstaffed
from .alerts import check_warnings
from .settings import supervision_settings

log = logging.getLogger("hall.workers")
SMS_SECONDS = 5.0


class Workers:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.stopping = threading.Event()
        self.sms_wake = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> "Workers":
        for name, target in (("hall-supervision", self._supervise), ("hall-sms", self._send_sms)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.sms_wake.set()
        for thread in self.threads:
            thread.join(timeout)
        close_gateways(self.rt)

    def _interval(self) -> float:
        return min((supervision_settings(self.rt, h).check_seconds for h in self.rt.halls), default=60)

    def _supervise(self) -> None:
        while not self.stopping.wait(self._interval()):
            for job in (close_days, close_unstaffed, check_warnings, apply_defaults, invite_missed):
                try:
                    job(self.rt)
                except Exception:  # noqa: BLE001 - keep supervising; the next round retries
                    log.exception("background job %s failed", job.__name__)
            self.sms_wake.set()

    def _send_sms(self) -> None:
        while not self.stopping.is_set():
            self.sms_wake.wait(SMS_SECONDS)
            self.sms_wake.clear()
            if self.stopping.is_set():
                break
            try:
                send_due(self.rt)
            except Exception:  # noqa: BLE001
                log.exception("SMS sender failed")


def wanted(rt: Runtime) -> bool:
    return type(rt.clock) is Clock and os.environ.get("HALL_WORKERS", "1") != "0"
