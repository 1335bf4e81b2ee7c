"""one rating per case per node; the slip's ballot code; why a rating was voided

- ratings.void_kind: appeal | superseded | duplicate, filled for ratings voided before it
  existed (a voided default was superseded by a real rating; any other voided one by 申诉复核);
- 一事一评: where a case already has several citizens' ratings for one node (allowed before, one
  per channel), the first stays and the later ones are voided as `duplicate`, with the reason,
  and their open 差评 follow-ups are closed as voided; then a partial unique index on
  (case_id, node) over the counted ratings holds the rule on SQLite and PostgreSQL;
- tickets.ballot_code: the random code in the slip's barcode. Tickets issued before have none:
  their slips are refused by the slip batch (they were numbered by ticket id, which anyone can type).

Revision ID: 0015_one_rating
Revises: 0014_matter_process
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = "0015_one_rating"
down_revision = "0014_matter_process"
branch_labels = None
depends_on = None

ONE_PER_NODE_SQLITE = "is_default = 0 AND (void_kind IS NULL OR void_kind != 'duplicate')"
ONE_PER_NODE_PG = "NOT is_default AND (void_kind IS NULL OR void_kind <> 'duplicate')"


def upgrade() -> None:
    op.add_column("ratings", sa.Column("void_kind", sa.String(length=12), nullable=True))
    op.add_column("tickets", sa.Column("ballot_code", sa.String(length=24), nullable=True))
    op.create_index("ix_tickets_ballot_code", "tickets", ["ballot_code"], unique=True)
    ratings = sa.table("ratings", sa.column("id", sa.BigInteger), sa.column("case_id", sa.BigInteger),
                       sa.column("node", sa.String), sa.column("channel", sa.String),
                       sa.column("is_default", sa.Boolean), sa.column("voided", sa.Boolean),
                       sa.column("void_kind", sa.String), sa.column("void_reason", sa.Text),
                       sa.column("voided_at", sa.DateTime), sa.column("rated_at", sa.DateTime))
    follow_ups = sa.table("follow_ups", sa.column("rating_id", sa.BigInteger), sa.column("stage", sa.String),
                          sa.column("closed_at", sa.DateTime))
    op.execute(ratings.update().where(ratings.c.voided == sa.true(), ratings.c.is_default == sa.true())
               .values(void_kind="superseded"))
    op.execute(ratings.update().where(ratings.c.voided == sa.true(), ratings.c.is_default == sa.false())
               .values(void_kind="appeal"))
    bind = op.get_bind()
    rows = bind.execute(sa.select(ratings.c.id, ratings.c.case_id, ratings.c.node, ratings.c.rated_at)
                        .where(ratings.c.is_default == sa.false())
                        .order_by(ratings.c.case_id, ratings.c.node, ratings.c.rated_at, ratings.c.id)).all()
    seen = set()
    for rating_id, case_id, node, rated_at in rows:
        if (case_id, node) not in seen:
            seen.add((case_id, node))
            continue
        bind.execute(ratings.update().where(ratings.c.id == rating_id).values(
            voided=True, void_kind="duplicate", voided_at=rated_at,
            void_reason="一事一评：该办件这一环节已有更早的评价，本条不计入（系统升级时整理）"))
        bind.execute(follow_ups.update().where(follow_ups.c.rating_id == rating_id,
                                               follow_ups.c.stage.in_(("verify", "fix", "callback")))
                     .values(stage="voided", closed_at=rated_at))
    op.create_index("ux_ratings_case_node", "ratings", ["case_id", "node"], unique=True,
                    sqlite_where=sa.text(ONE_PER_NODE_SQLITE), postgresql_where=sa.text(ONE_PER_NODE_PG))


def downgrade() -> None:
    op.drop_index("ux_ratings_case_node", table_name="ratings")
    op.drop_index("ix_tickets_ballot_code", table_name="tickets")
    op.drop_column("tickets", "ballot_code")
    op.drop_column("ratings", "void_kind")
