"""Who staffs which window. A window is open to citizens only while a clerk is signed in on it
and it is not paused; nobody signed in means closed (未开放): the TV and the supervisor page say
so, a new slip does not name it, and it counts in no wait estimate.

A clerk signs in on their window (the caller page does it when it opens the window; calling the
next number on a closed window signs its caller in too) and signs out with 签退. The sign-in
belongs to the clerk's login: logging out closes the window at once, and a login that expires
closes it at the next sweep. So does a long idle: no operation at the window for
`window_idle_minutes` (0: never) while no citizen is at it. A sign-in without a login (the
demo's clerks at start, `sign_in_assigned`) closes only by 签退. The sweep runs with the server's
background jobs (supervision/workers.py).

Every opening and closing is one change announcing `window.opened` or `window.closed`.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, select, update

from . import schemas
from .auth import token_hash
from .changes import change
from .errors import conflict
from .models import AuthToken, Staff, StaffWindow, Ticket, Window, WindowMatter
from .runtime import Runtime

CLOSE_REASONS = {"signed_out": "签退", "logout": "退出登录", "session_expired": "登录已失效", "idle": "长时间无操作"}
DEFAULT_IDLE_MINUTES = 30

def shown_state(window: Any) -> Literal["open", "paused", "closed"]:
    """open | paused | closed, as screens show a window (the `state` column keeps only the pause)."""
    if window.signed_in_at is None:
        return "closed"
    return window.state


def is_open(window: Any) -> bool:
    return shown_state(window) == "open"


# A window open to citizens now, as SQL (shown_state's "open"): active, signed in, not paused.
OPEN = and_(Window.active.is_(True), Window.signed_in_at.is_not(None), Window.state == "open")


def open_window_ids(session, hall_id: int) -> set[int]:
    """The hall's windows open to citizens now."""
    return set(session.scalars(select(Window.id).where(Window.hall_id == hall_id, OPEN)))


def open_windows_serving(session, hall_id: int, matter_id: int) -> list[Window]:
    """The hall's windows open now that serve the matter, by number."""
    return list(session.scalars(select(Window).join(WindowMatter, WindowMatter.window_id == Window.id).where(
        Window.hall_id == hall_id, WindowMatter.matter_id == matter_id, OPEN).order_by(Window.number)))


def idle_minutes(rt: Runtime, hall_id: int) -> int:
    return getattr(rt.hall_config(hall_id), "window_idle_minutes", DEFAULT_IDLE_MINUTES)


def session_start(rt: Runtime, token: str | None) -> datetime | None:
    """When the login behind a staff token began (kept across refreshes), None for no live login."""
    if not token:
        return None
    with rt.read() as s:
        row = s.get(AuthToken, token_hash(token))
        return None if row is None or row.revoked else row.created_at


def _brief(window) -> schemas.WindowState:
    from .shapes import window_state
    return window_state(window)


def sign_in(rt: Runtime, hall_id: int, window_id: int, *, staff_id: int | None,
            session_started: datetime | None, actor: str = "") -> dict[str, Any]:
    """The clerk is at the window: it opens (unless paused). Again while signed in: the idle
    clock starts over, and another clerk signing in takes the window over (a shift change)."""
    from .windows import lock_window   # windows.py asks this module who is open
    with change(rt, hall_id, actor) as ch:
        conn = ch.session.connection()
        window = lock_window(ch, window_id)
        was_open = window.signed_in_at is not None
        same = was_open and window.staff_id == staff_id and window.session_started == session_started
        values = {"active_at": ch.now, "staff_id": staff_id, "session_started": session_started}
        if not same:
            values["signed_in_at"] = ch.now
        window = conn.execute(update(Window).where(Window.id == window.id).values(**values)
                              .returning(*Window.__table__.c)).one()
        if not same:
            ch.emit("window.opened", window_id=window.id, window=_brief(window), staff_id=staff_id)
        return _brief(window) | {"signed_in_at": window.signed_in_at.isoformat(timespec="seconds")}


def sign_out(rt: Runtime, hall_id: int, window_id: int, *, reason: str = "signed_out", actor: str = "",
             force: bool = False) -> schemas.WindowState:
    """The window closes. 签退 waits for the citizen at the window to be dealt with; a logout or
    an expired login closes it anyway (`force`), leaving the ticket as it is for the next clerk."""
    from .windows import lock_window
    with change(rt, hall_id, actor) as ch:
        conn = ch.session.connection()
        window = lock_window(ch, window_id)
        if window.signed_in_at is None:
            if force:
                return _brief(window)
            raise conflict("window_closed", f"{window.number}号窗口未签到")
        if not force and window.current_ticket_id is not None:
            current = conn.execute(select(Ticket.number, Ticket.status)
                                   .where(Ticket.id == window.current_ticket_id)).first()
            if current is not None and current.status in ("called", "serving"):
                raise conflict("window_busy", f"{current.number}号尚未处理完，请先处理再签退",
                               ticket_number=current.number)
        window = conn.execute(update(Window).where(Window.id == window.id)
                              .values(signed_in_at=None, session_started=None)
                              .returning(*Window.__table__.c)).one()
        ch.emit("window.closed", window_id=window.id, window=_brief(window), reason=reason,
                reason_text=CLOSE_REASONS.get(reason, reason))
        return _brief(window)


def sign_in_assigned(rt: Runtime, hall_id: int, actor: str = "system:staffing") -> list[int]:
    """Sign every active window's assigned clerk in on it, without a login (`hall demo` at start,
    the tests' hall): such a sign-in is not closed by an idle spell, only by 签退. The window ids."""
    with rt.read() as s:
        rows = s.execute(select(Window.id, func.min(Staff.id))
                         .join(StaffWindow, StaffWindow.window_id == Window.id)
                         .join(Staff, Staff.id == StaffWindow.staff_id)
                         .where(Window.hall_id == hall_id, Window.active.is_(True), Staff.active.is_(True),
                                Staff.role == "clerk", Window.signed_in_at.is_(None))
                         .group_by(Window.id).order_by(Window.id)).all()
    for window_id, staff_id in rows:
        sign_in(rt, hall_id, window_id, staff_id=staff_id, session_started=None, actor=actor)
    return [window_id for window_id, _ in rows]


def logged_out(rt: Runtime, staff_id: int, session_started: datetime) -> None:
    """A clerk logged out: the windows that login signed in on close now."""
    with rt.read() as s:
        rows = s.execute(select(Window.id, Window.hall_id).where(
            Window.staff_id == staff_id, Window.session_started == session_started,
            Window.signed_in_at.is_not(None))).all()
    for window_id, hall_id in rows:
        sign_out(rt, hall_id, window_id, reason="logout", actor="system:staffing", force=True)


def sweep(rt: Runtime) -> int:
    """Close the windows whose login has ended or that have stood idle too long; how many closed."""
    now = rt.clock.now()
    closing: list[tuple[int, int, str]] = []
    with rt.read() as s:
        signed = s.execute(select(Window.id, Window.hall_id, Window.staff_id, Window.session_started,
                                  Window.active_at, Window.current_ticket_id)
                           .where(Window.active.is_(True), Window.signed_in_at.is_not(None))).all()
        busy = set(s.scalars(select(Ticket.id).where(
            Ticket.id.in_([w.current_ticket_id for w in signed if w.current_ticket_id]),
            Ticket.status.in_(("called", "serving"))))) if signed else set()
        for w in signed:
            if w.session_started is not None and w.staff_id is not None:
                live = s.scalar(select(AuthToken.token_sha256).where(and_(
                    AuthToken.staff_id == w.staff_id, AuthToken.created_at == w.session_started,
                    AuthToken.revoked.is_(False), AuthToken.expires_at > now)).limit(1))
                if live is None:
                    closing.append((w.hall_id, w.id, "session_expired"))
                    continue
            if w.session_started is None:
                continue   # signed in without a login (the demo's clerks): closes only by 签退
            limit = idle_minutes(rt, w.hall_id) if w.hall_id in rt.halls else DEFAULT_IDLE_MINUTES
            if limit and w.current_ticket_id not in busy and w.active_at is not None \
                    and now - w.active_at >= timedelta(minutes=limit):
                closing.append((w.hall_id, w.id, "idle"))
    for hall_id, window_id, reason in closing:
        sign_out(rt, hall_id, window_id, reason=reason, actor="system:staffing", force=True)
    return len(closing)
