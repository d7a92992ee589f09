"""Tables analysts query. Bulky, append-only data stays in the object store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zones: it would store a +08:00 time as its wall-clock digits and hand back a
    naive value, so times are converted to UTC before they are stored and marked UTC when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime()}


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_source_published", "source", "published_at"),
        Index("ix_documents_sentiment_published", "sentiment", "published_at"),
        Index("ix_documents_risk_published", "risk", "published_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    transcript_text: Mapped[str | None] = mapped_column(Text)
    media_sha256: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    crawled_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    story_id: Mapped[str] = mapped_column(String(40), index=True)
    duplicate_of: Mapped[str | None] = mapped_column(String(40))
    duplicate_kind: Mapped[str | None] = mapped_column(String(8))
    quality_issues: Mapped[list[Any]] = mapped_column(default=list)
    # The newest analysis, copied here by upsert_analysis so lists and filters need no per-request aggregate.
    analysis_id: Mapped[int | None] = mapped_column(Integer)
    sentiment: Mapped[str | None] = mapped_column(String(8))
    risk: Mapped[str | None] = mapped_column(String(8))


class TranscriptRow(Base):
    __tablename__ = "transcripts"

    media_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(16))
    duration_s: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class AnalysisRow(Base):
    __tablename__ = "analyses"
    __table_args__ = (UniqueConstraint("doc_id", "analyzer_version", name="uq_analyses_doc_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    analyzer: Mapped[str] = mapped_column(String(40))
    analyzer_version: Mapped[str] = mapped_column(String(120))
    sentiment: Mapped[str] = mapped_column(String(8), index=True)
    score: Mapped[float] = mapped_column(Float)
    risk: Mapped[str] = mapped_column(String(8))
    low_confidence: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class EntityMentionRow(Base):
    """One watched entity in one document, as the newest analysis of that document sees it."""

    __tablename__ = "entity_mentions"
    __table_args__ = (
        UniqueConstraint("doc_id", "entity_id", name="uq_mentions_doc_entity"),
        # Covering indexes: one entity's daily trend, sentiment mix, top sources, stories and co-mentions (via
        # doc_id, carried along on PostgreSQL) are index-only scans.
        Index(
            "ix_mentions_entity_day_sentiment_source",
            "entity_id",
            "published_date",
            "sentiment",
            "source",
            "story_id",
            postgresql_include=["doc_id"],
        ),
        Index("ix_mentions_entity_time_sentiment", "entity_id", "published_at", "sentiment"),
        Index(
            "ix_mentions_entity_sentiment_time", "entity_id", "sentiment", "published_at", postgresql_include=["doc_id"]
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    entity_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    sentiment: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    published_date: Mapped[date | None] = mapped_column(Date)
    published_at: Mapped[datetime | None]
    source: Mapped[str | None] = mapped_column(String(100))
    story_id: Mapped[str | None] = mapped_column(String(40))


class StageFailure(Base):
    """An item a stage could not process, with the reason (retried on the next run if retryable)."""

    __tablename__ = "stage_failures"
    __table_args__ = (UniqueConstraint("stage", "item_id", name="uq_failures_stage_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stage: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    retryable: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(100), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StoryRow(Base):
    """A near-duplicate cluster, kept up to date by the repository whenever a member or its analysis changes."""

    __tablename__ = "stories"
    __table_args__ = (
        Index("ix_stories_last_published", "last_published_at"),
        Index("ix_stories_documents", "documents"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    first_source: Mapped[str] = mapped_column(String(100))
    first_published_at: Mapped[datetime | None]
    last_published_at: Mapped[datetime | None]
    documents: Mapped[int] = mapped_column(Integer)
    outlets: Mapped[list[Any]] = mapped_column(default=list)
    positive: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)
    neutral: Mapped[int] = mapped_column(Integer, default=0)


class ApiKeyRow(Base):
    """An API key: only the SHA-256 of the secret is stored; `prefix` is its public id."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AlertRuleRow(Base):
    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_id: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    window_days: Mapped[int] = mapped_column(Integer)
    z_threshold: Mapped[float] = mapped_column(Float)
    min_count: Mapped[int] = mapped_column(Integer)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class AlertRow(Base):
    """A fired alert. `dedup_key` makes evaluation idempotent: a rule fires once per day (or per document)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_entity_day", "entity_id", "day"), Index("ix_alerts_created", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="SET NULL"))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    entity_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    day: Mapped[date] = mapped_column(Date)
    observed: Mapped[float] = mapped_column(Float)
    baseline_mean: Mapped[float | None] = mapped_column(Float)
    baseline_std: Mapped[float | None] = mapped_column(Float)
    z_score: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    evidence_doc_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    webhook_url: Mapped[str | None] = mapped_column(Text)
    delivery_status: Mapped[str] = mapped_column(String(16), default="not_configured")
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class FeedbackRow(Base):
    """An analyst's correction of one label; kept as written for evaluation and fine-tuning data."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    analysis_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class EntityDaySentiment(Base):
    """Mentions per entity, day and sentiment: trends and rankings read a few thousand rows, not millions.

    Kept by the repository as mentions are written (counts go up and down; a zero row is harmless).
    """

    __tablename__ = "entity_day_sentiment"

    entity_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sentiment: Mapped[str] = mapped_column(String(8), primary_key=True)
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    # Of those, mentions in the document that opens its story: summed over days, the entity's stories.
    originals: Mapped[int] = mapped_column(Integer, default=0)


class EntityDaySource(Base):
    """Mentions per entity, day and source (an entity's top sources over a window)."""

    __tablename__ = "entity_day_source"

    entity_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    mentions: Mapped[int] = mapped_column(Integer, default=0)


class EntityDayCoMention(Base):
    """Documents per day that mention both an entity and another watched entity (its neighbours)."""

    __tablename__ = "entity_day_comention"

    entity_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    other_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    mentions: Mapped[int] = mapped_column(Integer, default=0)
