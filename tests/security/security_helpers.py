"""Shared by the security tests: the served description, the database invariants, the error shape."""
from __future__ import annotations

import logging
import re

from sqlalchemy import text

# The route module registers GET /api/v1/openapi.json on the `api` blueprint. It must be imported
# before any app registers the blueprint (Flask refuses routes added afterwards); test modules
# import this file at collection time, before any test makes an app. Once the route module is in
# `queue_server/api/__init__.py`'s import list this line is a no-op.
import queue_server.api.openapi_route  # noqa: F401,E402

CJK = re.compile(r"[\u4e00-\u9fff]")


def error_problem(response) -> str | None:
    """Why a 4xx answer does not have the documented error shape (None: it has)."""
    try:
        body = response.get_json(silent=True)
    except Exception:  # noqa: BLE001
        body = None
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return f"not an error body: {response.get_data(as_text=True)[:300]!r}"
    err = body["error"]
    if not isinstance(err.get("code"), str) or not err["code"]:
        return f"no code: {body}"
    if not isinstance(err.get("message"), str) or not CJK.search(err["message"]):
        return f"no Chinese message: {body}"
    return None


def invariant_problems(app) -> list[str]:
    """Everything wrong with the hall's stored state (an empty list: nothing)."""
    rt = app.extensions["hall"]
    problems: list[str] = []
    with rt.engine.connect() as conn:
        def rows(sql: str):
            return conn.execute(text(sql)).all()

        for r in rows("SELECT hall_id, day, number, COUNT(*) FROM tickets GROUP BY hall_id, day, number "
                      "HAVING COUNT(*) > 1"):
            problems.append(f"ticket number {r[2]} given {r[3]} times in hall {r[0]} on {r[1]}")
        for r in rows("SELECT w.id, w.current_ticket_id, t.status, t.window_id FROM windows w "
                      "LEFT JOIN tickets t ON t.id = w.current_ticket_id WHERE w.current_ticket_id IS NOT NULL"):
            if r[2] not in ("called", "serving") or r[3] != r[0]:
                problems.append(f"window {r[0]} shows ticket {r[1]} which is {r[2]} at window {r[3]}")
        for r in rows("SELECT t.id, t.status, t.window_id FROM tickets t WHERE t.status IN ('called', 'serving') "
                      "AND NOT EXISTS (SELECT 1 FROM windows w WHERE w.current_ticket_id = t.id)"):
            problems.append(f"ticket {r[0]} is {r[1]} at window {r[2]} but no window shows it")
        for r in rows("SELECT current_ticket_id, COUNT(*) FROM windows WHERE current_ticket_id IS NOT NULL "
                      "GROUP BY current_ticket_id HAVING COUNT(*) > 1"):
            problems.append(f"ticket {r[0]} is current at {r[1]} windows")
        for r in rows("SELECT h.id, h.event_seq, COUNT(e.id), COUNT(DISTINCT e.seq), MIN(e.seq), MAX(e.seq) "
                      "FROM halls h LEFT JOIN events e ON e.hall_id = h.id GROUP BY h.id, h.event_seq"):
            hall, last, n, distinct, lo, hi = r
            if not (n == distinct == last and (last == 0 or (lo == 1 and hi == last))):
                problems.append(f"hall {hall}: event_seq {last} but {n} events, {distinct} distinct seq, "
                                f"from {lo} to {hi}")
        for r in rows("SELECT c.id, c.status, t.id, t.status FROM cases c JOIN tickets t ON t.id = c.ticket_id"):
            case_id, case_status, ticket_id, ticket_status = r
            if ticket_status not in ("serving", "done"):
                problems.append(f"case {case_id}'s ticket {ticket_id} is {ticket_status}")
            elif (case_status, ticket_status) not in (("accepted", "serving"), ("finished", "done")):
                problems.append(f"case {case_id} is {case_status} but its ticket {ticket_id} is {ticket_status}")
        for r in rows("SELECT t.id FROM tickets t JOIN cases c ON c.ticket_id = t.id WHERE t.status = 'waiting'"):
            problems.append(f"ticket {r[0]} is waiting and has a case")
        for r in rows("SELECT COUNT(*) FROM cases c LEFT JOIN tickets t ON t.id = c.ticket_id WHERE t.id IS NULL"):
            if r[0]:
                problems.append(f"{r[0]} cases without their ticket")
    return problems


class Collect(logging.Handler):
    """Keeps the tracebacks the app logs for unexpected errors (its 500 handler logs them)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> str:
        fmt = logging.Formatter()
        return "\n".join(fmt.format(r) for r in self.records)
