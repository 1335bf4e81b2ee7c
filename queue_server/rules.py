"""The hall's rules on issuing tickets: opening hours, a matter's last ticket time and daily
quota, and the tickets one ID number may take a day and within a few minutes.

They run inside the issuing transaction, so a refusal issues nothing and two kiosks racing for
the last place of a quota cannot both get it (the matter row is locked while counting). Each
refusal tells the citizen, in plain Chinese, why and when to come back. The same checks, run
without issuing, tell the kiosk which matters can be taken now and how long the wait is.

`hall demo` must be usable at any hour: it sets `rt.ignore_hours`, which skips the clock-based
rules only (quotas and the per-ID limit still hold). Real halls never set it.
"""
from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .appointments import booked_today, day_words, hm
from .clock import iso
from .errors import HallError
from .models import Case, Matter, Ticket, Window, WindowMatter
from .runtime import Runtime

MAX_TICKETS_PER_ID = 3          # per ID number per hall per day; 0 = no limit ([hall] max_tickets_per_id)
DEFAULT_SERVICE_MINUTES = 10    # the wait estimate before the day has finished cases to learn from
MIN_SAMPLES = 3


def ignoring_hours(rt: Runtime) -> bool:
    return bool(getattr(rt, "ignore_hours", False))


def refused(code: str, message: str, **detail) -> HallError:
    """403: the request is fine, the hall's rules say no (a retry now would be refused again)."""
    return HallError(code, message, 403, **detail)


def _workday(rt: Runtime, day: date) -> bool:
    """A year missing from the calendar must not close the hall: it counts Monday–Friday."""
    return rt.calendar.is_workday(day)


def next_opening(rt: Runtime, now: datetime) -> date:
    """The next working day after today."""
    day = now.date() + timedelta(days=1)
    for _ in range(60):
        if _workday(rt, day):
            return day
        day += timedelta(days=1)
    return day


def come_back(rt: Runtime, open_time: time, now: datetime) -> str:
    return f"请{day_words(next_opening(rt, now), now.date())}{hm(open_time)}后再来"


def round_the_clock(cfg) -> bool:
    """00:00–24:00: a 24小时自助服务区, open on rest days too."""
    return cfg.open_time == time(0, 0) and cfg.close_time == time.max


def check_hours(rt: Runtime, hall_id: int, now: datetime) -> None:
    """Working days (the official calendar) between open_time and close_time."""
    cfg = rt.hall_config(hall_id)
    if round_the_clock(cfg):
        return
    hours = f"办公时间 {hm(cfg.open_time)}–{hm(cfg.close_time)}"
    if not _workday(rt, now.date()):
        raise refused("hall_closed", f"今天是休息日，大厅不办公，{come_back(rt, cfg.open_time, now)}（{hours}）")
    if now.time() < cfg.open_time:
        raise refused("hall_closed", f"大厅尚未开始办公，请{hm(cfg.open_time)}后取号（{hours}）")
    if now.time() >= cfg.close_time:
        raise refused("hall_closed", f"今日大厅已停止取号（{hm(cfg.close_time)}下班），"
                                     f"{come_back(rt, cfg.open_time, now)}（{hours}）")


def check_last_ticket(rt: Runtime, hall_id: int, matter: Matter, now: datetime) -> None:
    if not matter.last_ticket_time:
        return
    last = datetime.strptime(matter.last_ticket_time, "%H:%M").time()
    if now.time() >= last:
        cfg = rt.hall_config(hall_id)
        raise refused("matter_closed_today", f"今日{matter.name}已停止取号（{hm(last)}后），"
                                             f"{come_back(rt, cfg.open_time, now)}", last_ticket_time=hm(last))


def issued_today(s: Session, matter: Matter, day: date) -> int:
    return s.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.hall_id == matter.hall_id, Ticket.day == day, Ticket.matter_id == matter.id)) or 0


def quota_left(s: Session, matter: Matter, day: date) -> int | None:
    """Places left for walk-ins today; bookings still to come keep theirs. None: no quota."""
    if not matter.daily_quota:
        return None
    used = issued_today(s, matter, day) + booked_today(s, matter.hall_id, matter.id, day)
    return max(0, matter.daily_quota - used)


def check_quota(rt: Runtime, s: Session, matter: Matter, now: datetime) -> None:
    if quota_left(s, matter, now.date()) == 0:
        cfg = rt.hall_config(matter.hall_id)
        raise refused("quota_full", f"今日{matter.name}的号已取完（每日限{matter.daily_quota}个），"
                                    f"{come_back(rt, cfg.open_time, now)}，或提前网上预约",
                      daily_quota=matter.daily_quota)


def check_id_limit(s: Session, hall_id: int, id_digest: str, day: date, limit: int) -> None:
    if not limit:
        return
    taken = s.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.hall_id == hall_id, Ticket.day == day, Ticket.id_hash == id_digest)) or 0
    if taken >= limit:
        raise refused("id_limit_reached", f"同一身份证号码每天最多取{limit}个号，您今天已取{taken}个；"
                                          "如需办理更多事项，请到服务台咨询", limit=limit)


def check_id_burst(s: Session, hall_id: int, id_digest: str, now: datetime, limit: int, minutes: int) -> None:
    """At most `limit` tickets for one ID number within `minutes`, whichever kiosk: a person
    takes one or two at a time; more in a few minutes is a script or a ticket tout. Counted in
    the database, so it holds across kiosks and server processes."""
    if not limit or not minutes:
        return
    since = now - timedelta(minutes=minutes)
    recent = s.scalars(select(Ticket.issued_at).where(
        Ticket.hall_id == hall_id, Ticket.id_hash == id_digest, Ticket.issued_at > since,
        Ticket.issued_at <= now).order_by(Ticket.issued_at)).all()
    if len(recent) >= limit:
        free_at = recent[len(recent) - limit] + timedelta(minutes=minutes)
        wait = max(1, math.ceil((free_at - now).total_seconds() / 60))
        raise HallError("id_too_frequent", f"同一身份证号码{minutes}分钟内最多取{limit}个号，请{wait}分钟后再取；"
                                           "如需同时办理多个事项，请到服务台咨询", 429,
                        limit=limit, minutes=minutes, retry_after=wait * 60)


def check_issue(rt: Runtime, s: Session, hall_id: int, matter: Matter, now: datetime, *,
                id_digest: str | None = None, appointment: bool = False,
                max_per_id: int = MAX_TICKETS_PER_ID) -> None:
    """All rules for one ticket, in the order a citizen can act on them. A checked-in
    appointment had its place reserved: the matter's last ticket time, quota and the per-ID
    limit do not refuse it (it still counts against them for others)."""
    if not ignoring_hours(rt):
        check_hours(rt, hall_id, now)
        if not appointment:
            check_last_ticket(rt, hall_id, matter, now)
    if appointment:
        return
    if matter.daily_quota:
        s.execute(select(Matter.id).where(Matter.id == matter.id).with_for_update())  # serialise the count
        check_quota(rt, s, matter, now)
    if id_digest:
        check_id_limit(s, hall_id, id_digest, now.date(), max_per_id)
        cfg = rt.hall_config(hall_id)
        check_id_burst(s, hall_id, id_digest, now, cfg.id_burst_tickets, cfg.id_burst_minutes)


# --- what the kiosk shows before a ticket is taken -------------------------------------------


def _service_minutes(s: Session, hall_id: int, day: date) -> tuple[dict[int, float], float]:
    """Average minutes from the call to 办结 for today's finished cases, per matter and overall."""
    start = datetime.combine(day, time())
    rows = s.execute(select(Case.matter_id, Case.finished_at, Ticket.called_at)
                     .join(Ticket, Ticket.id == Case.ticket_id)
                     .where(Case.hall_id == hall_id, Case.finished_at >= start,
                            Case.finished_at < start + timedelta(days=1))).all()
    per: dict[int, list[float]] = {}
    for matter_id, finished, called in rows:
        if called is not None and finished is not None and finished >= called:
            per.setdefault(matter_id, []).append((finished - called).total_seconds() / 60)
    everything = [m for values in per.values() for m in values]
    overall = sum(everything) / len(everything) if len(everything) >= MIN_SAMPLES else DEFAULT_SERVICE_MINUTES
    return {k: sum(v) / len(v) for k, v in per.items() if len(v) >= MIN_SAMPLES}, overall


def availability(rt: Runtime, hall_id: int) -> dict[str, Any]:
    """Per matter: can a ticket be taken now (or why not), people ahead and the estimated wait."""
    now = rt.clock.now()
    day = now.date()
    with rt.read() as s:
        matters = s.scalars(select(Matter).where(Matter.hall_id == hall_id, Matter.active.is_(True))).all()
        waiting = dict(s.execute(select(Ticket.matter_id, func.count()).where(
            Ticket.hall_id == hall_id, Ticket.day == day, Ticket.status == "waiting",
            Ticket.target_window_id.is_(None)).group_by(Ticket.matter_id)).all())
        open_windows: dict[int, int] = dict(s.execute(
            select(WindowMatter.matter_id, func.count()).join(Window, Window.id == WindowMatter.window_id)
            .where(Window.hall_id == hall_id, Window.active.is_(True), Window.state == "open",
                   Window.signed_in_at.is_not(None))   # staffed (staffing.py): closed windows estimate nothing
            .group_by(WindowMatter.matter_id)).all())
        per_matter, overall = _service_minutes(s, hall_id, day)
        hall_refusal = None
        if not ignoring_hours(rt):
            try:
                check_hours(rt, hall_id, now)
            except HallError as exc:
                hall_refusal = exc
        out = {}
        for m in matters:
            refusal = hall_refusal
            if refusal is None:
                try:
                    if not ignoring_hours(rt):
                        check_last_ticket(rt, hall_id, m, now)
                    check_quota(rt, s, m, now)
                except HallError as exc:
                    refusal = exc
            ahead = waiting.get(m.id, 0)
            windows = open_windows.get(m.id, 0)
            minutes = per_matter.get(m.id, overall)
            estimate = 0 if ahead == 0 else (math.ceil(ahead * minutes / windows) if windows else None)
            out[str(m.id)] = {"open": refusal is None, "code": refusal.code if refusal else None,
                              "message": refusal.message if refusal else None,
                              "waiting": ahead, "open_windows": windows,
                              "estimate_minutes": estimate, "service_minutes": round(minutes, 1),
                              "quota_left": quota_left(s, m, day)}
        return {"at": iso(now), "hall_open": hall_refusal is None,
                "hall_message": hall_refusal.message if hall_refusal else None, "matters": out}
