"""Draining the SMS outbox: every message is sent once, retried on failure, never lost.

A message moves pending → sending → sent, each step its own committed transaction:
1. claim: pending and due → `sending`, attempts + 1 (one row at a time, `SKIP LOCKED` on
   PostgreSQL, the write lock on SQLite, so two workers never claim the same row);
2. send through the gateway, outside any transaction (a slow SMSC blocks nobody);
3. record: `sent` with the provider's message id, or back to `pending` with an exponential
   backoff and the error, or `failed` after MAX_ATTEMPTS (kept and listed; a person may retry).

When the gateway says the text may have gone although the send failed (SMPP: the connection
broke after a submit_sm was written, or some parts of a long text were accepted), the same rule
as for a crash applies.

An invitation is held for the rating device's window ([ratings] device_seconds after 办结) and
checked at the claim: when the case's 办结 was rated meanwhile (on the device, or the web page)
it becomes `not_needed`, the first rating named in `last_error`, and is never sent.

Sending limits ([ratings] sms_per_phone_per_day, sms_per_hall_per_minute) are checked at the
claim, in its transaction: a message over a limit becomes `rate_limited` with the limit in
`last_error` and is not sent (listed in the outbox like a failure; an admin's retry sends it when
the limit allows). One phone number gets a few texts a day at most, whatever goes wrong upstream
(a clerk finishing the same person's cases in a loop, a script, a bug), and a hall never floods
its SMS account or gets its sender number blocked by the carrier for spamming. Counts come from
the table, so they hold across server processes; the per-phone one matches `phone_hash`.

A crash between 2 and 3 leaves a row in `sending`. After STALE it is recovered: on a gateway
that deduplicates by our `ref` (outbox, HTTP with Idempotency-Key) it goes back to `pending` and
the resend is harmless; on SMPP, which has no idempotency key in submit_sm, it becomes `unknown`
— a person checks the SMSC's records and either marks it sent or retries it. We prefer one
human check to a citizen receiving the same link twice without anyone knowing.
"""
from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...identity import redact
from ...runtime import Runtime
from ..levels import CHANNELS
from ..models import SmsInvitation, SmsMessage
from ..service import counted_rating
from ..settings import RatingSettings, rating_settings
from .gateways import GatewayError, gateway_for

log = logging.getLogger("hall.sms")

MAX_ATTEMPTS = 8
STALE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
REACHED = ("sending", "sent", "unknown")  # may have reached the phone
RETRYABLE = ("failed", "unknown", "rate_limited")  # a person may send these again


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … at most an hour."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), LONGEST_RETRY)


def gateway_of(rt: Runtime, hall_id: int):
    """One gateway object per hall and URL, kept on the runtime (an SMPP session stays bound)."""
    cache = getattr(rt, "sms_gateways", None)
    if cache is None:
        cache = {}
        setattr(rt, "sms_gateways", cache)
    url = rating_settings(rt, hall_id).sms_gateway
    if url not in cache:
        cache[url] = gateway_for(url)
    return cache[url]


def close_gateways(rt: Runtime) -> None:
    for gateway in (getattr(rt, "sms_gateways", None) or {}).values():
        try:
            gateway.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            log.exception("closing SMS gateway failed")


def ref_of(message: SmsMessage) -> str:
    """Our id for the message at the provider: the same on every retry."""
    return f"hall{message.hall_id}-sms{message.id}"


def _anything_to_do(rt: Runtime, now: datetime) -> bool:
    with rt.read() as s:
        return s.scalar(select(SmsMessage.id).where(
            ((SmsMessage.status == "pending") & (SmsMessage.next_attempt_at <= now))
            | ((SmsMessage.status == "sending") & (SmsMessage.claimed_at < now - STALE))).limit(1)) is not None


def recover_stale(rt: Runtime, now: datetime, idempotent: dict[str, bool]) -> int:
    with rt.writing() as s:
        rows = s.scalars(select(SmsMessage).where(SmsMessage.status == "sending",
                                                  SmsMessage.claimed_at < now - STALE).with_for_update()).all()
        for m in rows:
            if idempotent.get(m.gateway, False):
                m.status, m.next_attempt_at = "pending", now
                m.last_error = "发送中断，网关可按编号去重，将重新发送"
            else:
                m.status = "unknown"
                m.last_error = "发送中断，无法确认短信是否已发出：请核对短信中心记录后标记为已发送或重发"
        s.commit()
        return len(rows)


def over_limit(s: Session, m: SmsMessage, now: datetime, settings: RatingSettings) -> str | None:
    """Why `m` may not be sent now (the limit, in words for the outbox), or None."""
    per_phone = settings.sms_per_phone_per_day
    if per_phone and m.phone_hash:
        today = datetime.combine(now.date(), time())
        sent = s.scalar(select(func.count()).select_from(SmsMessage).where(
            SmsMessage.phone_hash == m.phone_hash, SmsMessage.claimed_at >= today,
            SmsMessage.status.in_(REACHED), SmsMessage.id != m.id)) or 0
        if sent >= per_phone:
            return (f"限流未发送：同一手机号每天最多发送{per_phone}条短信，今天已发{sent}条"
                    "（次日可由管理员重发）")
    per_minute = settings.sms_per_hall_per_minute
    if per_minute:
        sent = s.scalar(select(func.count()).select_from(SmsMessage).where(
            SmsMessage.hall_id == m.hall_id, SmsMessage.claimed_at > now - timedelta(minutes=1),
            SmsMessage.status != "rate_limited", SmsMessage.id != m.id)) or 0
        if sent >= per_minute:
            return (f"限流未发送：本大厅每分钟最多发送{per_minute}条短信，一分钟内已发{sent}条"
                    "（可由管理员重发）")
    return None


def rated_already(s: Session, m: SmsMessage) -> str | None:
    """Why an invitation need not go out: its case's 办结 was already rated (一事一评), usually on
    the window's rating device while the message was held; None when it should be sent."""
    if m.invitation_id is None:
        return None
    invitation = s.get(SmsInvitation, m.invitation_id)
    first = counted_rating(s, invitation.case_id, "finish") if invitation is not None else None
    if first is None:
        return None
    return (f"不再发送：该办件已于{first.rated_at:%H:%M}通过{CHANNELS.get(first.channel, first.channel)}"
            "评价（一事一评，每个环节只评一次）")


def _claim(rt: Runtime, hall_id: int, now: datetime, scheme: str) -> SmsMessage | None:
    """The next due message, now `sending` — or `rate_limited` when a sending limit says no."""
    with rt.writing() as s:
        m = s.scalar(select(SmsMessage).where(SmsMessage.hall_id == hall_id, SmsMessage.status == "pending",
                                              SmsMessage.next_attempt_at <= now)
                     .order_by(SmsMessage.next_attempt_at, SmsMessage.id).limit(1)
                     .with_for_update(skip_locked=True))
        if m is None:
            s.commit()
            return None
        rated = rated_already(s, m)
        reason = None if rated else over_limit(s, m, now, rating_settings(rt, hall_id))
        if rated:
            m.status, m.last_error = "not_needed", rated
        elif reason:
            m.status, m.last_error = "rate_limited", reason
        else:
            m.status, m.attempts, m.claimed_at, m.gateway = "sending", m.attempts + 1, now, scheme
        s.commit()
        return m


def _finish(rt: Runtime, message_id: int, now: datetime, provider_id: str | None = None,
            error: GatewayError | None = None, idempotent: bool = True) -> str:
    with rt.writing() as s:
        m = s.get(SmsMessage, message_id)
        if error is None:
            m.status, m.sent_at, m.provider_id, m.last_error = "sent", now, provider_id, ""
        elif error.ambiguous and not idempotent:
            m.status = "unknown"
            m.last_error = (f"{redact(str(error))}；短信可能已部分或全部发出，为免重复不自动重发："
                            "请核对短信中心记录后标记为已发送或重发")[:500]
        elif not error.retryable or m.attempts >= MAX_ATTEMPTS:
            m.status, m.last_error = "failed", redact(str(error))[:500]
        else:
            m.status, m.last_error = "pending", redact(str(error))[:500]
            m.next_attempt_at = now + backoff(m.attempts)
        s.commit()
        return m.status


def send_due(rt: Runtime, now: datetime | None = None, gateway=None, limit: int = 100) -> dict[str, int]:
    """Send what is due now in every hall; `gateway` overrides the configured one (tests)."""
    now = now or rt.clock.now()
    counts = {"sent": 0, "retry": 0, "failed": 0, "recovered": 0, "rate_limited": 0, "not_needed": 0}
    if not _anything_to_do(rt, now):
        return counts  # the usual case: a read, no write transaction every few seconds
    gateways = {h: gateway or gateway_of(rt, h) for h in list(rt.halls)}
    counts["recovered"] = recover_stale(rt, now, {g.scheme: g.idempotent for g in gateways.values()})
    for hall_id, gw in gateways.items():
        for _ in range(limit):
            m = _claim(rt, hall_id, now, gw.scheme)
            if m is None:
                break
            if m.status in ("rate_limited", "not_needed"):
                log.info("SMS %s not sent: %s", m.id, m.last_error)
                counts[m.status] += 1
                continue
            try:
                provider_id = gw.send(m.phone, m.text, ref_of(m))
            except GatewayError as exc:
                status = _finish(rt, m.id, now, error=exc, idempotent=gw.idempotent)
                log.warning("SMS %s failed (%s): %s", m.id, status, redact(str(exc)))
                counts["retry" if status == "pending" else "failed"] += 1
                continue
            _finish(rt, m.id, now, provider_id=provider_id)
            counts["sent"] += 1
    return counts


def requeue(rt: Runtime, hall_id: int, message_id: int, *, mark_sent: bool = False) -> SmsMessage | None:
    """A person's decision on a `failed`, `unknown` or `rate_limited` message: send again (the
    sending limits still apply), or record it as sent (not a rate-limited one: it never left)."""
    with rt.writing() as s:
        m = s.get(SmsMessage, message_id)
        if m is None or m.hall_id != hall_id or m.status not in RETRYABLE \
                or (mark_sent and m.status == "rate_limited"):
            s.commit()
            return None
        now = rt.clock.now()
        if mark_sent:
            m.status, m.sent_at = "sent", now
            m.last_error = (m.last_error + "；已人工核实为已发送")[:500]
        else:
            m.status, m.next_attempt_at, m.attempts = "pending", now, 0
        s.commit()
        return m
