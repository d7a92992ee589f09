"""Response models (the analysis itself is the stage contract)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from yuqing.contracts import Analysis, Sentiment, TranscriptSegment

T = TypeVar("T")


class ErrorBody(BaseModel):
    type: str
    message: str
    code: int


class ErrorResponse(BaseModel):
    """The one error envelope every route returns."""

    error: ErrorBody


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


class DocumentSummary(BaseModel):
    id: str
    title: str
    url: str
    source: str
    language: str | None
    published_at: datetime | None
    sentiment: Sentiment | None
    risk: str | None
    story_id: str
    duplicate_of: str | None
    has_transcript: bool
    snippet: str


class TranscriptOut(BaseModel):
    media_sha256: str
    language: str | None
    duration_s: float | None
    segments: list[TranscriptSegment]


class StoryMember(BaseModel):
    id: str
    source: str
    title: str
    published_at: datetime | None
    duplicate_kind: str | None


class DocumentDetail(BaseModel):
    id: str
    title: str
    url: str
    canonical_url: str
    source: str
    language: str | None
    published_at: datetime | None
    crawled_at: datetime
    text: str
    transcripts: list[TranscriptOut]
    analysis: Analysis | None
    story: list[StoryMember]
    quality_issues: list[str]


class DailyCount(BaseModel):
    date: date
    positive: int = 0
    negative: int = 0
    neutral: int = 0


class EntityReport(BaseModel):
    entity_id: str
    name: str
    aliases: list[str]
    mentions: int
    stories: int
    by_sentiment: dict[str, int]
    daily: list[DailyCount]
    top_sources: dict[str, int]
    latest_negative: list[DocumentSummary]


class CrawlRequest(BaseModel):
    """Crawl one configured source now; arbitrary URLs are never accepted."""

    model_config = ConfigDict(extra="forbid")

    source: str


class CrawlQueued(BaseModel):
    source: str
    task_id: str
    queue: str


class CrawlRunOut(BaseModel):
    id: str
    source: str
    started_at: datetime
    finished_at: datetime | None
    stats: dict[str, int | float | str | None]
