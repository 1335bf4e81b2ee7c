"""The figures a hall is judged by, for any period and by department, window, clerk or matter.

The exact definitions (also shown on the dashboard and in the report, from FORMULAS):
- 即办率 = 即办件 ÷ 受理办件, over cases accepted (受理) in the period;
- 按时办结率 = 按时办结 ÷ 办结, over cases finished (办结) in the period; on time means
  finished_at ≤ due_at (a suspension has already moved due_at);
- 有效评价 = ratings made in the period (by rated_at), not voided by 申诉复核, not default;
  满意率 = (5 非常满意 + 4 满意) ÷ 有效评价; 好评率 = (5 + 4 + 3 基本满意) ÷ 有效评价;
  差评率 = (2 不满意 + 1 非常不满意) ÷ 有效评价. Default ratings are counted apart, and a
  好评率 including them is given separately;
- waiting time = issued → called, over tickets called in the period (the last call counts; by
  clerk only tickets that became cases count, as a skipped ticket records no clerk);
  service time = called → finished, over cases finished in the period;
- averages are arithmetic means; p90 is the nearest-rank 90th percentile (the ⌈0.9·n⌉-th
  smallest value).
一事一评: a case has at most one counted rating per node (受理, 办结), by whichever channel came
first (ratings/service.py), so 有效评价 counts rated case-nodes; `rated_cases` counts the cases.
作废 = ratings voided in the period, by why: 申诉成立 (appeal), a default rating replaced by the
citizen's own (superseded), a duplicate found when 一事一评 was introduced (duplicate).
Every page, the report and the exports take their figures from `figures` below.
Rates are percentages rounded to 2 decimals, None when there is nothing to divide by.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import schemas
from ..clock import iso
from ..models import Case, Department, Matter, Staff, Ticket, Window
from ..ratings.levels import BAD, CHANNELS, GOOD, LEVELS, SATISFIED, level_word
from ..ratings.models import VOID_KINDS, Rating

FORMULAS = [
    ("即办率", "即办件数 ÷ 期间内受理的办件数 × 100%"),
    ("按时办结率", "按时办结件数 ÷ 期间内办结的办件数 × 100%（按时：办结时间不晚于承诺期限；暂停计时的时间已顺延）"),
    ("满意率", "（非常满意 + 满意）÷ 有效评价数 × 100%"),
    ("好评率", "（非常满意 + 满意 + 基本满意）÷ 有效评价数 × 100%；差评 = 不满意 + 非常不满意"),
    ("有效评价", "期间内作出的评价（按评价时间），一事一评：每个办件每个环节（受理、办结）只计最先收到的一条；"
             "不含作废的评价，不含默认评价；默认评价单独列出，另给出含默认评价的好评率"),
    ("作废评价", "期间内作出、已作废的评价：申诉成立，或默认评价被群众本人的评价取代"),
    ("等候时间", "取号 → 叫号（期间内叫号的号票，以最后一次叫号为准；按工作人员统计时只计已受理的号票，过号的号票没有经办人）"),
    ("办理时间", "叫号 → 办结（期间内办结的办件）"),
    ("P90", "第 90 百分位数（最近秩法：从小到大第 ⌈0.9n⌉ 个）"),
]
GROUPS = {"department": "部门", "window": "窗口", "staff": "工作人员", "matter": "事项"}


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time()), datetime.combine(end + timedelta(days=1), time())


@dataclass
class Rows:
    """What the figures are computed from, each row tagged with its group keys."""
    accepted: list[Case] = field(default_factory=list)
    finished: list[Case] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    waits: list[tuple[dict[str, Any], float]] = field(default_factory=list)
    services: list[tuple[Case, float]] = field(default_factory=list)


def load(s: Session, hall_id: int, start: date, end: date) -> Rows:
    lo, hi = bounds(start, end)
    rows = Rows()
    rows.accepted = list(s.scalars(select(Case).where(Case.hall_id == hall_id, Case.accepted_at >= lo,
                                                      Case.accepted_at < hi)))
    rows.finished = list(s.scalars(select(Case).where(Case.hall_id == hall_id, Case.finished_at >= lo,
                                                      Case.finished_at < hi)))
    rows.ratings = list(s.scalars(select(Rating).where(Rating.hall_id == hall_id, Rating.rated_at >= lo,
                                                       Rating.rated_at < hi)))
    departments = dict(s.execute(select(Matter.id, Matter.department_id).where(Matter.hall_id == hall_id)).all())
    for ticket_id, matter_id, window_id, issued, called, staff_id in s.execute(
            select(Ticket.id, Ticket.matter_id, Ticket.window_id, Ticket.issued_at, Ticket.called_at, Case.staff_id)
            .outerjoin(Case, Case.ticket_id == Ticket.id)
            .where(Ticket.hall_id == hall_id, Ticket.called_at >= lo, Ticket.called_at < hi)):
        keys = {"department": departments.get(matter_id), "window": window_id, "staff": staff_id,
                "matter": matter_id, "ticket": ticket_id}
        rows.waits.append((keys, (called - issued).total_seconds()))
    called = dict(s.execute(select(Ticket.id, Ticket.called_at).join(Case, Case.ticket_id == Ticket.id)
                            .where(Case.hall_id == hall_id, Case.finished_at >= lo, Case.finished_at < hi)).all())
    for case in rows.finished:
        begin = called.get(case.ticket_id) or case.accepted_at
        rows.services.append((case, (case.finished_at - begin).total_seconds()))
    return rows


def _case_key(case: Case, by: str):
    return {"department": case.department_id, "window": case.window_id, "staff": case.staff_id,
            "matter": case.matter_id}[by]


def figures(rows: Rows) -> schemas.Figures:
    accepted = len(rows.accepted)
    immediate = sum(1 for c in rows.accepted if c.kind == "即办件")
    finished = len(rows.finished)
    on_time = sum(1 for c in rows.finished if c.due_at is not None and c.finished_at <= c.due_at)
    real = [r for r in rows.ratings if not r.voided and not r.is_default]
    defaults = [r for r in rows.ratings if not r.voided and r.is_default]
    levels = {n: sum(1 for r in real if r.level == n) for n in LEVELS}
    good = sum(levels[n] for n in GOOD)
    bad = sum(levels[n] for n in BAD)
    satisfied = sum(levels[n] for n in SATISFIED)
    default_good = sum(1 for r in defaults if r.level in GOOD)
    channels = {c: sum(1 for r in rows.ratings if r.channel == c and not r.voided) for c in CHANNELS}
    waits = [w for _, w in rows.waits]
    services = [v for _, v in rows.services]
    return schemas.Figures(
        accepted=accepted, immediate=immediate, immediate_rate=rate(immediate, accepted),
        finished=finished, on_time=on_time, late=finished - on_time,
        on_time_rate=rate(on_time, finished),
        ratings=len(real), levels={str(n): levels[n] for n in LEVELS},
        good=good, bad=bad, satisfied=satisfied,
        satisfaction_rate=rate(satisfied, len(real)), good_rate=rate(good, len(real)),
        bad_rate=rate(bad, len(real)),
        defaults=len(defaults), good_rate_with_defaults=rate(good + default_good, len(real) + len(defaults)),
        rated_cases=len({r.case_id for r in real}),
        voided=sum(1 for r in rows.ratings if r.voided),
        voided_by={k: sum(1 for r in rows.ratings if r.voided and _void_kind(r) == k) for k in VOID_KINDS},
        channels=channels,
        waited=len(waits), wait_avg=mean(waits), wait_p90=p90(waits),
        served=len(services), service_avg=mean(services), service_p90=p90(services),
    )


def _void_kind(r: Rating) -> str:
    return r.void_kind or ("superseded" if r.is_default else "appeal")


def split(rows: Rows, by: str) -> dict[Any, Rows]:
    parts: dict[Any, Rows] = defaultdict(Rows)
    for c in rows.accepted:
        parts[_case_key(c, by)].accepted.append(c)
    for c in rows.finished:
        parts[_case_key(c, by)].finished.append(c)
    for r in rows.ratings:
        parts[getattr(r, f"{by}_id")].ratings.append(r)
    for keys, w in rows.waits:
        parts[keys[by]].waits.append((keys, w))
    for c, v in rows.services:
        parts[_case_key(c, by)].services.append((c, v))
    return parts


def names(s: Session, hall_id: int, by: str) -> dict[Any, str]:
    if by == "department":
        return dict(s.execute(select(Department.id, Department.name).where(Department.hall_id == hall_id)).all())
    if by == "window":
        return {i: f"{n}号窗口 {name}" for i, n, name in
                s.execute(select(Window.id, Window.number, Window.name).where(Window.hall_id == hall_id))}
    if by == "staff":
        return {i: f"{name}（{no}）" if no else name for i, name, no in
                s.execute(select(Staff.id, Staff.name, Staff.staff_no).where(Staff.hall_id == hall_id))}
    return dict(s.execute(select(Matter.id, Matter.name).where(Matter.hall_id == hall_id)).all())


def period_stats(s: Session, hall_id: int, start: date, end: date, by: str | None = None) -> schemas.Stats:
    rows = load(s, hall_id, start, end)
    out = schemas.Stats({
        "from": start.isoformat(), "to": end.isoformat(), "totals": figures(rows),
        "formulas": [schemas.Formula(name=n, formula=f) for n, f in FORMULAS],
        "channel_words": CHANNELS, "level_words": {str(n): w for n, w in LEVELS.items()},
        "void_words": VOID_KINDS})
    if by:
        labels = names(s, hall_id, by)
        groups = [schemas.StatsGroup(key=key, name=labels.get(key, "（未指定）" if key is None else str(key)),
                                     **figures(part))
                  for key, part in split(rows, by).items()]
        groups.sort(key=lambda g: (g["key"] is None, str(g["name"])))
        if by == "window":
            numbers = dict(s.execute(select(Window.id, Window.number).where(Window.hall_id == hall_id)).all())
            groups.sort(key=lambda g: numbers.get(g["key"], 10**6))
        out["by"], out["by_word"], out["groups"] = cast(Any, by), GROUPS[by], groups
    return out


DRILL_FILTERS = {"late": "超期办结", "bad": "有差评", "immediate": "即办件", "open": "在办", "all": "全部"}


def drill_cases(s: Session, hall_id: int, start: date, end: date, by: str | None = None, key: int | None = None,
                only: str = "all", limit: int = 500) -> list[schemas.CaseLine]:
    """The cases behind a figure: accepted or finished in the period, with their ratings."""
    lo, hi = bounds(start, end)
    q = select(Case).where(Case.hall_id == hall_id,
                           ((Case.accepted_at >= lo) & (Case.accepted_at < hi))
                           | ((Case.finished_at >= lo) & (Case.finished_at < hi)))
    if by:
        column = {"department": Case.department_id, "window": Case.window_id, "staff": Case.staff_id,
                  "matter": Case.matter_id}[by]
        q = q.where(column.is_(None) if key is None else column == key)
    if only == "late":
        q = q.where(Case.finished_at.is_not(None), Case.finished_at > Case.due_at)
    elif only == "immediate":
        q = q.where(Case.kind == "即办件")
    elif only == "open":
        q = q.where(Case.status == "accepted")
    if only == "bad":
        q = q.where(Case.id.in_(select(Rating.case_id).where(Rating.level.in_(BAD), Rating.voided.is_(False))))
    cases = list(s.scalars(q.order_by(Case.accepted_at, Case.id).limit(limit)))
    ids = [c.id for c in cases]
    ratings: dict[int, list[Rating]] = defaultdict(list)
    for r in s.scalars(select(Rating).where(Rating.case_id.in_(ids)).order_by(Rating.id)) if ids else []:
        ratings[r.case_id].append(r)
    tickets = {t.id: t for t in s.scalars(select(Ticket).where(Ticket.id.in_([c.ticket_id for c in cases])))} if ids else {}
    windows = {w.id: w for w in s.scalars(select(Window).where(Window.hall_id == hall_id))}
    staff = {p.id: p for p in s.scalars(select(Staff).where(Staff.hall_id == hall_id))}
    departments = dict(s.execute(select(Department.id, Department.name).where(Department.hall_id == hall_id)).all())
    out = []
    for c in cases:
        t = tickets.get(c.ticket_id)
        w = windows.get(c.window_id)
        p = staff.get(c.staff_id) if c.staff_id else None
        out.append(schemas.CaseLine(
            id=c.id, number=c.number, ticket_number=t.number if t else None, kind=c.kind,
            matter_name=c.matter.name, department=departments.get(c.department_id),
            window_number=w.number if w else None, staff_name=p.name if p else None,
            status=c.status, issued_at=iso(t.issued_at) if t else None,
            called_at=iso(t.called_at) if t else None, accepted_at=iso(c.accepted_at),
            due_at=iso(c.due_at), due_guessed=c.due_guessed, finished_at=iso(c.finished_at),
            on_time=None if c.finished_at is None or c.due_at is None else c.finished_at <= c.due_at,
            wait_seconds=(t.called_at - t.issued_at).total_seconds() if t and t.called_at else None,
            service_seconds=(c.finished_at - (t.called_at if t and t.called_at else c.accepted_at)).total_seconds()
            if c.finished_at else None,
            ratings=[schemas.CaseLineRating(
                id=r.id, channel=r.channel, channel_word=CHANNELS.get(r.channel, r.channel), level=r.level,
                level_word=level_word(r.level), is_default=r.is_default, voided=r.voided, node=r.node)
                for r in ratings.get(c.id, [])]))
    return out
