"""The audit trail: who did what, when, from where — kept append-only.

Every API request that changes something (any method but GET/HEAD/OPTIONS) and every read a view
marks as worth recording (exports, personal data) gets a row after its response is ready: the
principal, the endpoint, the path, the HTTP status and the client address. Failed attempts are
kept too (a refused login is worth knowing). Request bodies are not stored: they carry
passwords, ID and phone numbers. Together with the numbered events (which record the actor of
every state change) this is the trail supervisors read.

Rows are written in batches by `AuditWriter` (one small transaction per ~0.2 s instead of a second
write transaction per request, which halved the hall's write throughput on SQLite). The reader
flushes first, so the trail it shows is complete; a kill -9 can lose at most the last batch, and
every state change is also an event stored in its own transaction. While the database is down the
rows wait in memory (up to a cap) and are written when it is back.

Append-only: the app never updates or deletes audit rows. `guard_engine` makes that a rule of the
process (any UPDATE or DELETE on the table through SQLAlchemy raises), the migration adds triggers
refusing it in the database, and a test scans the code for any statement that could.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import traceback
import weakref
from datetime import datetime
from typing import Any

from flask import current_app, g, request
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from ..runtime import Runtime
from .models import AuditEntry

log = logging.getLogger("hall.audit")

TABLE = AuditEntry.__tablename__
_FORBIDDEN = re.compile(rf"^\s*(UPDATE\s+\"?{TABLE}\"?|DELETE\s+FROM\s+\"?{TABLE}\"?)\b", re.I)
_QUIET = {"GET", "HEAD", "OPTIONS"}


class AppendOnly(RuntimeError):
    pass


_guarded: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def guard_engine(engine: Engine) -> None:
    """Refuse any UPDATE or DELETE of audit rows issued through this engine."""
    if engine in _guarded:
        return

    @event.listens_for(engine, "before_cursor_execute", retval=False)
    def _refuse(conn, cursor, statement, parameters, context, executemany):
        if _FORBIDDEN.match(statement):
            raise AppendOnly(f"{TABLE} is append-only: {statement.split()[0]} refused")

    _guarded.add(engine)


def record(rt: Runtime, *, hall_id: int | None, actor: str, action: str, target: str = "",
           status: int = 0, origin: str = "", detail: dict[str, Any] | None = None, note: str = "",
           at: datetime | None = None) -> None:
    writer(rt).add(_row(hall_id, at or rt.clock.now(), actor, action, target, status, origin, detail, note))


def record_in(s: Session, *, hall_id: int | None, at: datetime, actor: str, action: str, target: str = "",
              detail: dict[str, Any] | None = None, note: str = "") -> None:
    """A row written in the caller's transaction, for changes the server makes on its own (no
    request to hang them on): the record stands or falls with the change it records."""
    s.add(AuditEntry(**_row(hall_id, at, actor, action, target, 0, "", detail, note)))


def _row(hall_id, at, actor, action, target, status, origin, detail, note) -> dict[str, Any]:
    return {"hall_id": hall_id, "at": at, "actor": _text(actor)[:100], "action": _text(action)[:80],
            "target": _text(target)[:300], "status": status, "origin": _text(origin)[:64],
            "detail": _clean(detail or {}), "note": _text(note)[:2000]}


def _text(value: str) -> str:
    """Whatever a client sent (a path, a query, a user name) as text every database stores:
    PostgreSQL refuses NUL in text and JSON, and one refused row must not cost the batch."""
    return value.replace("\x00", "\ufffd")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def flush(rt: Runtime) -> None:
    """Write every queued row now (the trail's readers call this first)."""
    writer(rt).flush()


def writer(rt: Runtime) -> "AuditWriter":
    found = getattr(rt, "audit_writer", None)
    if found is None:
        with _WRITERS_GUARD:
            found = getattr(rt, "audit_writer", None)
            if found is None:
                found = rt.audit_writer = AuditWriter(rt)
    return found


_WRITERS_GUARD = threading.Lock()


class AuditWriter:
    """Queues audit rows and writes them in one transaction per batch from a background thread.

    The thread starts with the first row and ends after `idle` seconds without any, so an app
    that is gone (a test's, a stopped server's) leaves no thread behind. It holds the runtime
    weakly: rows still queued when their app is dropped (a stopped server flushes first) are
    given up with a line in the log instead of being retried against a database that is gone."""

    def __init__(self, rt: Runtime, delay: float = 0.2, idle: float = 5.0, cap: int = 100_000):
        self._rt = weakref.ref(rt)
        self.delay, self.idle, self.cap = delay, idle, cap
        self.pending: list[dict[str, Any]] = []
        self.lock = threading.Lock()         # guards `pending` and `thread`
        self.writing = threading.Lock()      # one batch at a time, in order
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, row: dict[str, Any]) -> None:
        with self.lock:
            if len(self.pending) >= self.cap:
                log.error("audit queue full (%d rows): dropping the oldest row", self.cap)
                self.pending.pop(0)
            self.pending.append(row)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self.thread.start()

    def flush(self) -> None:
        with self.writing:
            with self.lock:
                batch, self.pending = self.pending, []
            if batch:
                try:
                    self._write(batch)
                except Exception:
                    with self.lock:
                        self.pending[:0] = batch
                    raise

    def _write(self, batch: list[dict[str, Any]]) -> None:
        try:
            self._insert(batch)
        except (DataError, IntegrityError):
            # A row the database refuses (not a database that is down): write the others one by
            # one and drop only what is refused, loudly, rather than retry the batch for ever.
            for row in batch:
                try:
                    self._insert([row])
                except (DataError, IntegrityError):
                    log.error("audit row refused by the database, dropped: %s %s %s",
                              row.get("actor"), row.get("action"), row.get("target"), exc_info=True)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        rt = self._rt()
        if rt is None:
            raise _AppGone
        with rt.writing() as s:
            s.execute(insert(AuditEntry), rows)
            s.commit()

    def _run(self) -> None:
        quiet, failing_since, told = 0.0, None, 0.0
        while True:
            self.wake.wait(self.delay)
            with self.lock:
                if self.pending and self._rt() is None:
                    log.warning("audit writer: its server is gone; %d queued rows given up", len(self.pending))
                    self.pending, self.thread = [], None
                    return
                if not self.pending:
                    quiet += self.delay
                    if quiet >= self.idle:
                        self.thread = None
                        return
                    continue
            quiet = 0.0
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - the database is down: the rows wait, retried next round
                now = time.monotonic()
                if failing_since is None:   # the first failure with its traceback, then a line a minute
                    failing_since = told = now
                    log.warning("audit rows kept in memory: the database did not take them", exc_info=True)
                elif now - told >= 60:
                    told = now
                    log.warning("audit rows still in memory (%d) after %.0f s: %s", len(self.pending),
                                now - failing_since, type(exc).__name__)
                traceback.clear_frames(exc.__traceback__)   # a kept log record must not keep the runtime
                self.wake.wait(1.0)
            else:
                if failing_since is not None:
                    log.warning("audit rows written again after %.0f s", time.monotonic() - failing_since)
                failing_since = None


class _AppGone(Exception):
    """The writer's runtime has been dropped."""


def mark(action: str, **detail: Any) -> None:
    """Called by a read view that must be audited (exports, drill-downs with personal data)."""
    g.audit = {"action": action, "detail": detail}


def _hall_of(rt: Runtime, principal) -> int | None:
    if principal is not None:
        return principal.hall_id
    code = request.args.get("hall")
    if code and code in rt.hall_codes:
        return rt.hall_codes[code]
    return next(iter(rt.hall_codes.values())) if len(rt.hall_codes) == 1 else None


def _login_hall(rt: Runtime, body: Any) -> int | None:
    """The hall a login (refused or not) belongs to: the one it names, else the one hall that has
    the user name. Only an unknown name stays with no hall (the deployment's admins see those)."""
    if not isinstance(body, dict):
        return None
    code = body.get("hall")
    if isinstance(code, str) and code in rt.hall_codes:
        return rt.hall_codes[code]
    name = body.get("username")
    if not isinstance(name, str) or not name:
        return None
    from ..models import Staff
    with rt.lookup() as s:
        halls = set(s.scalars(select(Staff.hall_id).where(Staff.username == name[:64])))
    return halls.pop() if len(halls) == 1 else None


def after_request(response):
    """Flask hook: one row per changing request (and marked reads) under /api/."""
    marked = g.get("audit")
    if not request.path.startswith("/api/") or (request.method in _QUIET and not marked):
        return response
    try:
        rt = current_app.extensions["hall"]
        principal = g.get("principal")
        actor = principal.actor if principal is not None else ""
        hall_id = _hall_of(rt, principal)
        if not actor and request.endpoint == "api.login":
            body = g.get("json_body") or {}   # as api.common.json_body read it (none if refused)
            name = body.get("username") if isinstance(body, dict) else None
            actor = f"staff:{name}" if isinstance(name, str) else ""
            hall_id = _login_hall(rt, body) or hall_id
        detail = {"method": request.method, **({k: v for k, v in (request.view_args or {}).items()})}
        if request.query_string:
            detail["query"] = request.query_string.decode(errors="replace")[:300]
        if marked:
            detail.update(marked.get("detail") or {})
        record(rt, hall_id=hall_id, actor=actor or "anonymous",
               action=(marked or {}).get("action") or request.endpoint or request.path,
               target=request.path, status=response.status_code,
               origin=request.remote_addr or "", detail=detail)
    except Exception:  # noqa: BLE001 - the operation is done; a lost audit row is logged loudly
        log.exception("audit row not written for %s %s", request.method, request.path)
    return response
