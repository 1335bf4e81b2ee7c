"""matters.process: the one-line 办理流程 printed on the notice slip

Revision ID: 0013_issue21_matter_process
Revises: 0012_cases_due_guessed_index
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = "0013_issue21_matter_process"
down_revision = "0012_cases_due_guessed_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("matters", sa.Column("process", sa.String(200), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("matters", "process")
