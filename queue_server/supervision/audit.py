"""The audit trail: who did what, when, from where — kept append-only.

Every API request that changes something (any method but GET/HEAD/OPTIONS) and every read a view
marks as worth recording (exports, personal data) gets a row after its response is ready: the
principal, the endpoint, the path, the HTTP status and the client address. Failed attempts are
kept too (a refused login is worth knowing). Request bodies are not stored: they carry
passwords, ID and phone numbers. Together with the numbered events (which record the actor of
every state change) this is the trail supervisors read.

Append-only: the app never updates or deletes audit rows. `guard_engine` makes that a rule of the
process (any UPDATE or DELETE on the table through SQLAlchemy raises), the migration adds triggers
refusing it in the database, and a test scans the code for any statement that could.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from flask import current_app, g, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ..runtime import Runtime
from .models import AuditEntry

log = logging.getLogger("hall.audit")

TABLE = AuditEntry.__tablename__
_FORBIDDEN = re.compile(rf"^\s*(UPDATE\s+\"?{TABLE}\"?|DELETE\s+FROM\s+\"?{TABLE}\"?)\b", re.I)
_QUIET = {"GET", "HEAD", "OPTIONS"}


class AppendOnly(RuntimeError):
    pass


def guard_engine(engine: Engine) -> None:
    """Refuse any UPDATE or DELETE of audit rows issued through this engine."""
    if getattr(engine, "_audit_guarded", False):
        return

    @event.listens_for(engine, "before_cursor_execute", retval=False)
    def _refuse(conn, cursor, statement, parameters, context, executemany):
        if _FORBIDDEN.match(statement):
            raise AppendOnly(f"{TABLE} is append-only: {statement.split()[0]} refused")

    engine._audit_guarded = True


def record(rt: Runtime, *, hall_id: int | None, actor: str, action: str, target: str = "",
           status: int = 0, origin: str = "", detail: dict[str, Any] | None = None, note: str = "",
           at: datetime | None = None) -> None:
    with rt.writing() as s:
        s.add(AuditEntry(hall_id=hall_id, at=at or rt.clock.now(), actor=actor[:100], action=action[:80],
                         target=target[:300], status=status, origin=origin[:64], detail=detail or {},
                         note=note[:2000]))
        s.commit()


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


def after_request(response):
    """Flask hook: one row per changing request (and marked reads) under /api/."""
    marked = g.get("audit")
    if not request.path.startswith("/api/") or (request.method in _QUIET and not marked):
        return response
    try:
        rt = current_app.extensions["hall"]
        principal = g.get("principal")
        actor = principal.actor if principal is not None else ""
        if not actor and request.endpoint == "api.login":
            body = request.get_json(silent=True) or {}
            name = body.get("username") if isinstance(body, dict) else None
            actor = f"staff:{name}" if isinstance(name, str) else ""
        detail = {"method": request.method, **({k: v for k, v in (request.view_args or {}).items()})}
        if request.query_string:
            detail["query"] = request.query_string.decode(errors="replace")[:300]
        if marked:
            detail.update(marked.get("detail") or {})
        record(rt, hall_id=_hall_of(rt, principal), actor=actor or "anonymous",
               action=(marked or {}).get("action") or request.endpoint or request.path,
               target=request.path, status=response.status_code,
               origin=request.remote_addr or "", detail=detail)
    except Exception:  # noqa: BLE001 - the operation is done; a lost audit row is logged loudly
        log.exception("audit row not written for %s %s", request.method, request.path)
    return response
