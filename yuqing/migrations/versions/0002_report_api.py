"""report API: search index, denormalised sentiment, stories, API keys, alerts, feedback

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Full-text search that works for Chinese (no word segmentation needed):
- SQLite: an FTS5 table with the trigram tokenizer, kept in step with ``documents`` by triggers.
  Its rowid mirrors the document's rowid, so an update replaces one row without a scan.
- PostgreSQL: a pg_trgm GIN index on ``title || ' ' || text`` (the extension must be creatable by the
  migrating role; the database's LC_CTYPE must classify CJK as letters, e.g. C.UTF-8 or zh_CN.UTF-8).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEARCH_EXPRESSION = "(title || ' ' || text)"


def _search_index_upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("CREATE VIRTUAL TABLE documents_fts USING fts5(doc_id UNINDEXED, title, body, tokenize='trigram')")
        op.execute("INSERT INTO documents_fts(rowid, doc_id, title, body) SELECT rowid, id, title, text FROM documents")
        op.execute(
            "CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN "
            "INSERT INTO documents_fts(rowid, doc_id, title, body) VALUES (new.rowid, new.id, new.title, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN "
            "DELETE FROM documents_fts WHERE rowid = old.rowid; END"
        )
        op.execute(
            "CREATE TRIGGER documents_fts_update AFTER UPDATE OF title, text ON documents BEGIN "
            "DELETE FROM documents_fts WHERE rowid = old.rowid; "
            "INSERT INTO documents_fts(rowid, doc_id, title, body) VALUES (new.rowid, new.id, new.title, new.text); END"
        )
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX ix_documents_search_trgm ON documents USING gin ({SEARCH_EXPRESSION} gin_trgm_ops)")


def _search_index_downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("documents_fts_insert", "documents_fts_delete", "documents_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS documents_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_documents_search_trgm")


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("analysis_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sentiment", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("risk", sa.String(length=8), nullable=True))
        batch.create_index("ix_documents_source_published", ["source", "published_at"])
        batch.create_index("ix_documents_sentiment_published", ["sentiment", "published_at"])
        batch.create_index("ix_documents_risk_published", ["risk", "published_at"])

    with op.batch_alter_table("entity_mentions") as batch:
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("source", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("story_id", sa.String(length=40), nullable=True))
        batch.drop_index("ix_mentions_entity_day")
        # doc_id rides along (PostgreSQL INCLUDE) so co-mentions and latest items need no table lookups.
        batch.create_index(
            "ix_mentions_entity_day_sentiment_source",
            ["entity_id", "published_date", "sentiment", "source", "story_id"],
            postgresql_include=["doc_id"],
        )
        batch.create_index("ix_mentions_entity_time_sentiment", ["entity_id", "published_at", "sentiment"])
        batch.create_index(
            "ix_mentions_entity_sentiment_time",
            ["entity_id", "sentiment", "published_at"],
            postgresql_include=["doc_id"],
        )

    # Fill the copies for data written before this revision: the newest analysis per document, and the
    # mention's time and source from its document.
    op.execute("UPDATE documents SET analysis_id = (SELECT max(a.id) FROM analyses a WHERE a.doc_id = documents.id)")
    op.execute(
        "UPDATE documents SET sentiment = (SELECT a.sentiment FROM analyses a WHERE a.id = documents.analysis_id), "
        "risk = (SELECT a.risk FROM analyses a WHERE a.id = documents.analysis_id) WHERE analysis_id IS NOT NULL"
    )
    op.execute(
        "UPDATE entity_mentions SET "
        "published_at = (SELECT coalesce(d.published_at, d.crawled_at) FROM documents d "
        "WHERE d.id = entity_mentions.doc_id), "
        "source = (SELECT d.source FROM documents d WHERE d.id = entity_mentions.doc_id), "
        "story_id = (SELECT d.story_id FROM documents d WHERE d.id = entity_mentions.doc_id)"
    )

    op.create_table(
        "stories",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("first_source", sa.String(length=100), nullable=False),
        sa.Column("first_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("outlets", sa.JSON(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stories_last_published", "stories", ["last_published_at"])
    op.create_index("ix_stories_documents", "stories", ["documents"])

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prefix"),
    )

    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("z_threshold", sa.Float(), nullable=False),
        sa.Column("min_count", sa.Integer(), nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_rules_entity_id", "alert_rules", ["entity_id"])

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("observed", sa.Float(), nullable=False),
        sa.Column("baseline_mean", sa.Float(), nullable=True),
        sa.Column("baseline_std", sa.Float(), nullable=True),
        sa.Column("z_score", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence_doc_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("delivery_status", sa.String(length=16), nullable=False),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
    )
    op.create_index("ix_alerts_entity_day", "alerts", ["entity_id", "day"])
    op.create_index("ix_alerts_created", "alerts", ["created_at"])

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("doc_id", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=True),
        sa.Column("old_value", sa.String(length=200), nullable=True),
        sa.Column("new_value", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["doc_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_doc_id", "feedback", ["doc_id"])

    _search_index_upgrade()
    _fill_stories()


def _fill_stories() -> None:
    """Stories of the documents stored before this revision (later writes keep them current).

    A frozen copy of the repository's logic, so this revision keeps working when that code changes.
    """
    bind = op.get_bind()
    documents = sa.table(
        "documents",
        sa.column("id"),
        sa.column("story_id"),
        sa.column("title"),
        sa.column("source"),
        sa.column("published_at"),
        sa.column("crawled_at"),
        sa.column("sentiment"),
    )
    stories = sa.table(
        "stories",
        sa.column("id"),
        sa.column("title"),
        sa.column("first_source"),
        sa.column("first_published_at"),
        sa.column("last_published_at"),
        sa.column("documents"),
        sa.column("outlets", sa.JSON()),
        sa.column("positive"),
        sa.column("negative"),
        sa.column("neutral"),
    )
    members: dict[str, list] = {}
    for row in bind.execute(sa.select(documents)):
        members.setdefault(row.story_id, []).append(row)
    rows = []
    for story_id, group in members.items():
        group.sort(key=lambda r: (r.published_at or r.crawled_at, r.id))
        first = next((r for r in group if r.id == story_id), group[0])
        times = [r.published_at or r.crawled_at for r in group]
        sentiments = [r.sentiment for r in group]
        rows.append(
            {
                "id": story_id,
                "title": first.title,
                "first_source": first.source,
                "first_published_at": first.published_at,
                "last_published_at": max(times),
                "documents": len(group),
                "outlets": sorted({r.source for r in group}),
                "positive": sentiments.count("positive"),
                "negative": sentiments.count("negative"),
                "neutral": sentiments.count("neutral"),
            }
        )
    if rows:
        op.bulk_insert(stories, rows)


def downgrade() -> None:
    _search_index_downgrade()
    op.drop_index("ix_feedback_doc_id", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_alerts_created", table_name="alerts")
    op.drop_index("ix_alerts_entity_day", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_alert_rules_entity_id", table_name="alert_rules")
    op.drop_table("alert_rules")
    op.drop_table("api_keys")
    op.drop_index("ix_stories_documents", table_name="stories")
    op.drop_index("ix_stories_last_published", table_name="stories")
    op.drop_table("stories")
    with op.batch_alter_table("entity_mentions") as batch:
        batch.drop_index("ix_mentions_entity_sentiment_time")
        batch.drop_index("ix_mentions_entity_time_sentiment")
        batch.drop_index("ix_mentions_entity_day_sentiment_source")
        batch.create_index("ix_mentions_entity_day", ["entity_id", "published_date"])
        batch.drop_column("story_id")
        batch.drop_column("source")
        batch.drop_column("published_at")
    with op.batch_alter_table("documents") as batch:
        batch.drop_index("ix_documents_risk_published")
        batch.drop_index("ix_documents_sentiment_published")
        batch.drop_index("ix_documents_source_published")
        batch.drop_column("risk")
        batch.drop_column("sentiment")
        batch.drop_column("analysis_id")
