"""Tables of electronic supervision: warnings, suspensions of the clock, the audit trail."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base, Id


class SupervisionWarning(Base):
    """A yellow (nearing the limit) or red (overdue) warning about a case or a 差评 follow-up.

    Raised once per subject, level and deadline: a suspension that moves the deadline makes a
    new deadline, which may warn again. `resolved_at` is set when the subject is done or its
    deadline moved."""
    __tablename__ = "supervision_warnings"
    __table_args__ = (UniqueConstraint("hall_id", "subject", "level", "due_at", name="uq_warning_once"),
                      Index("ix_warnings_open", "hall_id", "resolved_at"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    subject: Mapped[str] = mapped_column(String(24))   # "case:12" | "follow_up:3"
    kind: Mapped[str] = mapped_column(String(10))      # case | follow_up
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    follow_up_id: Mapped[int | None] = mapped_column(ForeignKey("follow_ups.id"))
    level: Mapped[str] = mapped_column(String(8))      # yellow | red
    due_at: Mapped[datetime] = mapped_column(DateTime)
    raised_at: Mapped[datetime] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    message: Mapped[str] = mapped_column(String(300), default="")


class Suspension(Base):
    """不计时环节 (专家评审, 现场勘验, 听证, 检验检测 …): the clock stops with a reason; on resume the
    case's due time moves by the working time the clock was stopped."""
    __tablename__ = "case_suspensions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    started_by: Mapped[str] = mapped_column(String(100))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_by: Mapped[str | None] = mapped_column(String(100))
    stopped_seconds: Mapped[int] = mapped_column(Integer, default=0)  # working seconds not counted
    due_before: Mapped[datetime | None] = mapped_column(DateTime)
    due_after: Mapped[datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """Who did what, when, from where. Append-only: the app inserts and reads, never updates or
    deletes (guarded in `audit.guard_engine`, and by triggers the migration creates)."""
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_hall_at", "hall_id", "at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    hall_id: Mapped[int | None] = mapped_column(ForeignKey("halls.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[int] = mapped_column(Integer, default=0)   # the HTTP status answered
    origin: Mapped[str] = mapped_column(String(64), default="")  # client address
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
