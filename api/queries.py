"""Shared query pieces: document summaries, entity lookup, counting, windows of dates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from fastapi import HTTPException
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.schemas import DocumentSummary
from yuqing.db.models import Document, EntityMentionRow
from yuqing.settings import Settings, WatchEntity

SNIPPET_CHARS = 160
DEFAULT_WINDOW_DAYS = 30


def entity_ids_by_document(session: Session, doc_ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    if doc_ids:
        rows = session.execute(
            select(EntityMentionRow.doc_id, EntityMentionRow.entity_id)
            .where(EntityMentionRow.doc_id.in_(list(doc_ids)))
            .order_by(EntityMentionRow.doc_id, EntityMentionRow.entity_id)
        )
        for doc_id, entity_id in rows:
            found[doc_id].append(entity_id)
    return found


def summarize(document: Document, entities: list[str] | None = None, snippet: str | None = None) -> DocumentSummary:
    return DocumentSummary(
        id=document.id,
        title=document.title,
        url=document.url,
        source=document.source,
        language=document.language,
        published_at=document.published_at,
        sentiment=document.sentiment,  # type: ignore[arg-type]
        risk=document.risk,
        story_id=document.story_id,
        duplicate_of=document.duplicate_of,
        has_transcript=bool(document.transcript_text),
        snippet=snippet if snippet is not None else document.text[:SNIPPET_CHARS],
        entities=entities or [],
    )


def summaries(session: Session, documents: Sequence[Document]) -> list[DocumentSummary]:
    entities = entity_ids_by_document(session, [d.id for d in documents])
    return [summarize(d, entities.get(d.id)) for d in documents]


def find_entity(settings: Settings, name_or_id: str) -> WatchEntity | None:
    wanted = name_or_id.strip().lower()
    for entity in settings.watchlist:
        if wanted == entity.id.lower() or wanted in (n.lower() for n in entity.names):
            return entity
    return None


def watched_entity(settings: Settings, name_or_id: str) -> WatchEntity:
    entity = find_entity(settings, name_or_id)
    if entity is None:
        raise HTTPException(404, f"{name_or_id!r} is not on the watchlist; GET /entities lists watched entities")
    return entity


def count(session: Session, query: Select) -> int:  # type: ignore[type-arg]
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def count_up_to(session: Session, query: Select, cap: int) -> tuple[int, bool]:  # type: ignore[type-arg]
    """(matches, exact): counting stops after `cap`, so a search matching half a million documents stays fast."""
    found = session.scalar(select(func.count()).select_from(query.order_by(None).limit(cap + 1).subquery())) or 0
    return min(found, cap), found <= cap


def window(since: date | None, until: date | None, default_days: int = DEFAULT_WINDOW_DAYS) -> tuple[date, date]:
    """The inclusive date range of a trend: `until` defaults to today (UTC), `since` to `default_days` before it."""
    end = until or datetime.now(UTC).date()
    start = since or end - timedelta(days=default_days - 1)
    if start > end:
        raise HTTPException(422, f"query.since: {start} is after until {end}")
    return start, end


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
