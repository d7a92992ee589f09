"""Shared query pieces: the newest analysis of each document, summaries, entity lookup."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.schemas import DocumentSummary
from yuqing.db.models import AnalysisRow, Document
from yuqing.settings import Settings, WatchEntity

SNIPPET_CHARS = 160


def newest_analysis_ids() -> Select:  # type: ignore[type-arg]
    """One row per document: the id of its newest analysis (any analyzer version)."""
    return select(func.max(AnalysisRow.id).label("analysis_id")).group_by(AnalysisRow.doc_id)


def documents_with_analysis() -> Select:  # type: ignore[type-arg]
    newest = newest_analysis_ids().subquery()
    latest = select(AnalysisRow).join(newest, AnalysisRow.id == newest.c.analysis_id).subquery()
    return select(Document, latest.c.sentiment, latest.c.risk).outerjoin(latest, latest.c.doc_id == Document.id)


def summarize(document: Document, sentiment: str | None, risk: str | None) -> DocumentSummary:
    return DocumentSummary(
        id=document.id,
        title=document.title,
        url=document.url,
        source=document.source,
        language=document.language,
        published_at=document.published_at,
        sentiment=sentiment,  # type: ignore[arg-type]
        risk=risk,
        story_id=document.story_id,
        duplicate_of=document.duplicate_of,
        has_transcript=bool(document.transcript_text),
        snippet=document.text[:SNIPPET_CHARS],
    )


def find_entity(settings: Settings, name_or_id: str) -> WatchEntity | None:
    wanted = name_or_id.strip().lower()
    for entity in settings.watchlist:
        if wanted == entity.id.lower() or wanted in (n.lower() for n in entity.names):
            return entity
    return None


def count(session: Session, query: Select) -> int:  # type: ignore[type-arg]
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
