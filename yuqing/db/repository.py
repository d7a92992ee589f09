"""Keyed writes: every stage can re-run without duplicating rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yuqing.contracts import Analysis, CleanDocument, Transcript
from yuqing.db.models import AnalysisRow, Base, Document, EntityMentionRow, StageFailure, TranscriptRow
from yuqing.db.rollups import add_mentions, mention_keys
from yuqing.db.stories import refresh_stories


def _upsert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).values(list(rows))
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates))


def as_utc(moment: datetime) -> datetime:
    """Days (published_date) are UTC days everywhere, like the API's date filters."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def upsert_documents(session: Session, documents: Iterable[CleanDocument]) -> int:
    rows = [d.model_dump(include=set(Document.__table__.columns.keys())) for d in documents]
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        # A re-clean can move a document to another story: refresh the one it leaves too.
        before = set(session.scalars(select(Document.story_id).where(Document.id.in_([r["id"] for r in chunk]))))
        _upsert(session, Document, chunk, ["id"])
        _sync_mentions_with_documents(session, [r["id"] for r in chunk])
        refresh_stories(session, before | {r["story_id"] for r in chunk})
    return len(rows)


def _sync_mentions_with_documents(session: Session, doc_ids: list[str]) -> None:
    """Mentions carry their document's time and source (so entity trends need no join); keep them equal."""
    analysed = select(Document).where(Document.id.in_(doc_ids), Document.analysis_id.is_not(None))
    documents = session.scalars(analysed.execution_options(populate_existing=True)).all()
    if not documents:
        return
    before = mention_keys(session, [d.id for d in documents])
    for document in documents:
        published = as_utc(document.published_at or document.crawled_at)
        session.execute(
            update(EntityMentionRow)
            .where(EntityMentionRow.doc_id == document.id)
            .values(
                published_at=published,
                published_date=published.date(),
                source=document.source,
                story_id=document.story_id,
            )
        )
    add_mentions(session, before, -1)
    add_mentions(session, mention_keys(session, [d.id for d in documents]), +1)


def upsert_transcripts(session: Session, transcripts: Iterable[Transcript]) -> int:
    rows = [
        {
            "media_sha256": t.media_sha256,
            "language": t.language,
            "duration_s": t.duration_s,
            "text": t.text,
            "payload": t.model_dump(mode="json"),
        }
        for t in transcripts
    ]
    _upsert(session, TranscriptRow, rows, ["media_sha256"])
    return len(rows)


def upsert_analysis(session: Session, analysis: Analysis) -> int:
    """Store an analysis keyed by (doc_id, analyzer_version); its targets become the document's mentions."""
    _upsert(
        session,
        AnalysisRow,
        [
            {
                "doc_id": analysis.doc_id,
                "analyzer": analysis.analyzer,
                "analyzer_version": analysis.analyzer_version,
                "sentiment": analysis.sentiment,
                "score": analysis.score,
                "risk": analysis.risk,
                "low_confidence": analysis.low_confidence,
                "summary": analysis.summary,
                "payload": analysis.model_dump(mode="json"),
                "created_at": analysis.created_at,
            }
        ],
        ["doc_id", "analyzer_version"],
    )
    analysis_id = session.scalar(
        select(AnalysisRow.id).where(
            AnalysisRow.doc_id == analysis.doc_id, AnalysisRow.analyzer_version == analysis.analyzer_version
        )
    )
    assert analysis_id is not None
    document = session.get(Document, analysis.doc_id, populate_existing=True)
    newest_id = session.scalar(select(func.max(AnalysisRow.id)).where(AnalysisRow.doc_id == analysis.doc_id))
    if newest_id != analysis_id:
        # An older analyzer version was re-run: the document keeps serving (and counting) the newest one.
        return analysis_id
    published = as_utc(document.published_at or document.crawled_at) if document else None
    add_mentions(session, mention_keys(session, [analysis.doc_id]), -1)
    session.execute(delete(EntityMentionRow).where(EntityMentionRow.doc_id == analysis.doc_id))
    session.add_all(
        EntityMentionRow(
            doc_id=analysis.doc_id,
            analysis_id=analysis_id,
            entity_id=t.entity_id,
            name=t.name,
            sentiment=t.sentiment,
            score=t.score,
            published_date=published.date() if published else None,
            published_at=published,
            source=document.source if document else None,
            story_id=document.story_id if document else None,
        )
        for t in analysis.targets
    )
    session.flush()
    add_mentions(session, mention_keys(session, [analysis.doc_id]), +1)
    if document is not None:
        document.analysis_id, document.sentiment, document.risk = analysis_id, analysis.sentiment, analysis.risk
        session.flush()
        refresh_stories(session, [document.story_id])
    return analysis_id


def record_failure(session: Session, stage: str, item_id: str, reason: str, *, retryable: bool = False) -> None:
    _upsert(
        session,
        StageFailure,
        [
            {
                "stage": stage,
                "item_id": item_id,
                "reason": reason[:2000],
                "retryable": retryable,
                "created_at": datetime.now(UTC),
            }
        ],
        ["stage", "item_id"],
    )


def clear_failure(session: Session, stage: str, item_id: str) -> None:
    session.execute(delete(StageFailure).where(StageFailure.stage == stage, StageFailure.item_id == item_id))
