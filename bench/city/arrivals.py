"""When citizens arrive, what for, and what happens to them at the window.

The day runs 08:30–17:30. Arrivals follow a piecewise-linear curve of a service hall's day: a
queue at the door at opening, the morning peak 9:00–11:00, the lunch dip 12:00–13:30 and a
smaller afternoon peak 14:00–16:00, fading before closing. Each hall gets a share of the day's
tickets in proportion to its windows; everything a ticket will do (matter, priority, no-show,
service time) is drawn when it is generated, from one seed, so two runs see the same day.
"""
from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

from .matters import PROFILES, NO_SHOW_SHARE, draw_priority, service_seconds

OPEN = 8 * 3600 + 30 * 60
CLOSE = 17 * 3600 + 30 * 60

# (time of day, relative arrival rate); linear in between.
CURVE = [("08:30", 1.0), ("09:00", 1.5), ("09:30", 1.8), ("10:00", 1.8), ("10:30", 1.6), ("11:00", 1.3),
         ("11:30", 0.9), ("12:00", 0.45), ("12:30", 0.3), ("13:00", 0.35), ("13:30", 0.7), ("14:00", 1.1),
         ("14:30", 1.3), ("15:00", 1.3), ("15:30", 1.15), ("16:00", 0.9), ("16:30", 0.6), ("17:00", 0.3),
         ("17:30", 0.1)]


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def _seconds(hm: str) -> int:
    h, m = hm.split(":")
    return int(h) * 3600 + int(m) * 60


def rate(t: float) -> float:
    """The curve's relative arrival rate at second-of-day `t`."""
    points = [(_seconds(hm), r) for hm, r in CURVE]
    for (t0, r0), (t1, r1) in zip(points, points[1:]):
        if t0 <= t <= t1:
            return r0 + (r1 - r0) * (t - t0) / (t1 - t0)
    return 0.0


@dataclass(frozen=True)
class Arrival:
    key: str             # request_id on the kiosk: a retried issue returns the same ticket
    hall: int            # index into the city's halls
    at: float            # second of the day (the start of its tick)
    matter: str          # matter code
    priority: str | None
    no_show: bool
    service: float       # seconds from 受理 to 办结 (unused for a no-show)


def split(total: int, sizes: list[int]) -> list[int]:
    """`total` shared in proportion to `sizes`, exactly, largest remainder first."""
    whole = sum(sizes)
    exact = [total * s / whole for s in sizes]
    out = [int(x) for x in exact]
    for i in sorted(range(len(sizes)), key=lambda i: exact[i] - out[i], reverse=True)[:total - sum(out)]:
        out[i] += 1
    return out


def day(tickets: int, halls: list[tuple[int, list[str]]], tick: float, seed: int = 7,
        service_scale: float = 1.0) -> list[Arrival]:
    """The day's arrivals, sorted by time. `halls`: (windows, matter codes) per hall."""
    rng = random.Random(seed)
    starts = [OPEN + i * tick for i in range(int((CLOSE - OPEN) / tick))]
    cumulative, total = [], 0.0
    for t in starts:
        total += rate(t + tick / 2)
        cumulative.append(total)
    out: list[Arrival] = []
    for h, ((_, codes), n) in enumerate(zip(halls, split(tickets, [w for w, _ in halls]))):
        weights = [PROFILES[c].weight for c in codes]
        for i in range(n):
            at = starts[bisect.bisect_left(cumulative, rng.random() * total)]
            code = rng.choices(codes, weights)[0]
            out.append(Arrival(f"city-{h}-{i}", h, at, code, draw_priority(rng),
                               rng.random() < NO_SHOW_SHARE, service_seconds(rng, code, service_scale)))
    out.sort(key=lambda a: (a.at, a.hall, a.key))
    return out
