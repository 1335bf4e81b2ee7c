"""The audit trail: every operation is kept (who, what, when, from where) and is append-only —
the process refuses any UPDATE/DELETE of it, so do the database triggers, and no code path in the
application issues one."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import delete, event, select, text, update

from queue_server.supervision.audit import AppendOnly, flush
from queue_server.supervision.models import AuditEntry

from ratings.helpers import RATER, rate, serve

ROOT = Path(__file__).resolve().parents[2] / "queue_server"


def entries(hall, query: str = "") -> list[dict]:
    r = hall.c.get(f"/api/v1/supervision/audit?from=2026-03-10&to=2026-03-10{query}", headers=hall.headers("supervisor"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["entries"]


def test_operations_are_recorded_with_who_what_when_where(hall, clock):
    bad_login = hall.c.post("/api/v1/auth/login", json={"username": "clerk01", "password": "wrong-one"},
                            environ_base={"REMOTE_ADDR": "10.8.0.7"})
    assert bad_login.status_code == 401
    served = serve(hall, clock, code="XK00102001")   # a 即办件, finished at the window
    rate(hall, {"case_id": served["case"]["id"], "level": 5, "channel": "device"}, RATER)
    hall.c.get("/api/v1/supervision/export.csv", headers=hall.headers("supervisor"),
               environ_base={"REMOTE_ADDR": "10.8.0.9"})
    rows = entries(hall)
    by_action = {}
    for row in rows:
        by_action.setdefault(row["action"], []).append(row)
    failed = [r for r in by_action["api.login"] if r["status"] == 401]
    assert failed and failed[0]["actor"] == "staff:clerk01" and failed[0]["origin"] == "10.8.0.7"
    assert [r["actor"] for r in by_action["api.call_next"]] == ["staff:clerk01"]
    assert by_action["api.finish"][0]["target"] == f"/api/v1/windows/{hall.windows[1]['id']}/finish"
    assert by_action["api.rate"][0]["actor"] == "device:1号窗口评价器" and by_action["api.rate"][0]["status"] == 201
    export = by_action["supervision.export"][0]
    assert export["origin"] == "10.8.0.9" and export["detail"]["format"] == "csv" and export["actor"] == "staff:supervisor"
    # No password or phone number is ever written into the trail.
    assert "wrong-one" not in str(rows)
    # State changes are there as events too, with their actor, and the origin when known.
    events = [r for r in entries(hall, "&events=1") if r["kind"] == "event"]
    assert {"ticket.issued", "case.finished", "rating.received"} <= {e["action"] for e in events}
    assert next(e for e in events if e["action"] == "rating.received")["origin"] == "127.0.0.1"


def test_rows_queued_while_the_database_is_down_are_written_when_it_is_back(hall, app, monkeypatch):
    """The batch writer keeps rows it could not write and writes them, in order, later."""
    from queue_server.supervision.audit import writer
    rt = app.extensions["hall"]
    w = writer(rt)
    flush(rt)
    real = w._write
    down = {"on": True}

    def write(batch):
        if down["on"]:
            raise RuntimeError("database unavailable")
        real(batch)
    monkeypatch.setattr(w, "_write", write)
    for name in ("first", "second"):
        hall.c.post("/api/v1/auth/login", json={"username": name, "password": "x" * 8})
    with pytest.raises(RuntimeError):
        w.flush()
    assert [r["actor"] for r in w.pending] == ["staff:first", "staff:second"]
    down["on"] = False
    with rt.read() as s:
        before = s.scalar(text("SELECT count(*) FROM audit_entries"))
    flush(rt)
    with rt.read() as s:
        actors = s.scalars(select(AuditEntry.actor).order_by(AuditEntry.id.desc()).limit(2)).all()
        assert s.scalar(text("SELECT count(*) FROM audit_entries")) == before + 2
    assert actors == ["staff:second", "staff:first"]


def test_audit_is_for_supervisors(hall):
    assert hall.c.get("/api/v1/supervision/audit", headers=hall.headers("clerk01")).status_code == 403


def test_the_process_refuses_to_change_audit_rows(hall, app):
    rt = app.extensions["hall"]
    hall.c.post("/api/v1/auth/login", json={"username": "nobody", "password": "x" * 8})
    flush(rt)
    with rt.writing() as s:
        row = s.scalars(select(AuditEntry)).first()
        assert row is not None
        row.actor = "someone else"
        with pytest.raises(AppendOnly):
            s.flush()
        s.rollback()
    for statement in (update(AuditEntry).values(actor="x"), delete(AuditEntry),
                      text("UPDATE audit_entries SET actor = 'x'"), text("delete from audit_entries")):
        with rt.writing() as s, pytest.raises(AppendOnly):
            s.execute(statement)
    with rt.writing() as s:
        s.delete(s.scalars(select(AuditEntry)).first())
        with pytest.raises(AppendOnly):
            s.flush()


def test_the_database_refuses_too(hall, db_url, app):
    hall.c.post("/api/v1/auth/login", json={"username": "nobody", "password": "x" * 8})
    flush(app.extensions["hall"])
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    try:
        for statement in ("UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0] >= 1
    finally:
        conn.close()


def test_no_code_path_updates_or_deletes_audit_rows(hall, clock, app):
    """Run every kind of operation with a listener on the engine: not one UPDATE or DELETE of
    audit_entries is attempted (the guard would raise; this proves nobody even tries)."""
    rt = app.extensions["hall"]
    seen: list[str] = []
    event.listen(rt.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    served = serve(hall, clock, phone="13812345678")
    r = rate(hall, {"level": 1, "channel": "web", "query_code": served["ticket"]["query_code"]}).get_json()["rating"]
    sup = hall.headers("supervisor")
    hall.c.post(f"/api/v1/follow-ups/{r['follow_up_id']}/verify", json={"note": "核实"}, headers=sup)
    appeal = hall.c.post(f"/api/v1/ratings/{r['id']}/appeal", json={"reason": "误评"}, headers=hall.headers("clerk01")).get_json()
    hall.c.post(f"/api/v1/appeals/{appeal['appeal']['id']}/decide", json={"decision": "rejected", "note": "维持"}, headers=sup)
    bid = hall.c.post("/api/v1/slips/batches", headers=sup).get_json()["batch"]["id"]
    hall.c.post(f"/api/v1/slips/batches/{bid}/scan", json={"code": str(served["ticket"]["id"]), "level": 4}, headers=sup)
    hall.c.post(f"/api/v1/slips/batches/{bid}/close", headers=sup)
    for path in ("/api/v1/supervision/stats", "/api/v1/supervision/export.xlsx", "/api/v1/supervision/report?format=html",
                 "/api/v1/supervision/audit?events=1", "/api/v1/sms/outbox", "/api/v1/supervision/live"):
        assert hall.c.get(path, headers=sup).status_code == 200, path
    flush(rt)
    assert any("INSERT INTO audit_entries" in q for q in seen)
    touching = [q for q in seen if re.search(r"\b(UPDATE|DELETE)\b", q, re.I) and "audit_entries" in q]
    assert touching == []


def test_the_source_has_no_statement_that_changes_audit_rows():
    """Static check over the application code: the audit model is only inserted and selected."""
    mentions = {}
    for path in ROOT.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if "AuditEntry" in source or "audit_entries" in source:
            mentions[path.relative_to(ROOT).as_posix()] = source
    assert set(mentions) == {"supervision/models.py", "supervision/audit.py", "api/supervision.py",
                             "migrations/versions/0004_ratings_supervision.py"}
    for name, source in mentions.items():
        for pattern in (r"update\(\s*AuditEntry", r"delete\(\s*AuditEntry", r"\.delete\(", r"bulk_update",
                        r"synchronize_session", r"AuditEntry\.\w+\s*=[^=]"):
            assert not re.search(pattern, source), (name, pattern)
        # Raw SQL naming the table may only create it, guard it or drop it with the migration.
        for line in source.splitlines():
            if "audit_entries" in line and re.search(r"\b(UPDATE|DELETE)\b", line):
                assert ("TRIGGER" in line or "RAISE" in line or "_FORBIDDEN" in line or "BEFORE UPDATE" in line
                        or "FOR EACH ROW" in line), (name, line)


def test_a_writer_whose_server_is_gone_gives_up_its_rows(caplog):
    """A test's or a dropped app's writer must not retry a database that is gone for ever."""
    import gc
    import time as clock

    from queue_server.supervision.audit import AuditWriter

    class Away:
        """A runtime whose database does not answer."""
        def writing(self):
            raise RuntimeError("database unavailable")

    rt = Away()
    w = AuditWriter(rt, delay=0.05, idle=0.2)
    w.add({"actor": "staff:first"})
    clock.sleep(0.3)
    assert [r["actor"] for r in w.pending] == ["staff:first"] and w.thread is not None  # kept while it lives
    del rt
    gc.collect()
    deadline = clock.monotonic() + 5
    while w.thread is not None and clock.monotonic() < deadline:
        clock.sleep(0.05)
    assert w.thread is None and w.pending == []
    assert "1 queued rows given up" in caplog.text
