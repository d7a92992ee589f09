"""entity day rollups: mentions per entity and day, by sentiment, by source, and with each other entity

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Entity trends and rankings over a month of a busy entity would otherwise aggregate tens of
thousands of mention rows per request; these tables hold the same counts per day.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entity_day_sentiment",
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sentiment", sa.String(length=8), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("originals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "day", "sentiment"),
    )
    op.create_table(
        "entity_day_source",
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "day", "source"),
    )
    op.create_table(
        "entity_day_comention",
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("other_id", sa.String(length=100), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "day", "other_id"),
    )
    op.execute(
        "INSERT INTO entity_day_comention (entity_id, day, other_id, mentions) "
        "SELECT m.entity_id, m.published_date, o.entity_id, count(*) FROM entity_mentions m "
        "JOIN entity_mentions o ON o.doc_id = m.doc_id AND o.entity_id <> m.entity_id "
        "WHERE m.published_date IS NOT NULL GROUP BY m.entity_id, m.published_date, o.entity_id"
    )
    op.execute(
        "INSERT INTO entity_day_sentiment (entity_id, day, sentiment, mentions, originals) "
        "SELECT entity_id, published_date, sentiment, count(*), "
        "sum(CASE WHEN doc_id = story_id THEN 1 ELSE 0 END) FROM entity_mentions "
        "WHERE published_date IS NOT NULL GROUP BY entity_id, published_date, sentiment"
    )
    op.execute(
        "INSERT INTO entity_day_source (entity_id, day, source, mentions) "
        "SELECT entity_id, published_date, coalesce(source, ''), count(*) FROM entity_mentions "
        "WHERE published_date IS NOT NULL GROUP BY entity_id, published_date, coalesce(source, '')"
    )


def downgrade() -> None:
    op.drop_table("entity_day_comention")
    op.drop_table("entity_day_source")
    op.drop_table("entity_day_sentiment")
