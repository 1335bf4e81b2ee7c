"""ticket call order index: call-next reads the next ticket in index order instead of sorting

Revision ID: 0009_ticket_call_order_index
Revises: 0001
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_ticket_call_order_index"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_next", "tickets",
                    ["hall_id", "day", "status", sa.text("is_priority DESC"), "queue_since", "id"])


def downgrade() -> None:
    op.drop_index("ix_tickets_next", table_name="tickets")
