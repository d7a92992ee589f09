"""Celery tasks of the analysis stage: thin wrappers over ``analysis.stage.analyze_ids``."""

from __future__ import annotations

import functools
import logging
from typing import Any

from celery import Task
from pydantic import BaseModel, Field
from sqlalchemy import select

from analysis.stage import DEAD_LETTER, STAGE, AnalyzeReport, Analyzer, analyze_ids, build_analyzer
from yuqing.celery_app import app
from yuqing.db import make_engine, session_factory
from yuqing.db.models import AnalysisRow
from yuqing.db.repository import record_failure
from yuqing.errors import UpstreamUnavailable
from yuqing.settings import get_settings

logger = logging.getLogger(__name__)
MAX_RETRIES = 5


class AnalyzeBatch(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=1000)


@functools.cache
def _worker_state() -> tuple[Analyzer, Any]:
    """Load the analyzer and database engine once per worker process."""
    settings = get_settings()
    return build_analyzer(settings), session_factory(make_engine(settings.db_url))


class DeadLetterTask(Task):  # type: ignore[misc]
    """After the last retry, every document of the batch still without an analysis gets a dead-letter record."""

    def on_failure(self, exc: BaseException, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any], einfo: Any) -> None:
        analyzer, sessions = _worker_state()
        batch = AnalyzeBatch.model_validate(kwargs.get("batch") or args[0])
        pending = set(batch.ids)
        with sessions.begin() as session:
            pending -= set(
                session.scalars(
                    select(AnalysisRow.doc_id).where(AnalysisRow.analyzer_version == analyzer.version, AnalysisRow.doc_id.in_(batch.ids))
                )
            )
            for doc_id in sorted(pending):
                reason = f"{DEAD_LETTER} task {task_id} gave up after {self.request.retries} retries: {exc}"
                record_failure(session, STAGE, doc_id, reason, retryable=True)
        logger.error("analysis batch dead-lettered", extra={"task_id": task_id, "documents": sorted(pending), "reason": str(exc)})


@app.task(
    name="analysis.analyze_documents",
    base=DeadLetterTask,
    pydantic=True,
    autoretry_for=(UpstreamUnavailable,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
    acks_late=True,  # idempotent: analyses are upserted by (doc_id, analyzer version) and done ids skipped
    queue="analysis",
)
def analyze_documents(batch: AnalyzeBatch) -> AnalyzeReport:
    analyzer, sessions = _worker_state()
    report = analyze_ids(sessions, analyzer, batch.ids)
    if report.retryable:
        # Only the transient failures run again: the ids analysed above are skipped on retry.
        raise UpstreamUnavailable(f"{len(report.retryable)} of {len(batch.ids)} documents failed transiently: {report.failed[0]['reason']}")
    return report
