"""Documents: full-text search with filters, and one document with its evidence, transcript and story."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from api.deps import PaginationDep, ReadCaller, SessionDep, SettingsDep, day_query
from api.queries import count_up_to, day_start, entity_ids_by_document, summarize, watched_entity
from api.schemas import (
    DocumentDetail,
    DocumentSummary,
    ErrorResponse,
    FeedbackOut,
    Highlight,
    Page,
    StoryMember,
    TranscriptOut,
)
from api.search import search_filter, search_terms, snippet
from yuqing.contracts import Analysis
from yuqing.db.models import AnalysisRow, Document, EntityMentionRow, FeedbackRow, TranscriptRow

router = APIRouter(
    prefix="/documents",
    tags=["documents"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)

COUNT_CAP = 1_000  # `total` counts matches up to here (total_exact=false beyond): searches stay fast at 1 M
SentimentFilter = Literal["positive", "negative", "neutral"]
RiskFilter = Literal["low", "medium", "high"]


@router.get(
    "", response_model=Page[DocumentSummary], responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}
)
def list_documents(
    _: ReadCaller,
    session: SessionDep,
    settings: SettingsDep,
    pagination: PaginationDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="words to find in title or text (transcripts included); all must match. "
            "Chinese works without spaces: 3+ characters use the index, 1-2 a substring scan",
        ),
    ] = None,
    entity: Annotated[str | None, Query(max_length=100, description="watched entity id, name or alias")] = None,
    sentiment: Annotated[SentimentFilter | None, Query(description="towards `entity` if given, else overall")] = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    language: Annotated[str | None, Query(max_length=16, description="e.g. zh, en")] = None,
    media: Annotated[
        bool | None, Query(description="true: only documents with a transcript; false: only without")
    ] = None,
    risk: Annotated[RiskFilter | None, Query(description="risk level of the newest analysis")] = None,
    since: Annotated[date | None, day_query("published on or after (YYYY-MM-DD)")] = None,
    until: Annotated[date | None, day_query("published on or before (YYYY-MM-DD)")] = None,
    include_duplicates: Annotated[bool, Query(description="also list reprints of the same story")] = True,
    sort: Annotated[
        Literal["date", "relevance"], Query(description="relevance needs `q`; ties and no `q` sort by date")
    ] = "date",
) -> Page[DocumentSummary]:
    """Search and filter documents, newest first (or most relevant first)."""
    query = select(Document)
    relevance = None
    terms = search_terms(q or "")
    if terms:
        found = search_filter(session.get_bind().dialect.name, q or "")
        assert found is not None
        query = found.apply(query)
        relevance = found.relevance
    if entity:
        watched = watched_entity(settings, entity)
        mentions = select(EntityMentionRow.doc_id).where(EntityMentionRow.entity_id == watched.id)
        if sentiment:
            mentions = mentions.where(EntityMentionRow.sentiment == sentiment)
        query = query.where(Document.id.in_(mentions))
    elif sentiment:
        query = query.where(Document.sentiment == sentiment)
    if source:
        query = query.where(Document.source == source)
    if language:
        query = query.where(Document.language == language)
    if media is not None:
        query = query.where(Document.transcript_text.is_not(None) if media else Document.transcript_text.is_(None))
    if risk:
        query = query.where(Document.risk == risk)
    if since:
        query = query.where(Document.published_at >= day_start(since))
    if until:
        query = query.where(Document.published_at < day_start(until + timedelta(days=1)))
    if not include_duplicates:
        query = query.where(Document.duplicate_of.is_(None))
    total, exact = count_up_to(session, query, COUNT_CAP)
    order = [Document.published_at.desc(), Document.id]
    if sort == "relevance" and relevance is not None:
        order.insert(0, relevance.desc())
    documents = session.scalars(query.order_by(*order).offset(pagination.offset).limit(pagination.page_size)).all()
    entities = entity_ids_by_document(session, [d.id for d in documents])
    items = [summarize(d, entities.get(d.id), snippet(d.text, terms) if terms else None) for d in documents]
    return Page(items=items, total=total, page=pagination.page, page_size=pagination.page_size, total_exact=exact)


def highlights(text: str, analysis: Analysis) -> list[Highlight]:
    """Evidence spans that really are where they say in `text` (anything else is dropped, never shown misplaced)."""
    spans = [(e, analysis.sentiment, None) for e in analysis.evidence]
    spans += [(e, t.sentiment, t.entity_id) for t in analysis.targets for e in t.evidence]
    found = []
    for evidence, sentiment, entity_id in spans:
        if 0 <= evidence.start < evidence.end <= len(text) and text[evidence.start : evidence.end] == evidence.quote:
            found.append(
                Highlight(
                    start=evidence.start,
                    end=evidence.end,
                    quote=evidence.quote,
                    sentiment=sentiment,
                    entity_id=entity_id,
                )
            )
    return sorted(found, key=lambda h: (h.start, h.end))


@router.get("/{doc_id}", response_model=DocumentDetail, responses={404: {"model": ErrorResponse}})
def get_document(doc_id: str, _: ReadCaller, session: SessionDep) -> DocumentDetail:
    """One document: text, transcripts with timestamps, the newest analysis with verified evidence spans, its story."""
    document = session.get(Document, doc_id)
    if document is None:
        raise HTTPException(404, f"no document {doc_id!r}")
    analysis_row = session.get(AnalysisRow, document.analysis_id) if document.analysis_id else None
    analysis = Analysis.model_validate(analysis_row.payload) if analysis_row else None
    transcripts = []
    for sha in document.media_sha256:
        row = session.get(TranscriptRow, sha)
        if row is not None:
            transcripts.append(
                TranscriptOut(
                    media_sha256=sha,
                    language=row.language,
                    duration_s=row.duration_s,
                    segments=row.payload.get("segments", []),
                )
            )
    members = session.scalars(
        select(Document).where(Document.story_id == document.story_id).order_by(Document.published_at, Document.id)
    ).all()
    feedback = session.scalars(
        select(FeedbackRow)
        .where(FeedbackRow.doc_id == doc_id)
        .order_by(FeedbackRow.created_at.desc(), FeedbackRow.id.desc())
    ).all()
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
        analysis=analysis,
        highlights=highlights(document.text, analysis) if analysis else [],
        story_id=document.story_id,
        story=[
            StoryMember(
                id=m.id, source=m.source, title=m.title, published_at=m.published_at, duplicate_kind=m.duplicate_kind
            )
            for m in members
        ],
        feedback=[FeedbackOut.model_validate(f, from_attributes=True) for f in feedback],
        quality_issues=document.quality_issues,
    )
