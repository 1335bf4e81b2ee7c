"""Who is asking: staff (clerk, supervisor, admin) by login token, devices by their configured token.

Tokens are random and only their SHA-256 is stored. Password hashes: passwords.py (Argon2id).
A staff token lives SESSION_HOURS; the pages trade it for a new one (`refresh`) while someone
works, so a clerk is never logged out mid-call and an unattended page still expires. A chain of
refreshes reaches back to one password login at most MAX_LOGIN_HOURS, so a stolen token cannot
be kept alive for ever.
"""
from __future__ import annotations


import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from sqlalchemy import select

from . import passwords
from .errors import forbidden, unauthorized, HallError
from .models import AuthToken, Device, Hall, Staff, StaffWindow, Window
from .runtime import Runtime

SESSION_HOURS = 12
MAX_LOGIN_HOURS = 24
# Who a token is, remembered this long: saves a query on every request; a revoked device or a
# logged-out session elsewhere stops working within this time (at once in this process).
PRINCIPAL_TTL = 2.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    kind: str            # "staff" | "device"
    role: str            # clerk | supervisor | admin | kiosk | display | led | rater
    hall_id: int
    name: str
    staff_id: int | None = None
    device_id: int | None = None
    window_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"


def authenticate(rt: Runtime, token: str | None) -> Principal | None:
    if not token or len(token) > 512:
        return None
    digest = token_hash(token)
    now = time.monotonic()
    cached = rt.principals.get(digest)
    if cached is not None and cached[1] > now and (cached[2] is None or cached[2] > rt.clock.now()):
        return cached[0]
    principal, expires = _lookup_paired(rt, digest) if token.startswith("dp_") else _lookup(rt, digest)
    if principal is not None:
        if len(rt.principals) > 10_000:
            rt.principals.clear()
        rt.principals[digest] = (principal, now + PRINCIPAL_TTL, expires)
    return principal


DEVICE = select(Device.id, Device.kind, Device.hall_id, Device.name, Device.window_id, Device.revoked)
_LOGIN = (select(AuthToken.expires_at, AuthToken.revoked, Staff.id, Staff.role, Staff.hall_id, Staff.username,
                 Staff.active, StaffWindow.window_id)
          .join(Staff, Staff.id == AuthToken.staff_id)
          .outerjoin(StaffWindow, StaffWindow.staff_id == Staff.id))


def _lookup(rt: Runtime, digest: str) -> tuple[Principal | None, object]:
    """(principal, login expiry or None for devices). One statement per kind of token, outside a
    transaction: a clerk's token is checked on each request, most of them after the cache's
    few seconds have passed."""
    with rt.lookup() as s:
        device = s.execute(DEVICE.where(Device.token_sha256 == digest)).first()
        if device is not None:
            return _device_principal(device), None
        rows = s.execute(_LOGIN.where(AuthToken.token_sha256 == digest)).all()
    if not rows:
        return None, None
    expires_at, revoked, staff_id, role, hall_id, username, active, _ = rows[0]
    if revoked or expires_at <= rt.clock.now() or not active:
        return None, None
    windows = frozenset(row.window_id for row in rows if row.window_id is not None)
    return Principal("staff", role, hall_id, username, staff_id=staff_id, window_ids=windows), expires_at


def _lookup_paired(rt: Runtime, digest: str) -> tuple[Principal | None, object]:
    """A kiosk browser's pairing credential (queue_server/pairing.py) is its device."""
    from .pairing import credential_device
    with rt.lookup() as s:
        device = credential_device(s, digest)
    return (_device_principal(device) if device is not None else None), None


def _device_principal(device) -> Principal | None:
    """A DEVICE row as who is asking; a revoked device is nobody."""
    if device.revoked:
        return None
    windows = frozenset([device.window_id]) if device.window_id else frozenset()
    return Principal("device", device.kind, device.hall_id, device.name, device_id=device.id, window_ids=windows)


class LoginGuard:
    """Slows password guessing: after `limit` failures for one username from one client address,
    or `address_limit` failures of any usernames from one address, within `window` seconds,
    further attempts from that address are refused until the window passes.

    Locked per user *and* address: a guesser elsewhere cannot lock a clerk out of her own desk,
    nor five bad logins a whole hall (behind the proxy the address is the client's, proxies.py).
    Kept in memory per process: a restart forgets, and N processes allow N× the attempts, which
    still turns an online guess of a scrypt-hashed password from minutes into years."""

    def __init__(self, limit: int = 5, window: float = 900.0, address_limit: int | None = None):
        self.limit, self.window = limit, window
        self.address_limit = 4 * limit if address_limit is None else address_limit
        self.failures: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        times = [t for t in self.failures.get(key, []) if now - t < self.window]
        if times:
            self.failures[key] = times
        else:
            self.failures.pop(key, None)
        return times

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self.lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= (self.address_limit if key.startswith("addr:") else self.limit):
                    seconds = max(1, math.ceil(self.window - (now - times[0])))
                    wait = (seconds - 1) // 60 + 1
                    raise HallError("login_locked", f"登录失败次数过多，请 {wait} 分钟后再试，或联系管理员", 429,
                                    retry_after=seconds)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self.lock:
            if len(self.failures) > 50_000:
                self.failures.clear()
            for key in keys:
                self.failures.setdefault(key, []).append(now)

    def succeeded(self, username_key: str) -> None:
        with self.lock:
            self.failures.pop(username_key, None)


def _dummy_hash(rt: Runtime) -> str:
    """A hash of the kind most of the halls' people have, of a random password: checking a
    password against it takes as long as against a real one."""
    return passwords.dummy_like(p.password_hash for cfg in rt.halls.values() for p in cfg.staff)


def login(rt: Runtime, username: str, password: str, hall_code: str | None = None,
          client: str = "") -> dict:
    keys = (f"user:{hall_code or ''}:{username}@{client}", f"addr:{client}")
    rt.login_guard.check(*keys)
    with rt.read() as s:
        query = select(Staff).where(Staff.username == username, Staff.active.is_(True))
        if hall_code:
            query = query.join(Hall, Hall.id == Staff.hall_id).where(Hall.code == hall_code)
        people = s.scalars(query).all()
        if len(people) > 1:
            raise HallError("hall_required", "多个大厅有同名账号，请同时提供大厅编码 hall", 400)
        person = people[0] if people else None
        # The slow hash check runs outside any write transaction, for a name nobody has too
        # (against a hash of nothing): the answer's time does not tell who works here.
        stored = person.password_hash if person is not None else _dummy_hash(rt)
        if not passwords.check_password(stored, password) or person is None:
            rt.login_guard.failed(*keys)
            raise unauthorized("用户名或密码不正确")
        rt.login_guard.succeeded(keys[0])
        token = secrets.token_urlsafe(32)
        now = rt.clock.now()
        windows = s.execute(select(Window.id, Window.number, Window.name)
                            .join(StaffWindow, StaffWindow.window_id == Window.id)
                            .where(StaffWindow.staff_id == person.id).order_by(Window.number)).all()
    with rt.writing() as s:
        s.add(AuthToken(token_sha256=token_hash(token), staff_id=person.id, hall_id=person.hall_id,
                        created_at=now, expires_at=now + timedelta(hours=SESSION_HOURS)))
        s.commit()
    return {"token": token, "expires_in": SESSION_HOURS * 3600,
            "staff": {"id": person.id, "username": person.username, "name": person.name,
                      "staff_no": person.staff_no, "role": person.role,
                      "windows": [{"id": i, "number": n, "name": nm} for i, n, nm in windows]}}


def refresh(rt: Runtime, token: str) -> dict:
    """A new token for a valid staff token, the old one revoked in the same transaction.

    The new token keeps the session's start (`created_at`, the password login), so its expiry is
    SESSION_HOURS from now but never past MAX_LOGIN_HOURS after that login."""
    digest = token_hash(token)
    fresh = secrets.token_urlsafe(32)
    now = rt.clock.now()
    with rt.writing() as s:
        old = s.get(AuthToken, digest, with_for_update=True)
        if old is None or old.revoked or old.expires_at <= now:
            raise unauthorized("登录已失效，请重新登录")
        staff = s.get(Staff, old.staff_id)
        if staff is None or not staff.active:
            raise unauthorized("登录已失效，请重新登录")
        last = old.created_at + timedelta(hours=MAX_LOGIN_HOURS)
        if last - now < timedelta(minutes=1):
            raise unauthorized(f"已连续登录 {MAX_LOGIN_HOURS} 小时，请重新输入密码登录")
        expires = min(now + timedelta(hours=SESSION_HOURS), last)
        old.revoked = True
        s.add(AuthToken(token_sha256=token_hash(fresh), staff_id=old.staff_id, hall_id=old.hall_id,
                        created_at=old.created_at, expires_at=expires))
        s.commit()
    rt.principals.pop(digest, None)
    return {"token": fresh, "expires_in": int((expires - now).total_seconds())}


def seconds_left(rt: Runtime, token: str) -> int | None:
    """How long a staff token still lives (None: not a live staff token)."""
    with rt.read() as s:
        row = s.get(AuthToken, token_hash(token))
        if row is None or row.revoked:
            return None
        return max(0, int((row.expires_at - rt.clock.now()).total_seconds()))


def logout(rt: Runtime, token: str) -> None:
    rt.principals.pop(token_hash(token), None)
    with rt.writing() as s:
        login_row = s.get(AuthToken, token_hash(token))
        if login_row is not None:
            login_row.revoked = True
        s.commit()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def require(*roles: str):
    """Allow only these roles (staff roles or device kinds); the principal lands in `g.principal`."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate(current_app.extensions["hall"], bearer_token())
            if principal is None:
                raise unauthorized()
            if roles and principal.role not in roles:
                raise forbidden("forbidden_role", "当前账号或设备无权进行此操作")
            g.principal = principal
            return view(*args, **kwargs)
        return wrapper
    return decorate


def check_window(principal: Principal, window_id: int) -> None:
    """A clerk operates only the windows assigned to them; admins may cover any window."""
    if principal.role == "admin":
        return
    if principal.role != "clerk" or window_id not in principal.window_ids:
        raise forbidden("not_your_window", "您不能操作这个窗口（只能操作分配给您的窗口）")
