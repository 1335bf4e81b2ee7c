"""The ticket's visit and the case's life, as two declared tables.

A ticket is one visit to the hall; a case (办件) is the application that visit hands in, and it
outlives the visit: a 承诺件 accepted on Monday is worked in the back office and finished days
later from the case desk, while the window calls the next person at once. Every operation on a
ticket or a case is one row of these tables: the state it starts from, the state it leaves, and
the words people read. The window operations (windows.py), the case desk (cases.py), the API
answers (`actions` in each ticket and case) and the pages all ask here what may happen next,
instead of each keeping rules of their own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .errors import conflict

IMMEDIATE = "即办件"


@dataclass(frozen=True)
class State:
    word: str                                   # what the clerk, the citizen and the supervisor read
    ops: Mapping[str, str | Mapping[str, str]] = field(default_factory=dict)
    # an op's next state, or per matter kind ("即办件" / "*") where the kind decides
    final: bool = False


# The ticket: one visit. `serving` exists only for a 即办件, finished while the citizen waits.
TICKET: dict[str, State] = {
    "waiting": State("等候中", {"call": "called", "close_day": "unserved"}),
    "called": State("已叫号", {
        "recall": "called", "skip": "skipped", "transfer": "waiting",
        "accept": {IMMEDIATE: "serving", "*": "done"},   # 承诺件: the visit ends at 受理
        "accept_finish": {IMMEDIATE: "done"},            # 即办件 accepted and finished in one step
        "correct": "done", "refuse": "done", "close_day": "unserved"}),
    "serving": State("办理中", {"finish": "done", "close_day": "done"}),
    "skipped": State("已过号", {"requeue": "waiting"}, final=True),
    "done": State("办理完毕", final=True),
    "unserved": State("未办理", final=True),     # still waiting or called when the day closed
}

# The case: 收件 → (补正 | 不予受理 | 受理) → 办结 → 出件.
CASE: dict[str, State] = {
    "correction": State("待补正", {"accept": "accepted", "refuse": "refused"}),
    "accepted": State("办理中", {"suspend": "accepted", "resume_clock": "accepted", "finish": "finished"}),
    "finished": State("已办结", {"deliver": "finished"}),
    "refused": State("不予受理", final=True),
}

OP_WORDS = {
    "call": "叫号", "recall": "重呼", "skip": "过号", "transfer": "转移", "requeue": "重新排队",
    "accept": "受理", "accept_finish": "受理并办结", "correct": "补正告知", "refuse": "不予受理",
    "finish": "办结", "deliver": "出件", "suspend": "暂停计时", "resume_clock": "恢复计时",
    "close_day": "日终关闭",
}

TICKET_WORDS = {name: st.word for name, st in TICKET.items()}
CASE_WORDS = {name: st.word for name, st in CASE.items()}


def next_state(table: Mapping[str, State], state: str, op: str, kind: str | None = None) -> str | None:
    """Where `op` takes a row in `state` (for a matter of `kind`), or None when it may not."""
    st = table.get(state)
    target = st.ops.get(op) if st else None
    if isinstance(target, Mapping):
        target = target.get(kind or "", target.get("*"))
    return target


def sources(table: Mapping[str, State], op: str) -> tuple[str, ...]:
    """The states `op` may start from (the condition a single-statement write checks)."""
    return tuple(name for name, st in table.items() if op in st.ops)


def ticket_actions(status: str, kind: str | None, *, requeued: bool = False) -> list[str]:
    """What a clerk may do with a ticket now, for the caller's buttons."""
    return [op for op in TICKET.get(status, State("")).ops
            if op != "close_day" and next_state(TICKET, status, op, kind)
            and not (op == "requeue" and requeued)]


def case_actions(status: str, *, suspended: bool = False, delivered: bool = False) -> list[str]:
    """What the case desk may do with a case now. Guards the table cannot say: one open
    suspension at a time, and one delivery."""
    ops = list(CASE.get(status, State("")).ops)
    ops = [op for op in ops if not (op == "suspend" and suspended) and not (op == "resume_clock" and not suspended)
           and not (op == "deliver" and delivered)]
    return ops


def require(table: Mapping[str, State], state: str, op: str, what: str, kind: str | None = None,
            hint: str = "", code: str = "wrong_state") -> str:
    """The next state, or a 409 (`code`) that says in words why `op` cannot happen to `what` now."""
    target = next_state(table, state, op, kind)
    if target is None:
        word = table[state].word if state in table else state
        raise conflict(code, f"{what}当前{word}，{hint or '不能' + OP_WORDS.get(op, op)}", state=state)
    return target
