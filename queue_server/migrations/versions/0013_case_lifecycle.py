"""case lifecycle: a case is received before it is accepted (补正 keeps the clock stopped), may be
refused (不予受理) with its reason, and is delivered (出件) after it is finished

`accepted_at` becomes nullable: a case waiting for materials (status `correction`) or refused has
no acceptance and no clock. `received_at` (收件) is when the window took the application; older
cases were received when they were accepted. The case desk lists open cases by hall, status and
due time, hence the index.

Revision ID: 0013_case_lifecycle
Revises: 0012_cases_due_guessed_index
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_case_lifecycle"
down_revision = "0012_cases_due_guessed_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("accepted_at", existing_type=sa.DateTime(), nullable=True)
        batch.add_column(sa.Column("received_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("missing", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("delivered_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("delivery", sa.String(8), nullable=True))
        batch.add_column(sa.Column("delivery_note", sa.String(200), nullable=True))
    op.execute("UPDATE cases SET received_at = accepted_at")
    with op.batch_alter_table("cases") as batch:
        batch.alter_column("received_at", existing_type=sa.DateTime(), nullable=False)
    op.create_index("ix_cases_desk", "cases", ["hall_id", "status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_desk", table_name="cases")
    # An older release has no case without an acceptance: a waiting or refused one keeps its receipt.
    op.execute("UPDATE cases SET accepted_at = received_at WHERE accepted_at IS NULL")
    with op.batch_alter_table("cases") as batch:
        for name in ("delivery_note", "delivery", "delivered_at", "reason", "missing", "received_at"):
            batch.drop_column(name)
        batch.alter_column("accepted_at", existing_type=sa.DateTime(), nullable=False)
