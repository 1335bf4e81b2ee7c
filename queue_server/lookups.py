"""Guessing is slow: query-code tries per client address.

A query code (8 characters on the slip) opens the progress page and the web rating. Whoever
tries codes from one address gets at most `[hall] lookups_per_minute` tries a minute (look-ups
by code, the progress page, the web rating state and web ratings together; default 30, while a
citizen's page asks twice a minute) and at most a third of that many *wrong* codes in ten
minutes, then 429 `too_many_lookups` with Retry-After. Counted in this process (ratelimit.py):
the load balancer keeps an address on one process. The address is `request.remote_addr` as the
app sees it (the client's, behind the configured proxy).
"""
from __future__ import annotations

import math

from flask import current_app, request

from .errors import HallError
from .ratelimit import SlidingWindow

MISS_SECONDS = 600


def _limit() -> int:
    """The strictest positive limit of the halls served (a look-up names no hall before it is found)."""
    limits = [cfg.lookups_per_minute for cfg in current_app.extensions["hall"].halls.values()
              if cfg.lookups_per_minute > 0]
    return min(limits) if limits else 0


def _windows() -> tuple[SlidingWindow, SlidingWindow]:
    ext = current_app.extensions
    if "hall_lookups" not in ext:
        ext.setdefault("hall_lookups", (SlidingWindow(60), SlidingWindow(MISS_SECONDS)))
    return ext["hall_lookups"]


def _refuse(wait: float) -> HallError:
    seconds = max(1, math.ceil(wait))
    return HallError("too_many_lookups", f"查询过于频繁，请{seconds}秒后再试（请核对告知单上的查询码）", 429,
                     retry_after=seconds)


def guard() -> None:
    """Before a look-up by query code: counts it, and refuses an address that tries too fast or
    has given too many wrong codes lately."""
    limit = _limit()
    if not limit:
        return
    tries, misses = _windows()
    now = current_app.extensions["hall"].clock.now().timestamp()
    address = request.remote_addr or ""
    wait = misses.retry_after(address, max(1, limit // 3), now) or tries.hit(address, limit, now)
    if wait:
        raise _refuse(wait)


def missed() -> None:
    """A look-up found no such code: counted against the address."""
    limit = _limit()
    if limit:
        _, misses = _windows()
        misses.hit(request.remote_addr or "", max(1, limit // 3) + 1,
                   current_app.extensions["hall"].clock.now().timestamp())
