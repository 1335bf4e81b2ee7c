"""device token rotation: which config token a token rotated from the admin page replaced

Revision ID: 0007_device_token_rotation
Revises: 0003_devices
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_device_token_rotation"
down_revision = "0003_devices"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "device_token_rotations",
        sa.Column("device_id", Id, nullable=False),
        sa.Column("hall_id", Id, nullable=False),
        sa.Column("config_sha256", sa.String(length=64), nullable=False),
        sa.Column("rotated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.ForeignKeyConstraint(["hall_id"], ["halls.id"]),
        sa.PrimaryKeyConstraint("device_id"),
    )


def downgrade() -> None:
    op.drop_table("device_token_rotations")
