"""cases due_guessed index: start-up finds the guessed due dates without reading every case

A partial index (PostgreSQL and SQLite both have them) holds only the rows still marked, so it
stays a handful of entries however many years of cases the table keeps. Each database uses it
only for a WHERE written as its own predicate: SQLAlchemy writes `WHERE due_guessed` on
PostgreSQL (which `IS true` would not match) and `WHERE due_guessed = 1` on SQLite.

Revision ID: 0012_cases_due_guessed_index
Revises: 0011_due_guessed
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_cases_due_guessed_index"
down_revision = "0011_due_guessed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_due_guessed", "cases", ["id"], sqlite_where=sa.text("due_guessed = 1"),
                    postgresql_where=sa.text("due_guessed"))


def downgrade() -> None:
    op.drop_index("ix_cases_due_guessed", table_name="cases")
