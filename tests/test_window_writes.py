"""A window operation writes each row it changes once, in the statement that checks it.

Call-next and skip run all day at every window; each was a read of the window, a read of the
ticket, the ORM writing both back and the window's event number as a statement of its own.
Now the lock takes the number, the claim or the state check is the ticket's UPDATE, and nothing
is read back (PostgreSQL call-next 3.6 -> 2.3 CPU ms in-process, bench/README.md)."""
from __future__ import annotations

import re

from sqlalchemy import event, select

from queue_server.models import Event, Window


def _statements(app, action):
    seen: list[str] = []

    def record(conn, cursor, statement, *rest):
        seen.append(" ".join(statement.split()))

    engine = app.extensions["hall"].engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), seen


def _count(statements, pattern):
    return sum(1 for s in statements if re.match(pattern, s))


def test_call_next_and_skip_write_the_window_and_ticket_once_each(app, hall):
    for _ in range(2):
        assert hall.issue("XK00101001").status_code == 201
    hall.token("clerk01")   # the login is not part of the counted work

    called, sql = _statements(app, lambda: hall.op(1, "call-next"))
    assert _count(sql, r"UPDATE windows SET event_seq") == 1       # locked and numbered at once
    assert _count(sql, r"UPDATE windows SET current_ticket_id") == 1
    assert _count(sql, r"UPDATE tickets SET status") == 1          # chosen and claimed at once
    assert _count(sql, r"SELECT .* FROM (windows|tickets) WHERE (windows|tickets)\.id = ") == 0, sql

    skipped, sql = _statements(app, lambda: hall.op(1, "skip"))
    assert _count(sql, r"UPDATE windows SET event_seq") == 1
    assert _count(sql, r"UPDATE tickets SET") == 1                 # the state check is the write
    assert _count(sql, r"SELECT .* FROM (windows|tickets) WHERE (windows|tickets)\.id = ") == 0, sql

    assert skipped["ticket"]["id"] == called["ticket"]["id"] and skipped["ticket"]["status"] == "skipped"
    with app.extensions["hall"].write() as s:
        window = s.scalar(select(Window).where(Window.id == hall.windows[1]["id"]))
        assert window.current_ticket_id is None
        assert window.event_seq == 3   # one number per event (window.opened first), taken by the lock


def test_a_refused_operation_takes_no_window_number(app, hall):
    """The lock numbers the window before the checks; a refusal rolls the number back with the
    rest, so a window device never sees a gap for an event that did not happen."""
    assert hall.issue("XK00102001").status_code == 201   # a 即办件: accepted and finished at the window
    for action in ("call-next", "recall", "accept", "finish", "pause", "resume"):
        assert hall.op(1, action).status_code == 200, action
    for action, code in (("skip", "no_current_ticket"), ("resume", "wrong_state"), ("call-next", "queue_empty")):
        refused = hall.op(1, action)
        assert refused.status_code in (404, 409) and refused.get_json()["error"]["code"] == code
    with app.extensions["hall"].write() as s:
        rows = s.execute(select(Event.type, Event.seq).where(Event.window_id == hall.windows[1]["id"])
                         .order_by(Event.seq)).all()
        window = s.get(Window, hall.windows[1]["id"])
        assert [t for t, _ in rows] == ["window.opened", "ticket.called", "ticket.recalled", "case.accepted",
                                        "case.finished", "window.paused", "window.resumed"]
        assert window.event_seq == 7 and window.state == "open" and window.current_ticket_id is None


def test_only_changes_to_who_waits_carry_the_waiting_counts(app, hall):
    """A skip, recall, accept or finish changes no count: its event leaves them as the last one
    said, and that is still the queue's truth."""
    events = []
    app.extensions["hall"].subscribers.append(lambda hall_id, e: events.append(e))
    for _ in range(3):
        assert hall.issue("XK00102001").status_code == 201
    for action in ("call-next", "skip", "call-next", "recall", "accept", "finish", "pause", "resume"):
        assert hall.op(1, action).status_code == 200, action
    carried = [(e["type"], e["waiting"]["total"]) for e in events if "waiting" in e]
    assert carried == [("ticket.issued", 1), ("ticket.issued", 2), ("ticket.issued", 3),
                       ("ticket.called", 2), ("ticket.called", 1)]
    assert [e["type"] for e in events if "waiting" not in e] == [
        "ticket.skipped", "ticket.recalled", "case.accepted", "case.finished", "window.paused", "window.resumed"]
    last = [e["waiting"] for e in events if "waiting" in e][-1]
    assert hall.queue()["waiting"] == last   # the last counts sent are still the queue's
