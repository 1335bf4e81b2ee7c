"""A deterministic month of a hall's work (tickets, cases, ratings) written straight into the
database, and the plan it was made from, so a test can compute every figure by hand.

The month spills over on both sides (cases accepted in late February and finished in March,
accepted in March and finished in April, ratings made in April) so that period boundaries are
tested too. Nothing here uses the statistics code.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from queue_server.models import Case, Matter, StaffWindow, Ticket, Window, WindowMatter
from queue_server.ratings.models import Rating

FIRST, LAST = date(2026, 2, 23), date(2026, 4, 3)


@dataclass
class Planned:
    ticket_id: int
    matter_id: int
    department_id: int
    window_id: int
    staff_id: int | None
    kind: str
    issued: datetime
    called: datetime
    case_id: int | None = None
    accepted: datetime | None = None
    due: datetime | None = None
    finished: datetime | None = None
    ratings: list[dict] = field(default_factory=list)


def generate(rt, hall_id: int, seed: int = 2026, first: date = FIRST, last: date = LAST,
             now: datetime | None = None) -> list[Planned]:
    """`now`: nothing is finished or rated after it (a hall seen on that day)."""
    rng = random.Random(seed)
    plan: list[Planned] = []
    cfg = rt.hall_config(hall_id)
    with rt.writing() as s:
        matters = s.scalars(select(Matter).where(Matter.hall_id == hall_id).order_by(Matter.id)).all()
        serving = {}
        for window_id, matter_id in s.execute(select(WindowMatter.window_id, WindowMatter.matter_id)):
            serving.setdefault(matter_id, []).append(window_id)
        clerk = dict(s.execute(select(StaffWindow.window_id, StaffWindow.staff_id)).all())
        windows = {w.id for w in s.scalars(select(Window).where(Window.hall_id == hall_id))}
        day, serial = first, 0
        while day <= last:
            if not rt.calendar.is_workday(day):
                day += timedelta(days=1)
                continue
            for n in range(rng.randint(5, 9)):
                serial += 1
                matter = rng.choice(matters)
                window_id = rng.choice([w for w in serving[matter.id] if w in windows])
                issued = datetime.combine(day, time(8, 30)) + timedelta(minutes=rng.randint(0, 420), seconds=rng.randint(0, 59))
                called = issued + timedelta(seconds=rng.randint(0, 3600))
                ticket = Ticket(hall_id=hall_id, day=day, number=f"{matter.prefix}{n + 1:03d}", matter_id=matter.id,
                                status="done", issued_at=issued, queue_since=issued, window_id=window_id,
                                called_at=called, call_count=1, query_code=f"G{serial:07d}",
                                ballot_code=f"{9 * 10**15 + serial:016d}")  # as random as issuing's, for tests
                s.add(ticket)
                s.flush()
                item = Planned(ticket.id, matter.id, matter.department_id, window_id, clerk.get(window_id),
                               matter.kind, issued, called)
                plan.append(item)
                if rng.random() < 0.1:  # the citizen did not come: skipped, no case
                    ticket.status, ticket.closed_at = "skipped", called + timedelta(minutes=2)
                    continue
                item.accepted = called + timedelta(seconds=60)
                days = 0 if matter.kind == "即办件" else matter.promised_days
                item.due = rt.calendar.due_at(item.accepted, days, cfg.deadline_time)
                if matter.kind == "即办件":
                    item.finished = item.accepted + timedelta(seconds=rng.randint(120, 3000))
                    luck = rng.random()
                    if luck < 0.08:  # done after the hall's deadline time: late
                        item.finished = datetime.combine(day, time(17, 45))
                    elif luck < 0.12:  # done at the very deadline: still on time
                        item.finished = item.due
                elif rng.random() < 0.85:  # finished some days later, in office hours
                    later = item.accepted.date() + timedelta(days=rng.randint(0, days + 3))
                    item.finished = max(item.accepted + timedelta(minutes=5),
                                        datetime.combine(later, time(9)) + timedelta(minutes=rng.randint(0, 500)))
                if item.finished and now and item.finished > now:
                    item.finished = None
                case = Case(hall_id=hall_id, number=f"G{day:%Y%m%d}{serial:05d}", ticket_id=ticket.id,
                            matter_id=matter.id, window_id=window_id, staff_id=item.staff_id,
                            department_id=matter.department_id, kind=matter.kind,
                            status="finished" if item.finished else "accepted", accepted_at=item.accepted,
                            due_at=item.due, finished_at=item.finished)
                s.add(case)
                s.flush()
                item.case_id = case.id
                if item.finished is None:
                    ticket.status = "serving"
                    continue
                # 一事一评: the first channel rates 办结; a second one, on a 承诺件, its 受理.
                for i, channel in enumerate(rng.sample(["device", "web", "sms", "slip"], k=rng.choice([0, 1, 1, 1, 2]))):
                    level = rng.choices([5, 4, 3, 2, 1], weights=[60, 20, 10, 6, 4])[0]
                    rated = item.finished + timedelta(minutes=rng.randint(1, 60 * 24 * 3))
                    if now and rated > now or (i and case.kind == "即办件"):
                        continue
                    voided = level <= 2 and rng.random() < 0.3
                    item.ratings.append({"channel": channel, "level": level, "rated": rated, "voided": voided,
                                         "default": False, "node": "accept" if i else "finish"})
                if not item.ratings and rng.random() < 0.5 and (now is None or item.finished + timedelta(days=7) <= now):
                    item.ratings.append({"channel": "default", "level": 5, "default": True, "voided": False,
                                         "rated": item.finished + timedelta(days=7)})
                for r in item.ratings:
                    s.add(Rating(hall_id=hall_id, case_id=case.id, ticket_id=ticket.id, matter_id=matter.id,
                                 window_id=window_id, staff_id=item.staff_id, department_id=matter.department_id,
                                 channel=r["channel"], level=r["level"], node=r.get("node", "finish"),
                                 rated_at=r["rated"], is_default=r["default"], voided=r["voided"], source="generated",
                                 void_reason="申诉成立：测试" if r["voided"] else None,
                                 void_kind="appeal" if r["voided"] else None))
            day += timedelta(days=1)
        s.commit()
    return plan
