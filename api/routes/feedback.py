"""Analysts' corrections of labels, kept with who and when (evaluation and fine-tuning data)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from api.deps import PaginationDep, ReadCaller, SessionDep, SettingsDep, WriteCaller
from api.queries import count, watched_entity
from api.schemas import NOT_MENTIONED, ErrorResponse, FeedbackIn, FeedbackOut, Page
from yuqing.db.models import Document, EntityMentionRow, FeedbackRow

router = APIRouter(
    prefix="/feedback",
    tags=["feedback"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)

SENTIMENTS = ("positive", "negative", "neutral")
ALLOWED = {
    "sentiment": SENTIMENTS,
    "risk": ("low", "medium", "high"),
    "entity_sentiment": SENTIMENTS,
    "entity_missing": SENTIMENTS,
    "entity_wrong": (NOT_MENTIONED,),
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackOut,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def add_feedback(feedback: FeedbackIn, caller: WriteCaller, session: SessionDep, settings: SettingsDep) -> FeedbackOut:
    """Record a correction; the label it replaces is stored beside it. The analysis itself is left as it was."""
    if feedback.new_value not in ALLOWED[feedback.field]:
        raise HTTPException(422, f"body.new_value: {feedback.field} takes one of {', '.join(ALLOWED[feedback.field])}")
    document = session.get(Document, feedback.doc_id)
    if document is None:
        raise HTTPException(404, f"no document {feedback.doc_id!r}")
    entity_id = None
    if feedback.field.startswith("entity_"):
        if not feedback.entity:
            raise HTTPException(422, f"body.entity: needed when field is {feedback.field}")
        entity_id = watched_entity(settings, feedback.entity).id
        mention = session.scalar(
            select(EntityMentionRow.sentiment).where(
                EntityMentionRow.doc_id == document.id, EntityMentionRow.entity_id == entity_id
            )
        )
        old_value = mention or NOT_MENTIONED
    else:
        old_value = document.sentiment if feedback.field == "sentiment" else document.risk
    row = FeedbackRow(
        doc_id=document.id,
        field=feedback.field,
        entity_id=entity_id,
        old_value=old_value,
        new_value=feedback.new_value,
        comment=feedback.comment,
        analysis_id=document.analysis_id,
        created_by=caller.name,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.commit()
    return FeedbackOut.model_validate(row, from_attributes=True)


@router.get("", response_model=Page[FeedbackOut])
def list_feedback(
    _: ReadCaller,
    session: SessionDep,
    pagination: PaginationDep,
    doc_id: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[FeedbackOut]:
    """Corrections, newest first (export them for evaluation or fine-tuning)."""
    query = select(FeedbackRow)
    if doc_id:
        query = query.where(FeedbackRow.doc_id == doc_id)
    total = count(session, query)
    rows = session.scalars(
        query.order_by(FeedbackRow.created_at.desc(), FeedbackRow.id.desc())
        .offset(pagination.offset)
        .limit(pagination.page_size)
    ).all()
    return Page(
        items=[FeedbackOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        page=pagination.page,
        page_size=pagination.page_size,
    )
