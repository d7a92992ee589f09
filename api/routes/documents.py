from __future__ import annotations

import unicodedata
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import or_, select

from api.deps import SessionDep, SettingsDep
from api.queries import count, documents_with_analysis, find_entity, newest_analysis_ids, summarize
from api.schemas import DocumentDetail, DocumentSummary, ErrorResponse, Page, StoryMember, TranscriptOut
from yuqing.contracts import Analysis
from yuqing.db.models import AnalysisRow, Document, EntityMentionRow, TranscriptRow

router = APIRouter(prefix="/documents", tags=["documents"])

SentimentFilter = Literal["positive", "negative", "neutral"]


@router.get("", response_model=Page[DocumentSummary], responses={422: {"model": ErrorResponse}})
def list_documents(
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query(description="words to find in title, text or transcript")] = None,
    entity: Annotated[str | None, Query(description="watched entity id, name or alias")] = None,
    sentiment: Annotated[SentimentFilter | None, Query(description="towards `entity` if given, else overall")] = None,
    source: str | None = None,
    since: Annotated[date | None, Query(description="published on or after (YYYY-MM-DD)")] = None,
    until: Annotated[date | None, Query(description="published on or before (YYYY-MM-DD)")] = None,
    include_duplicates: Annotated[bool, Query(description="also list reprints of the same story")] = True,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Page[DocumentSummary]:
    query = documents_with_analysis()
    if q:
        # Stored text is NFKC-normalised by cleaning (｜ → |, full-width digits → ASCII); match it that way.
        for word in unicodedata.normalize("NFKC", q).split():
            pattern = f"%{word}%"
            query = query.where(or_(Document.title.like(pattern), Document.text.like(pattern)))
    if entity:
        watched = find_entity(settings, entity)
        if watched is None:
            raise HTTPException(404, f"{entity!r} is not on the watchlist; GET /reports/entities lists watched entities")
        mentions = select(EntityMentionRow.doc_id).where(EntityMentionRow.entity_id == watched.id)
        if sentiment:
            mentions = mentions.where(EntityMentionRow.sentiment == sentiment)
        query = query.where(Document.id.in_(mentions))
    elif sentiment:
        query = query.where(query.selected_columns.sentiment == sentiment)
    if source:
        query = query.where(Document.source == source)
    if since:
        query = query.where(Document.published_at >= datetime.combine(since, time.min))
    if until:
        query = query.where(Document.published_at < datetime.combine(until + timedelta(days=1), time.min))
    if not include_duplicates:
        query = query.where(Document.duplicate_of.is_(None))
    total = count(session, query)
    rows = session.execute(
        query.order_by(Document.published_at.desc(), Document.id).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return Page(items=[summarize(*row) for row in rows], total=total, page=page, page_size=page_size)


@router.get("/{doc_id}", response_model=DocumentDetail, responses={404: {"model": ErrorResponse}})
def get_document(doc_id: str, session: SessionDep) -> DocumentDetail:
    document = session.get(Document, doc_id)
    if document is None:
        raise HTTPException(404, f"no document {doc_id!r}")
    analysis_id = session.scalar(newest_analysis_ids().where(AnalysisRow.doc_id == doc_id))
    analysis_row = session.get(AnalysisRow, analysis_id) if analysis_id else None
    transcripts = []
    for sha in document.media_sha256:
        row = session.get(TranscriptRow, sha)
        if row is not None:
            transcripts.append(
                TranscriptOut(media_sha256=sha, language=row.language, duration_s=row.duration_s, segments=row.payload.get("segments", []))
            )
    members = session.scalars(select(Document).where(Document.story_id == document.story_id).order_by(Document.published_at)).all()
    return DocumentDetail(
        id=document.id,
        title=document.title,
        url=document.url,
        canonical_url=document.canonical_url,
        source=document.source,
        language=document.language,
        published_at=document.published_at,
        crawled_at=document.crawled_at,
        text=document.text,
        transcripts=transcripts,
        analysis=Analysis.model_validate(analysis_row.payload) if analysis_row else None,
        story=[StoryMember(id=m.id, source=m.source, title=m.title, published_at=m.published_at, duplicate_kind=m.duplicate_kind) for m in members],
        quality_issues=document.quality_issues,
    )


