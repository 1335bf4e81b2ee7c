"""windows: who signed in and when (a window is open only while staffed); tickets.age (老年人)

Revision ID: 0016_staffed_windows
Revises: 0015_one_rating
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = "0016_staffed_windows"
down_revision = "0015_one_rating"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("windows") as batch:
        batch.add_column(sa.Column("signed_in_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("session_started", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("active_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("age", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("age")
    with op.batch_alter_table("windows") as batch:
        batch.drop_column("active_at")
        batch.drop_column("session_started")
        batch.drop_column("signed_in_at")
