"""Stories: an original article and its reprints (near-duplicate clusters), most reprinted first."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import PaginationDep, ReadCaller, SessionDep, SettingsDep, day_query
from api.queries import count, day_start, watched_entity
from api.schemas import ErrorResponse, Page, StoryOut
from yuqing.db.models import EntityMentionRow, StoryRow

router = APIRouter(
    prefix="/stories",
    tags=["stories"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)


def story_out(row: StoryRow) -> StoryOut:
    by_sentiment = {"positive": row.positive, "negative": row.negative, "neutral": row.neutral}
    dominant = (
        max(by_sentiment, key=lambda s: (by_sentiment[s], s == "negative")) if any(by_sentiment.values()) else None
    )
    return StoryOut(
        id=row.id,
        title=row.title,
        first_source=row.first_source,
        first_published_at=row.first_published_at,
        last_published_at=row.last_published_at,
        documents=row.documents,
        reprints=row.documents - 1,
        outlets=list(row.outlets),
        sentiment=dominant,
        by_sentiment=by_sentiment,  # type: ignore[arg-type]
    )


@router.get("", response_model=Page[StoryOut], responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})
def list_stories(
    _: ReadCaller,
    session: SessionDep,
    settings: SettingsDep,
    pagination: PaginationDep,
    entity: Annotated[
        str | None, Query(max_length=100, description="only stories that mention this watched entity")
    ] = None,
    since: Annotated[date | None, day_query("active (last published) on or after")] = None,
    until: Annotated[date | None, day_query("first published on or before")] = None,
    min_documents: Annotated[int, Query(ge=1, le=100000, description="2 = only stories that were reprinted")] = 1,
    sentiment: Annotated[
        Literal["positive", "negative", "neutral"] | None, Query(description="stories with at least one such member")
    ] = None,
    sort: Annotated[
        Literal["documents", "recent"], Query(description="most reprinted, or most recently active")
    ] = "documents",
) -> Page[StoryOut]:
    """Clusters of reprints: first publisher, reprint count, outlets, time span, sentiment of the members."""
    query = select(StoryRow).where(StoryRow.documents >= min_documents)
    if entity:
        watched = watched_entity(settings, entity)
        query = query.where(
            StoryRow.id.in_(select(EntityMentionRow.story_id).where(EntityMentionRow.entity_id == watched.id))
        )
    if since:
        query = query.where(StoryRow.last_published_at >= day_start(since))
    if until:
        query = query.where(StoryRow.first_published_at < day_start(until + timedelta(days=1)))
    if sentiment:
        query = query.where(getattr(StoryRow, sentiment) > 0)
    total = count(session, query)
    order = (
        [StoryRow.documents.desc(), StoryRow.last_published_at.desc(), StoryRow.id]
        if sort == "documents"
        else [StoryRow.last_published_at.desc(), StoryRow.id]
    )
    rows = session.scalars(query.order_by(*order).offset(pagination.offset).limit(pagination.page_size)).all()
    return Page(items=[story_out(r) for r in rows], total=total, page=pagination.page, page_size=pagination.page_size)
