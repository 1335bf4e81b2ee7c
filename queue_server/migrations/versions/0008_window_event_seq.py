"""window event seq: devices bound to one window hear only that window's events

Revision ID: 0008_window_event_seq
Revises: 0001
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_window_event_seq"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing windows start at 0: a device's snapshot gives it the current value before any event.
    # Plain ALTER TABLE (SQLite 3.35+ drops a column in place; a batch copy of `windows` would
    # trip the foreign keys that point at it).
    op.add_column("windows", sa.Column("event_seq", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("windows", "event_seq")
