"""Keyed writes: every stage can re-run without duplicating rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yuqing.contracts import Analysis, CleanDocument, Transcript
from yuqing.db.models import AnalysisRow, Base, Document, EntityMentionRow, StageFailure, TranscriptRow


def _upsert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).values(list(rows))
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates))


def upsert_documents(session: Session, documents: Iterable[CleanDocument]) -> int:
    rows = [
        d.model_dump(include=set(Document.__table__.columns.keys()))
        for d in documents
    ]
    for start in range(0, len(rows), 500):
        _upsert(session, Document, rows[start : start + 500], ["id"])
    return len(rows)


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
    document = session.get(Document, analysis.doc_id)
    published = document.published_at or document.crawled_at if document else None
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
        )
        for t in analysis.targets
    )
    return analysis_id


def record_failure(session: Session, stage: str, item_id: str, reason: str, *, retryable: bool = False) -> None:
    _upsert(
        session,
        StageFailure,
        [{"stage": stage, "item_id": item_id, "reason": reason[:2000], "retryable": retryable, "created_at": datetime.now(UTC)}],
        ["stage", "item_id"],
    )


def clear_failure(session: Session, stage: str, item_id: str) -> None:
    session.execute(delete(StageFailure).where(StageFailure.stage == stage, StageFailure.item_id == item_id))
