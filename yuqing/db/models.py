"""Tables analysts query. Bulky, append-only data stays in the object store."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Document(Base):
    __tablename__ = "documents"

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
        Index("ix_mentions_entity_day", "entity_id", "published_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"))
    entity_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    sentiment: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    published_date: Mapped[date | None] = mapped_column(Date)


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
