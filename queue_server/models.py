"""The hall's tables. Every row carries the hall it belongs to, so one database serves a city."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint, false, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .crypto import EncryptedPhone

# BIGINT ids on PostgreSQL, INTEGER (rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Hall(Base):
    __tablename__ = "halls"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The last event number: bumped in the same transaction as the change it announces.
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Matter(Base):
    __tablename__ = "matters"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    prefix: Mapped[str] = mapped_column(String(4))
    kind: Mapped[str] = mapped_column(String(8))
    promised_days: Mapped[int] = mapped_column(Integer, default=0)
    legal_days: Mapped[int] = mapped_column(Integer, default=0)
    materials: Mapped[list[str]] = mapped_column(default=list)
    fees: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    process: Mapped[str] = mapped_column(String(200), default="", server_default="")  # 办理流程, one line
    pinyin: Mapped[str] = mapped_column(String(200), default="")
    daily_quota: Mapped[int] = mapped_column(Integer, default=0)
    last_ticket_time: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department] = relationship(lazy="joined")


class Window(Base):
    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("hall_id", "number"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    order: Mapped[str] = mapped_column(String(8), default="ranked")
    state: Mapped[str] = mapped_column(String(8), default="open")  # open | paused
    current_ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", use_alter=True, name="fk_window_current_ticket"))
    # Who is signed in at the window now (shown on the rating device).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", use_alter=True, name="fk_window_staff"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # This window's own event numbering, for devices that hear only their window (stream.py).
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Staffing (staffing.py): open to citizens only while signed in (and not paused). The clerk's
    # login it belongs to (its first token's time: refreshes keep it), and the last operation (idle).
    signed_in_at: Mapped[datetime | None] = mapped_column(DateTime)
    session_started: Mapped[datetime | None] = mapped_column(DateTime)
    active_at: Mapped[datetime | None] = mapped_column(DateTime)


class WindowMatter(Base):
    """A matter a window serves; `rank` is the window's priority order (0 first)."""
    __tablename__ = "window_matters"
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)


class Staff(Base):
    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("hall_id", "username"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    staff_no: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class StaffWindow(Base):
    __tablename__ = "staff_windows"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), primary_key=True)


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("hall_id", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"))
    printer: Mapped[str] = mapped_column(String(300), default="")
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuthToken(Base):
    """A staff login. Only the token's hash is kept, so a database dump grants no access."""
    __tablename__ = "auth_tokens"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Counter(Base):
    """The last number given per hall, day and series (a ticket prefix, or '#case')."""
    __tablename__ = "counters"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("hall_id", "day", "number"),
        UniqueConstraint("hall_id", "request_id"),
        # Covers the waiting counts each change to the queue carries (shapes.waiting_counts): no table row read.
        Index("ix_tickets_queue", "hall_id", "day", "status", "matter_id", "target_window_id", "queue_since"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    day: Mapped[date] = mapped_column(Date)
    number: Mapped[str] = mapped_column(String(16))
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    # Set when a clerk transfers the ticket to one window rather than to a matter's queue.
    target_window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"))
    priority: Mapped[str | None] = mapped_column(String(16))  # elderly, disabled, military, pregnant, appointment
    is_priority: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    # lifecycle.TICKET: waiting -> called -> (serving ->) done | skipped | unserved
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    # The place in the queue: the issue time, kept across transfers.
    queue_since: Mapped[datetime] = mapped_column(DateTime)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"))
    called_at: Mapped[datetime | None] = mapped_column(DateTime)
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    requeued: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    query_code: Mapped[str] = mapped_column(String(16), unique=True)
    # The slip's barcode (投箱评议): random, not the id nor the query code; NULL on tickets issued
    # before it existed (their slips cannot be counted in a slip batch).
    ballot_code: Mapped[str | None] = mapped_column(String(24), unique=True, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    appointment_code: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(EncryptedPhone)  # AES-GCM at rest (crypto.py)
    id_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_masked: Mapped[str | None] = mapped_column(String(24))
    printed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # 老年人 priority: the age on the ID number at issuing (the clerk sees it; no birth date kept).
    age: Mapped[int | None] = mapped_column(Integer)

    # Not joined on every load: the hot path takes the matter from the catalogue in memory.
    matter: Mapped[Matter] = relationship(lazy="select")


# Call-next's order (windows.py): the next ticket is the first row of this index that the window
# serves, so finding it does not sort the whole waiting queue of a busy morning.
Index("ix_tickets_next", Ticket.hall_id, Ticket.day, Ticket.status, Ticket.is_priority.desc(),
      Ticket.queue_since, Ticket.id)


class Case(Base):
    """办件: born when a window receives (收件) an application at a ticket's visit. Accepted (受理)
    there or later once the materials are complete, its supervision clock starts then; it lives
    on after the visit until it is finished (办结) and delivered (出件). States: lifecycle.py."""
    __tablename__ = "cases"
    # Start-up looks for the guessed due dates (supervision/due_dates.py): a handful among years of cases.
    __table_args__ = (Index("ix_cases_due_guessed", "id", sqlite_where=text("due_guessed = 1"),
                            postgresql_where=text("due_guessed")),
                      # The case desk: a hall's open cases by due time.
                      Index("ix_cases_desk", "hall_id", "status", "due_at"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), default="accepted")  # lifecycle.CASE
    # Received when accepted, unless said otherwise (a 补正 case is received long before).
    received_at: Mapped[datetime] = mapped_column(
        DateTime, default=lambda ctx: ctx.get_current_parameters()["accepted_at"])
    # None while the materials are incomplete (补正) or when refused: no clock runs.
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The limit promised at 受理 (0: 即办件), kept so the due date can be counted again; None on
    # cases accepted before it was kept. `due_guessed`: counted through a year the calendar lacked.
    promised_days: Mapped[int | None] = mapped_column(Integer)
    due_guessed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # 补正: the materials the one-time notice listed as missing.
    missing: Mapped[list[str] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)     # 不予受理: why, as told to the applicant
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)   # 出件
    delivery: Mapped[str | None] = mapped_column(String(8))           # window | mail
    delivery_note: Mapped[str | None] = mapped_column(String(200))    # e.g. the mail's tracking number

    matter: Mapped[Matter] = relationship(lazy="joined")


class Event(Base):
    """Every state change, numbered per hall: the event stream's source and each ticket's history."""
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("hall_id", "seq"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"))
    actor: Mapped[str] = mapped_column(String(100), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
