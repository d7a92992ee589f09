"""Celery tasks of the analysis stage: thin wrappers over analysis.stage."""

from __future__ import annotations

import functools

from analysis.stage import Analyzer, analyze_one, build_analyzer
from yuqing.celery_app import app
from yuqing.db import make_engine, session_factory
from yuqing.errors import RetryableError
from yuqing.settings import get_settings


@functools.cache
def _worker_state() -> tuple[Analyzer, object]:
    """Load the analyzer and database engine once per worker process."""
    settings = get_settings()
    return build_analyzer(settings), session_factory(make_engine(settings.db_url))


@app.task(
    name="analysis.analyze_document",
    autoretry_for=(RetryableError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,  # idempotent: the analysis is upserted by (doc_id, analyzer version)
    queue="analysis",
)
def analyze_document(doc_id: str) -> str:
    analyzer, sessions = _worker_state()
    return analyze_one(sessions, analyzer, doc_id)  # type: ignore[arg-type]
