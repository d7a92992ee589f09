from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep
from api.queries import documents_with_analysis, find_entity, summarize
from api.schemas import DailyCount, EntityReport, ErrorResponse
from yuqing.db.models import Document, EntityMentionRow
from yuqing.settings import WatchEntity

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/entities", response_model=list[WatchEntity])
def watched_entities(settings: SettingsDep) -> list[WatchEntity]:
    """The watchlist: what reports can be asked for."""
    return settings.watchlist


@router.get("/entities/{name}", response_model=EntityReport, responses={404: {"model": ErrorResponse}})
def entity_report(
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    since: date | None = None,
    until: date | None = None,
    latest: Annotated[int, Query(ge=0, le=50)] = 5,
) -> EntityReport:
    """Mentions of one watched entity: counts by sentiment, a daily trend, top sources, latest negative items."""
    entity = find_entity(settings, name)
    if entity is None:
        raise HTTPException(404, f"{name!r} is not on the watchlist; GET /reports/entities lists watched entities")
    query = (
        select(EntityMentionRow.doc_id, EntityMentionRow.sentiment, EntityMentionRow.published_date, Document.source, Document.story_id)
        .join(Document, Document.id == EntityMentionRow.doc_id)
        .where(EntityMentionRow.entity_id == entity.id)
    )
    if since:
        query = query.where(EntityMentionRow.published_date >= since)
    if until:
        query = query.where(EntityMentionRow.published_date <= until)
    rows = session.execute(query).all()
    by_sentiment = Counter({"positive": 0, "negative": 0, "neutral": 0})
    daily: dict[date, Counter[str]] = defaultdict(Counter)
    sources: Counter[str] = Counter()
    for row in rows:
        by_sentiment[row.sentiment] += 1
        if row.published_date:
            daily[row.published_date][row.sentiment] += 1
        sources[row.source] += 1
    negative_ids = [r.doc_id for r in rows if r.sentiment == "negative"]
    latest_negative = session.execute(
        documents_with_analysis().where(Document.id.in_(negative_ids)).order_by(Document.published_at.desc()).limit(latest)
    ).all()
    return EntityReport(
        entity_id=entity.id,
        name=entity.name,
        aliases=entity.aliases,
        mentions=len(rows),
        stories=len({r.story_id for r in rows}),
        by_sentiment=dict(by_sentiment),
        daily=[DailyCount(date=d, **dict(c)) for d, c in sorted(daily.items())],
        top_sources=dict(sources.most_common(10)),
        latest_negative=[summarize(*row) for row in latest_negative],
    )
