"""device pairings: a kiosk browser paired with its device by a one-time code (queue_server/pairing.py)

Only hashes are kept: of the code until it is used, then of the browser's credential.

Revision ID: 0017_device_pairings
Revises: 0015_one_rating
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = "0017_device_pairings"
down_revision = "0016_staffed_windows"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "device_pairings",
        sa.Column("id", Id, primary_key=True),
        sa.Column("hall_id", Id, sa.ForeignKey("halls.id"), nullable=False),
        sa.Column("device_id", Id, sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=True, unique=True),
        sa.Column("credential_sha256", sa.String(length=64), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("paired_at", sa.DateTime(), nullable=True),
        sa.Column("paired_from", sa.String(length=64), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_device_pairings_device_id", "device_pairings", ["device_id"])


def downgrade() -> None:
    op.drop_index("ix_device_pairings_device_id", table_name="device_pairings")
    op.drop_table("device_pairings")
