"""Short signed links for SMS rating invitations: `{base_url}/r/<token>`.

The token is `<invitation id in base 36>.<12 chars of HMAC-SHA256>`: short enough for one SMS,
unforgeable without the server secret (a key derived from `rt.secret` for this purpose only), and
bound to the invitation's expiry, so a changed id or date fails. Single use and expiry are checked
against the invitation row; the row never holds the token itself.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import HallError
from ..identity import clean_phone
from ..models import Case, Device, Ticket
from ..runtime import Runtime
from .models import SmsInvitation, SmsMessage
from .settings import rating_settings

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _ALPHABET[r] + out
        if n == 0:
            return out


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, b"hall rating link v1", hashlib.sha256).digest()


def _mac(secret: bytes, invitation_id: int, expires_at: datetime) -> str:
    message = f"{invitation_id}|{expires_at:%Y%m%d%H%M%S}".encode()
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()[:9]
    return base64.urlsafe_b64encode(digest).decode()


def make_token(secret: bytes, invitation: SmsInvitation) -> str:
    return f"{_b36(invitation.id)}.{_mac(secret, invitation.id, invitation.expires_at)}"


def invalid_link() -> HallError:
    return HallError("invalid_link", "评价链接无效，请核对短信中的链接", 403)


def open_link(session: Session, secret: bytes, token: str, now: datetime, *, lock: bool = False) -> SmsInvitation:
    """The invitation a token stands for; refuses forged, reused and expired links."""
    head, _, mac = (token or "").strip().partition(".")
    if not head or len(head) > 12 or len(mac) != 12 or any(c not in _ALPHABET for c in head):
        raise invalid_link()
    query = select(SmsInvitation).where(SmsInvitation.id == int(head, 36))
    invitation = session.scalar(query.with_for_update() if lock else query)
    if invitation is None or not hmac.compare_digest(mac, _mac(secret, invitation.id, invitation.expires_at)):
        raise invalid_link()
    if invitation.used_at is not None:
        raise HallError("link_used", "这个评价链接已经使用过了，每件事项每个渠道只能评价一次", 409)
    if now > invitation.expires_at:
        raise HallError("link_expired", "评价链接已过期（有效期 7 天）", 410)
    return invitation


def link_url(rt: Runtime, hall_id: int, token: str) -> str:
    from ..public_url import public_url
    return f"{public_url(rt, hall_id)}/r/{token}"


def invitation_text(rt: Runtime, hall_id: int, matter_name: str, url: str, days: int) -> str:
    cfg = rt.hall_config(hall_id)
    sign = rating_settings(rt, hall_id).sms_sign or f"【{cfg.name}】"
    return (f"{sign}您办理的“{matter_name}”已办结。请对本次服务作出评价：{url} "
            f"（{days}天内有效）。投诉电话{cfg.complaint_phone}")


def invite(rt: Runtime, session: Session, case: Case, now: datetime) -> SmsMessage | None:
    """Create the invitation and its outbox message in the caller's transaction; none when the
    ticket has no phone or the case was already invited."""
    ticket = session.get(Ticket, case.ticket_id)
    if ticket is None or not ticket.phone:
        return None
    if session.scalar(select(SmsInvitation.id).where(SmsInvitation.case_id == case.id)) is not None:
        return None
    try:
        phone = clean_phone(ticket.phone)
    except HallError:
        return None
    settings = rating_settings(rt, case.hall_id)
    invitation = SmsInvitation(hall_id=case.hall_id, case_id=case.id, phone=phone, created_at=now,
                               expires_at=now.replace(microsecond=0) + timedelta(days=settings.link_days))
    session.add(invitation)
    session.flush()
    url = link_url(rt, case.hall_id, make_token(rt.secret, invitation))
    # Held while the window's rating device may still take the rating (一事一评), if the window
    # has one: the sender then drops it as not needed if the citizen rated there
    # (sender.rated_already). A window without a rating device sends at once.
    held = now
    if session.scalar(select(Device.id).where(Device.window_id == case.window_id, Device.kind == "rater",
                                              Device.revoked.is_(False)).limit(1)) is not None:
        held = max(now, (case.finished_at or now) + timedelta(seconds=settings.device_seconds))
    message = SmsMessage(hall_id=case.hall_id, invitation_id=invitation.id, phone=phone,
                         text=invitation_text(rt, case.hall_id, case.matter.name, url, settings.link_days),
                         status="pending", created_at=now, next_attempt_at=held)
    session.add(message)
    session.flush()
    return message

