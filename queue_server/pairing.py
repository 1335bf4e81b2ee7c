"""Pairing a kiosk browser with its device: a one-time code in, a device credential out.

The in-server kiosk pages (`/kiosk/…`) act only for a paired kiosk device. The admin issues a
one-time pairing code for a kiosk device (`POST /devices/<id>/pairing-code`, 8 digits, valid
PAIRING_MINUTES); typed once on the kiosk (`POST /devices/pair {code}`), it becomes a device
credential that the server sets as an HttpOnly cookie in that browser: it never appears in a URL,
a page's script cannot read it, and SameSite=Strict keeps other sites' pages from sending it.
Someone holding the device's token (the installer, the demo) may pair a browser with it instead
of a code (`Authorization: Bearer <kiosk token>` on the same call).

A credential is the device for every API call (auth.authenticate: the audit and the per-kiosk
limits name the device). Only hashes are stored. It stops with its device (revoked) and with a
token rotation (the admin's "whoever held it is out"). Codes are tried at most
PAIR_TRIES_PER_10_MINUTES times per client address.
"""
from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Boolean, DateTime, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from hallkit.web_security import DEVICE_COOKIE

from .auth import DEVICE
from .errors import HallError, conflict
from .models import Base, Device, Id
from .ratelimit import SlidingWindow
from .runtime import Runtime
from .scoping import in_hall

PREFIX = "dp_"                  # a credential says what it is: auth looks it up here only
COOKIE = DEVICE_COOKIE          # the name web_security expects (and hardens) on a kiosk browser
COOKIE_DAYS = 400               # browsers keep a cookie at most this long; the kiosk renews it
PAIRING_MINUTES = 30
PAIR_TRIES_PER_10_MINUTES = 10
PAIRABLE = ("kiosk",)


class DevicePairing(Base):
    """One pairing code, then (once used) the browser credential it became."""
    __tablename__ = "device_pairings"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    code_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    credential_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[datetime] = mapped_column(DateTime)        # of the code
    paired_at: Mapped[datetime | None] = mapped_column(DateTime)
    paired_from: Mapped[str] = mapped_column(String(64), default="")
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def is_credential(token: str) -> bool:
    return token.startswith(PREFIX)


def credential_device(s: Session, digest: str):
    """(device row fields) for a live credential's digest, or None."""
    return s.execute(DEVICE.join(DevicePairing, DevicePairing.device_id == Device.id)
                     .where(DevicePairing.credential_sha256 == digest, DevicePairing.revoked.is_(False))).first()


def issue_code(rt: Runtime, hall_id: int, device_id: int, actor: str) -> dict:
    """A one-time pairing code for the hall's kiosk device (shown only in this answer)."""
    code = f"{secrets.randbelow(10 ** 8):08d}"
    now = rt.clock.now().replace(microsecond=0)
    with rt.writing() as s:
        device = in_hall(s, Device, device_id, hall_id)
        if device.revoked:
            raise conflict("device_revoked", "设备已停用，不能配对")
        if device.kind not in PAIRABLE:
            raise conflict("not_pairable", "只有自助取号机在浏览器中配对；其他设备用令牌")
        expires = now + timedelta(minutes=PAIRING_MINUTES)
        s.add(DevicePairing(hall_id=hall_id, device_id=device_id, code_sha256=_digest(code), created_at=now,
                            created_by=actor[:100], expires_at=expires, revoked=False))
        s.commit()
    return {"code": code, "expires_at": expires.isoformat(timespec="seconds"), "minutes": PAIRING_MINUTES}


def check_tries(rt: Runtime, tries: SlidingWindow, client: str) -> None:
    wait = tries.hit(client, PAIR_TRIES_PER_10_MINUTES, rt.clock.now().timestamp())
    if wait:
        raise HallError("too_many_tries", f"配对码输错次数过多，请{math.ceil(wait / 60)}分钟后再试", 429,
                        retry_after=math.ceil(wait))


def pair(rt: Runtime, *, code: str | None, device_id: int | None, client: str) -> tuple[str, dict]:
    """(credential, device) for a valid one-time code, or for a device that proved itself with its
    token (`device_id`). The code is used up."""
    credential = PREFIX + secrets.token_urlsafe(32)
    now = rt.clock.now().replace(microsecond=0)
    with rt.writing() as s:
        if device_id is None:
            row = s.scalar(select(DevicePairing).where(DevicePairing.code_sha256 == _digest(code or ""))
                           .with_for_update())
            if row is None or row.revoked or row.paired_at is not None or row.expires_at < now:
                raise HallError("invalid_pairing_code", "配对码不正确或已过期，请向管理员重新获取", 403)
            device = s.get(Device, row.device_id)
            row.code_sha256 = None
        else:
            device = s.get(Device, device_id)
            if device is None:   # the token's device was taken out of the config meanwhile
                raise HallError("invalid_pairing_code", "配对码不正确或已过期，请向管理员重新获取", 403)
            row = DevicePairing(hall_id=device.hall_id, device_id=device.id, created_at=now, created_by="device:token",
                                expires_at=now, revoked=False)
            s.add(row)
        if device is None or device.revoked or device.kind not in PAIRABLE:
            raise HallError("invalid_pairing_code", "配对码不正确或已过期，请向管理员重新获取", 403)
        row.credential_sha256, row.paired_at, row.paired_from = _digest(credential), now, client[:64]
        brief = {"id": device.id, "name": device.name, "kind": device.kind}
        s.commit()
    return credential, brief


def end_pairings(s: Session, device_id: int) -> None:
    """Every browser paired with the device is out (token rotation), in the caller's change."""
    s.execute(update(DevicePairing).where(DevicePairing.device_id == device_id, DevicePairing.revoked.is_(False))
              .values(revoked=True))


def demo_code(rt: Runtime, hall_id: int, token_sha256: str, code: str, hours: int = 24) -> None:
    """`hall demo`: a pairing code chosen at start-up and printed with the demo's links."""
    now = rt.clock.now().replace(microsecond=0)
    with rt.writing() as s:
        device = s.scalar(select(Device).where(Device.hall_id == hall_id, Device.token_sha256 == token_sha256))
        if device is None or s.scalar(select(DevicePairing.id).where(DevicePairing.code_sha256 == _digest(code))):
            return
        s.add(DevicePairing(hall_id=hall_id, device_id=device.id, code_sha256=_digest(code), created_at=now,
                            created_by="hall demo", expires_at=now + timedelta(hours=hours), revoked=False))
        s.commit()
