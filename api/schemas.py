"""Request and response models of the report API (the analysis itself is the stage contract).

These shapes are the dashboard's contract too: add fields, never rename or remove them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from yuqing.contracts import Analysis, RiskLevel, Sentiment, TranscriptSegment

T = TypeVar("T")

Scope = Literal["read", "write", "admin"]
AlertKind = Literal["negative_volume", "negative_share", "high_risk"]
DeliveryStatus = Literal["not_configured", "pending", "delivered", "failed"]
FeedbackField = Literal["sentiment", "risk", "entity_sentiment", "entity_missing", "entity_wrong"]
NOT_MENTIONED = "not_mentioned"


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields and NUL characters (PostgreSQL text cannot hold them) are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class ErrorBody(BaseModel):
    type: str = Field(
        description="machine-readable kind: not_found, invalid_request, unauthorized, forbidden, rate_limited, ..."
    )
    message: str = Field(description="what went wrong and what to do about it")
    code: int = Field(description="the HTTP status")


class ErrorResponse(BaseModel):
    """The one error envelope every route returns."""

    error: ErrorBody


class Page(BaseModel, Generic[T]):
    """One page of a list; `total` counts every match, `page` starts at 1."""

    items: list[T]
    total: int
    page: int
    page_size: int
    total_exact: bool = Field(default=True, description="false when `total` stopped counting at a cap (there are more)")


# --- documents ---------------------------------------------------------------------------


class DocumentSummary(BaseModel):
    id: str
    title: str
    url: str
    source: str
    language: str | None
    published_at: datetime | None
    sentiment: Sentiment | None = Field(description="overall sentiment of the newest analysis; null before analysis")
    risk: str | None
    story_id: str
    duplicate_of: str | None
    has_transcript: bool
    snippet: str = Field(description="start of the text, or the text around the first search hit")
    entities: list[str] = Field(default_factory=list, description="watched entity ids the document mentions")


class TranscriptOut(BaseModel):
    media_sha256: str
    language: str | None
    duration_s: float | None
    segments: list[TranscriptSegment] = Field(description="start/end in seconds into the media file")


class StoryMember(BaseModel):
    id: str
    source: str
    title: str
    published_at: datetime | None
    duplicate_kind: str | None


class Highlight(BaseModel):
    """A verified evidence span in the document's `text` (Python string offsets, end exclusive)."""

    start: int
    end: int
    quote: str
    sentiment: Sentiment | None = Field(description="the sentiment the quote supports")
    entity_id: str | None = Field(description="the watched entity the quote is about; null for overall evidence")


class FeedbackOut(BaseModel):
    id: int
    doc_id: str
    field: FeedbackField
    entity_id: str | None
    old_value: str | None
    new_value: str
    comment: str
    created_by: str
    created_at: datetime


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
    analysis: Analysis | None = Field(description="the newest analysis (any analyzer version)")
    highlights: list[Highlight] = Field(default_factory=list, description="evidence spans checked against `text`")
    story_id: str = ""
    story: list[StoryMember] = Field(description="every document of the same story, first published first")
    feedback: list[FeedbackOut] = Field(default_factory=list, description="analysts' corrections, newest first")
    quality_issues: list[str]


# --- entities ----------------------------------------------------------------------------


class DailyCount(BaseModel):
    date: date
    positive: int = 0
    negative: int = 0
    neutral: int = 0


class HourlyCount(BaseModel):
    hour: datetime = Field(description="start of the hour (UTC)")
    positive: int = 0
    negative: int = 0
    neutral: int = 0


class EntitySummary(BaseModel):
    """A watched entity with its counts over the requested window."""

    entity_id: str
    name: str
    type: str
    aliases: list[str]
    mentions: int
    by_sentiment: dict[str, int] = Field(description="positive/negative/neutral mention counts")
    negative_share: float = Field(description="negative / mentions (0 when there are none)")
    last_mentioned: date | None


class CoMention(BaseModel):
    entity_id: str
    name: str
    documents: int = Field(description="documents that mention both entities")


class EntityReport(BaseModel):
    """One watched entity: counts, trends, sources, neighbours and the latest negative items."""

    entity_id: str
    name: str
    aliases: list[str]
    since: date | None = Field(default=None, description="window start (inclusive)")
    until: date | None = Field(default=None, description="window end (inclusive)")
    mentions: int
    stories: int = Field(description="stories whose first document, published in the window, mentions the entity")
    by_sentiment: dict[str, int]
    daily: list[DailyCount]
    hourly: list[HourlyCount] = Field(default_factory=list, description="the last 48 hours of the window")
    top_sources: dict[str, int]
    co_mentioned: list[CoMention] = Field(
        default_factory=list,
        description="other watched entities named in the same documents, most shared documents first",
    )
    latest_negative: list[DocumentSummary]


# --- stories -----------------------------------------------------------------------------


class StoryOut(BaseModel):
    """A near-duplicate cluster: an original and its reprints."""

    id: str = Field(description="id of the first published member")
    title: str
    first_source: str
    first_published_at: datetime | None
    last_published_at: datetime | None
    documents: int
    reprints: int = Field(description="documents - 1")
    outlets: list[str]
    sentiment: Sentiment | None = Field(description="the most common sentiment of its members")
    by_sentiment: dict[str, int]


# --- daily report ------------------------------------------------------------------------


class Headline(BaseModel):
    documents: int
    mentions: int
    negative: int
    negative_share: float
    high_risk: int
    documents_change: float | None = Field(description="relative change vs the previous day; null when it had none")
    negative_change: float | None


class EntityDay(BaseModel):
    entity_id: str
    name: str
    mentions: int
    negative: int
    positive: int
    neutral: int
    negative_share: float
    previous_mentions: int
    previous_negative: int
    mentions_change: float | None
    negative_change: float | None


class EvidenceQuote(BaseModel):
    quote: str
    start: int
    end: int


class NegativeStory(BaseModel):
    story_id: str
    title: str
    first_source: str
    documents: int
    outlets: list[str]
    entities: list[str]
    risk: str | None
    doc_id: str = Field(description="the member whose evidence is shown")
    evidence: list[EvidenceQuote]


class NewEntity(BaseModel):
    entity_id: str
    name: str
    mentions: int


class ReportRow(BaseModel):
    """One document of the report day (the CSV/XLSX export)."""

    doc_id: str
    published_at: datetime | None
    source: str
    title: str
    url: str
    sentiment: str | None
    risk: str | None
    entities: str = Field(description="entity_id:sentiment pairs, comma-separated")
    story_id: str
    duplicate_of: str | None


class DailyReport(BaseModel):
    date: date
    previous_date: date
    entities: list[str] = Field(description="entity ids the report covers (all watched when none were asked for)")
    headline: Headline
    by_entity: list[EntityDay]
    top_negative_stories: list[NegativeStory]
    new_entities: list[NewEntity] = Field(description="watched entities first mentioned on this day")
    generated_at: datetime


# --- alerts ------------------------------------------------------------------------------


class AlertRuleIn(RequestBody):
    """Fire when an entity's negative coverage spikes against its own baseline, or a high-risk item appears."""

    entity: str = Field(min_length=1, max_length=100, description="watched entity id, name or alias")
    kind: AlertKind = "negative_volume"
    window_days: int = Field(default=14, ge=3, le=90, description="days of baseline before the evaluated day")
    z_threshold: float = Field(default=3.0, gt=0, le=20)
    min_count: int = Field(
        default=5, ge=1, le=100000, description="negative mentions needed on the day before a spike counts"
    )
    webhook_url: HttpUrl | None = Field(default=None, description="POST each alert here (HMAC-SHA256 signed)")


class AlertRuleOut(BaseModel):
    id: int
    entity_id: str
    kind: AlertKind
    window_days: int
    z_threshold: float
    min_count: int
    webhook_url: str | None
    created_by: str
    created_at: datetime


class AlertOut(BaseModel):
    id: int
    rule_id: int | None
    entity_id: str
    kind: AlertKind
    day: date
    observed: float = Field(description="negative count, negative share, or the document's risk (1.0)")
    baseline_mean: float | None
    baseline_std: float | None
    z_score: float | None
    message: str
    evidence_doc_ids: list[str]
    created_at: datetime
    delivery_status: DeliveryStatus
    delivery_attempts: int
    last_error: str | None


# --- feedback ----------------------------------------------------------------------------


class FeedbackIn(RequestBody):
    """A correction of one label on one document (kept for evaluation and fine-tuning data)."""

    doc_id: str = Field(min_length=1, max_length=40)
    field: FeedbackField = Field(
        description="sentiment (overall), risk, entity_sentiment (the sentiment towards a found entity is wrong), "
        "entity_missing (the document is about an entity the analysis missed), "
        "entity_wrong (the document is not about an entity the analysis linked)"
    )
    entity: str | None = Field(
        default=None, max_length=100, description="watched entity id/name; required for the entity_* fields"
    )
    new_value: str = Field(
        min_length=1,
        max_length=40,
        description="sentiment, entity_sentiment, entity_missing: positive/negative/neutral; risk: low/medium/high; "
        "entity_wrong: not_mentioned",
    )
    comment: str = Field(default="", max_length=2000)


# --- crawls ------------------------------------------------------------------------------


class CrawlRequest(RequestBody):
    """Crawl one configured source now; arbitrary URLs are never accepted."""

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


# --- API keys ----------------------------------------------------------------------------


class ApiKeyIn(RequestBody):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w.@\- ]+$")
    scope: Scope = "read"


class ApiKeyOut(BaseModel):
    prefix: str = Field(description="public id of the key (its first characters)")
    name: str
    scope: Scope
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the secret: shown once, store it now")


RiskFilter = RiskLevel
