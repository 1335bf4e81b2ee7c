"""SMS phone numbers encrypted at rest, a digest for the per-phone sending limit, and the
`rate_limited` status (the ratings branch)

`sms_invitations.phone` and `sms_messages.phone` widen and are encrypted in place
(queue_server/crypto.py); `sms_messages.phone_hash` (a keyed digest) is filled for the old rows
so the per-phone daily limit counts them; `status` widens for `rate_limited`. SQLite does not
enforce VARCHAR lengths, so there only columns, indexes and data change. The downgrade decrypts
back to clear text and turns `rate_limited` messages into `failed` ones (their reason kept).

Revision ID: 0006_sms_phones_at_rest
Revises: 0004_ratings_supervision
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa

from queue_server.crypto import ENCRYPTED_LENGTH, open_column, seal_column

revision = "0006_sms_phones_at_rest"
down_revision = "0004_ratings_supervision"
branch_labels = None
depends_on = None


def _resize(table: str, column: str, length: int, old: int, nullable: bool = False) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(table, column, type_=sa.String(length=length),
                        existing_type=sa.String(length=old), existing_nullable=nullable)


def upgrade() -> None:
    op.add_column("sms_messages", sa.Column("phone_hash", sa.String(length=64), nullable=True))
    for table in ("sms_invitations", "sms_messages"):
        _resize(table, "phone", ENCRYPTED_LENGTH, 20)
    _resize("sms_messages", "status", 16, 10)
    seal_column(op.get_bind(), "sms_invitations", "phone")
    seal_column(op.get_bind(), "sms_messages", "phone", digest_column="phone_hash")
    op.create_index("ix_sms_phone_claimed", "sms_messages", ["phone_hash", "claimed_at"])
    op.create_index("ix_sms_hall_claimed", "sms_messages", ["hall_id", "claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_hall_claimed", table_name="sms_messages")
    op.drop_index("ix_sms_phone_claimed", table_name="sms_messages")
    messages = sa.table("sms_messages", sa.column("status"))
    op.execute(messages.update().where(messages.c.status == "rate_limited").values(status="failed"))
    _resize("sms_messages", "status", 10, 16)
    for table in ("sms_invitations", "sms_messages"):
        open_column(op.get_bind(), table, "phone")
        _resize(table, "phone", 20, ENCRYPTED_LENGTH)
    with op.batch_alter_table("sms_messages") as batch:
        batch.drop_column("phone_hash")
