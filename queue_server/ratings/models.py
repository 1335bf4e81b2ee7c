"""Tables of the rating system: ratings, 差评 follow-ups, appeals, SMS invitations and messages,
slip-box batches. Every row carries its hall."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (Boolean, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, event, false, inspect, text)
from sqlalchemy.orm import Mapped, mapped_column

from ..crypto import EncryptedPhone, keys_for
from ..models import Base, Id


# 一事一评: one citizen's rating per case per node, whichever channel comes first. The database
# holds it (two channels posting at once cannot both win); the default rating stays outside the
# index because a real one supersedes it, and so do ratings an upgrade found duplicated.
ONE_PER_NODE_SQLITE = "is_default = 0 AND (void_kind IS NULL OR void_kind != 'duplicate')"
ONE_PER_NODE_PG = "NOT is_default AND (void_kind IS NULL OR void_kind <> 'duplicate')"
VOID_KINDS = {"appeal": "申诉成立", "superseded": "默认评价被真实评价取代", "duplicate": "重复评价（一事一评）"}


class Rating(Base):
    """One rating of one case at one node (受理/办结), by the channel that came first. Never
    edited; it may be voided, the kind (`void_kind`: appeal | superseded | duplicate) and the
    reason kept. The matter, window, clerk and department are copied from the case so the rating
    stays tied to who served even if the case were reassigned."""
    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("case_id", "channel", "node", name="uq_rating_case_channel_node"),
                      Index("ix_ratings_hall_rated", "hall_id", "rated_at"),
                      Index("ux_ratings_case_node", "case_id", "node", unique=True,
                            sqlite_where=text(ONE_PER_NODE_SQLITE), postgresql_where=text(ONE_PER_NODE_PG)))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    channel: Mapped[str] = mapped_column(String(8))      # device | sms | slip | web | default
    level: Mapped[int] = mapped_column(Integer)          # 5 非常满意 … 1 非常不满意
    node: Mapped[str] = mapped_column(String(8), default="finish")  # finish | accept
    tags: Mapped[list[str]] = mapped_column(default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(DateTime)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(100), default="")  # device name, staff login, "citizen"
    slip_batch_id: Mapped[int | None] = mapped_column(ForeignKey("slip_batches.id"))
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    void_reason: Mapped[str | None] = mapped_column(Text)
    void_kind: Mapped[str | None] = mapped_column(String(12))  # appeal | superseded | duplicate
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)


class FollowUp(Base):
    """差评整改: 核实 (verify) → 整改 (fix) → 回访 (callback) → closed, by a deadline in working days.
    `stage` is the step now awaited; `voided` when a 申诉复核 set the rating aside."""
    __tablename__ = "follow_ups"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    stage: Mapped[str] = mapped_column(String(10), default="verify")  # verify|fix|callback|closed|voided
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    fix_rating: Mapped[str | None] = mapped_column(String(8))  # 满意 | 基本满意 | 不满意
    due_days: Mapped[int | None] = mapped_column(Integer)   # as Case.promised_days
    due_guessed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class FollowUpStep(Base):
    """What was done at each step, by whom and when (the follow-up's 台账)."""
    __tablename__ = "follow_up_steps"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"), index=True)
    stage: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(DateTime)


class Appeal(Base):
    """申诉复核: the hall asks to set a rating aside (误评, 恶意差评); a supervisor decides."""
    __tablename__ = "rating_appeals"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(100))
    filed_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | upheld | rejected
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")


class SmsInvitation(Base):
    """The signed, single-use link sent to the citizen's phone when a case is finished."""
    __tablename__ = "sms_invitations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    phone: Mapped[str] = mapped_column(EncryptedPhone)  # AES-GCM at rest (crypto.py)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    rating_id: Mapped[int | None] = mapped_column(ForeignKey("ratings.id"))


class SmsMessage(Base):
    """One SMS in the outbox. pending → sending → sent; a failure goes back to pending with a later
    `next_attempt_at`; after too many attempts `failed`; a send interrupted by a crash on a gateway
    that cannot deduplicate becomes `unknown` (kept for a person to check, never resent blindly).
    Over a sending limit (per phone per day, per hall per minute) it becomes `rate_limited`, not
    sent, the limit named in `last_error` (a person may still send it: retry).

    `phone` is encrypted at rest; `phone_hash` (a keyed digest, set on every write) is what the
    per-phone limit matches on."""
    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_due", "status", "next_attempt_at"),
                      Index("ix_sms_phone_claimed", "phone_hash", "claimed_at"),
                      Index("ix_sms_hall_claimed", "hall_id", "claimed_at"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("sms_invitations.id"))
    phone: Mapped[str] = mapped_column(EncryptedPhone)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # rate_limited: 12
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    gateway: Mapped[str] = mapped_column(String(16), default="")
    provider_id: Mapped[str | None] = mapped_column(String(300))
    last_error: Mapped[str] = mapped_column(Text, default="")


@event.listens_for(SmsMessage, "before_insert")
@event.listens_for(SmsMessage, "before_update")
def _digest_phone(_mapper, connection, message: SmsMessage) -> None:
    """The digest follows the number on every write, whoever creates the message."""
    if message.phone_hash is None or inspect(message).attrs.phone.history.has_changes():
        message.phone_hash = keys_for(connection.dialect).digest(message.phone) if message.phone else None


class SlipBatch(Base):
    """One opening of the rating box (投箱评议), usually monthly, by a supervisor."""
    __tablename__ = "slip_batches"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class SlipScan(Base):
    """Every slip scanned in a batch: rated, or refused with the reason (the tally's source)."""
    __tablename__ = "slip_scans"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("slip_batches.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    level: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(24))  # rated | unknown_code | already_rated | case_not_finished
    message: Mapped[str] = mapped_column(String(200), default="")
    rating_id: Mapped[int | None] = mapped_column(ForeignKey("ratings.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
