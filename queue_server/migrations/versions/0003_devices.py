"""device health: the last reported status and the open alerts of each device

Revision ID: 0003_devices
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_devices"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "device_health",
        sa.Column("device_id", Id, nullable=False),
        sa.Column("hall_id", Id, nullable=False),
        sa.Column("status", sa.JSON(), nullable=False),
        sa.Column("status_at", sa.DateTime(), nullable=True),
        sa.Column("alerts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"]),
        sa.PrimaryKeyConstraint("device_id"),
    )


def downgrade() -> None:
    op.drop_table("device_health")
