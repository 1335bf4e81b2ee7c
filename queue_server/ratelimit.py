"""Counting requests per key in a sliding window, in this process.

For limits where a per-process count is the right answer and a database write per request
would cost the hot path: a kiosk's issuing requests (a kiosk always reaches the same server
process, the load balancer is sticky). Limits that must hold across processes (the tickets of
one ID number, SMS per phone) are counted in the database instead (rules.py, ratings/sms).

The window slides: "30 per minute" means at most 30 in any 60 seconds, so a burst straddling a
minute boundary does not get twice the allowance. Times come from the caller (the hall clock),
so tests move time instead of sleeping. `LoginGuard` (auth.py) could keep its failures here too:
`hit(username, limit=5, now=…)` on each failure and `retry_after` before each attempt.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable


class SlidingWindow:
    """At most `limit` hits per `seconds` per key. Memory: one deque per active key; keys whose
    hits have all aged out are dropped when more than `max_keys` are held."""

    def __init__(self, seconds: float, max_keys: int = 10_000):
        self.seconds, self.max_keys = float(seconds), max_keys
        self._hits: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def _fresh(self, key: Hashable, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is not None:
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
        return hits

    def hit(self, key: Hashable, limit: int, now: float) -> float:
        """Count one hit for `key` if it is within `limit`: 0.0 then. Otherwise nothing is
        counted (a refused request does not push the window further) and the answer is the
        seconds until the oldest hit leaves the window. `limit` 0 means no limit."""
        if limit <= 0:
            return 0.0
        with self._lock:
            hits = self._fresh(key, now)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._sweep(now)
                hits = self._hits[key] = deque()
            if len(hits) >= limit:
                return max(hits[-limit] + self.seconds - now, 0.001)
            hits.append(now)
            return 0.0

    def retry_after(self, key: Hashable, limit: int, now: float) -> float:
        """Seconds until `key` may hit again (0.0: now), counting nothing."""
        if limit <= 0:
            return 0.0
        with self._lock:
            hits = self._fresh(key, now)
            if not hits or len(hits) < limit:
                return 0.0
            return max(hits[-limit] + self.seconds - now, 0.001)

    def _sweep(self, now: float) -> None:
        for key in [k for k in self._hits if not self._fresh(k, now)]:
            del self._hits[key]
