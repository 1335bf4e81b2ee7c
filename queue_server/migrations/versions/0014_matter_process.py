"""matters.process: the one-line 办理流程 printed on the notice slip

Revision ID: 0014_matter_process
Revises: 0013_case_lifecycle
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = "0014_matter_process"
down_revision = "0013_case_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("matters", sa.Column("process", sa.String(200), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("matters", "process")
