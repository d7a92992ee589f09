"""Typed records that stages exchange (the only thing they share).

Each record carries ``schema_version`` so a reader can refuse data written by
an incompatible writer. The same models are Scrapy items, task arguments,
the source of the Spark schema and API response models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

SCHEMA_VERSION = 1

Sentiment = Literal["positive", "negative", "neutral"]
RiskLevel = Literal["low", "medium", "high"]
EntityType = Literal["ORG", "PER", "LOC", "PRODUCT"]
MediaKind = Literal["audio", "video"]
Score = Annotated[float, Field(ge=-1.0, le=1.0)]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)

    schema_version: int = SCHEMA_VERSION


class MediaAsset(Contract):
    """An audio or video file found on a page, stored once by content hash."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    url: str
    key: str = Field(description="object-store key of the bytes, raw/media/<sha256>.<ext>")
    kind: MediaKind
    content_type: str | None = None
    size_bytes: int = Field(ge=0)
    duration_s: float | None = Field(default=None, ge=0)


class RawDocument(Contract):
    """One crawled page, as extracted (before cleaning)."""

    id: str = Field(description="stable hash of the canonical URL")
    url: str
    canonical_url: str
    source: str
    title: str
    text: str
    html_key: str | None = Field(default=None, description="object-store key of the page as fetched")
    published_at: datetime | None = None
    crawled_at: datetime
    language: str | None = None
    author: str | None = None
    media: list[MediaAsset] = Field(default_factory=list)


class TranscriptSegment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    reliable: bool = True
    flags: list[str] = Field(default_factory=list, description="why a segment is unreliable")


class Transcript(Contract):
    """Speech of one media asset, with timestamps."""

    media_sha256: str
    media_key: str
    language: str | None = None
    language_probability: float | None = None
    duration_s: float | None = None
    segments: list[TranscriptSegment] = Field(default_factory=list)
    backend: str
    model: str
    decode_options: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _ignore_stored_text(cls, data: Any) -> Any:
        # `text` is derived and dumped for readers such as the Spark cleaner; on load it is recomputed.
        if isinstance(data, dict) and "text" in data:
            data = {k: v for k, v in data.items() if k != "text"}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def text(self) -> str:
        """Text of the reliable segments only: unreliable ones never feed analysis."""
        return "".join(s.text for s in self.segments if s.reliable).strip()


class CleanDocument(Contract):
    """One document after cleaning, with its duplicate/story links."""

    id: str
    url: str
    canonical_url: str
    source: str
    title: str
    text: str = Field(description="clean article text, transcripts appended after a marker")
    transcript_text: str | None = None
    media_sha256: list[str] = Field(default_factory=list)
    language: str | None = None
    published_at: datetime | None = None
    crawled_at: datetime
    content_hash: str
    story_id: str = Field(description="id of the story's canonical member (earliest published)")
    duplicate_of: str | None = None
    duplicate_kind: Literal["exact", "near"] | None = None
    quality_issues: list[str] = Field(default_factory=list, description="empty when the document passes")


class Evidence(BaseModel):
    """A quote from the document; offsets are computed by us, never trusted."""

    model_config = ConfigDict(extra="forbid")

    quote: str = Field(min_length=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class EntityMention(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    type: EntityType
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    entity_id: str | None = Field(default=None, description="watchlist id when linked, else None")


class TargetSentiment(BaseModel):
    """Sentiment towards one watched entity."""

    model_config = ConfigDict(extra="forbid")

    entity_id: str
    name: str
    sentiment: Sentiment
    score: Score
    evidence: list[Evidence] = Field(default_factory=list)


class Analysis(Contract):
    """What an analyzer says about one document."""

    doc_id: str
    analyzer: str = Field(description="e.g. offline-lexicon, llm")
    analyzer_version: str = Field(description="analyzer + prompt + model version; the upsert key with doc_id")
    prompt_version: str | None = None
    model: str | None = None
    sentiment: Sentiment
    score: Score
    targets: list[TargetSentiment] = Field(default_factory=list)
    entities: list[EntityMention] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    summary: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    risk: RiskLevel = "low"
    low_confidence: bool = False
    unverified_quotes: int = Field(default=0, ge=0, description="quotes the model gave that are not in the text (dropped)")
    flags: list[str] = Field(default_factory=list, description="e.g. prompt_injection: the text tries to instruct the analyzer")
    created_at: datetime


class AnalyzeRequest(BaseModel):
    """One input line of ``yuqing analyze``."""

    model_config = ConfigDict(extra="ignore")

    id: str
    title: str = ""
    text: str
    published_at: datetime | None = None
