"""due dates counted again: cases keep their promised days, follow-ups their days, and both
whether the count ran through a year the working-day calendar lacked (due_dates.py)

Rows from before this revision have no days kept (NULL) and are never counted again: nothing
says whether their due date was a guess.

Revision ID: 0011_due_guessed
Revises: 0004_ratings_supervision
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_due_guessed"
down_revision = "0004_ratings_supervision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("promised_days", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("due_guessed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("follow_ups", sa.Column("due_days", sa.Integer(), nullable=True))
    op.add_column("follow_ups", sa.Column("due_guessed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("follow_ups", "due_guessed")
    op.drop_column("follow_ups", "due_days")
    op.drop_column("cases", "due_guessed")
    op.drop_column("cases", "promised_days")
