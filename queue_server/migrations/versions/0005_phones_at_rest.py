"""phone numbers encrypted at rest: tickets and appointments (the kiosk's branch)

The columns widen to hold `v1:<AES-GCM>` values and every clear number is encrypted in place
with the key derived from the server secret (queue_server/crypto.py). SQLite does not enforce a
VARCHAR length, so there only the data changes (rebuilding `tickets` to change a declared length
would fight its foreign keys for nothing). The downgrade decrypts back to clear text.

Revision ID: 0005_phones_at_rest
Revises: 0002_appointments
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

from queue_server.crypto import ENCRYPTED_LENGTH, open_column, seal_column

revision = "0005_phones_at_rest"
down_revision = "0002_appointments"
branch_labels = None
depends_on = None

TABLES = ("tickets", "appointments")


def _resize(table: str, length: int, old: int) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(table, "phone", type_=sa.String(length=length),
                        existing_type=sa.String(length=old), existing_nullable=True)


def upgrade() -> None:
    for table in TABLES:
        _resize(table, ENCRYPTED_LENGTH, 20)
        seal_column(op.get_bind(), table, "phone")


def downgrade() -> None:
    for table in TABLES:
        open_column(op.get_bind(), table, "phone")
        _resize(table, 20, ENCRYPTED_LENGTH)
