"""The one place that wires stages together (used by the CLI and the demo runner).

Each function runs one stage once over what is pending and records its results
and failures in the database; all are safe to re-run.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from yuqing.contracts import Transcript
from yuqing.db import make_engine, migrate, session_factory
from yuqing.db.models import CrawlRun
from yuqing.db.repository import record_failure, upsert_documents, upsert_transcripts
from yuqing.progress import stage_progress
from yuqing.settings import Settings
from yuqing.storage import ObjectStore, get_json, open_store

logger = logging.getLogger(__name__)


@dataclass
class Context:
    settings: Settings
    store: ObjectStore
    sessions: sessionmaker[Session]
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings) -> Context:
        engine = make_engine(settings.db_url)
        migrate(engine)
        return cls(settings=settings, store=open_store(settings), sessions=session_factory(engine))


def crawl(ctx: Context, sources: list[Any]) -> Any:
    from crawlers.run import run_crawl

    t0 = time.perf_counter()
    with stage_progress("crawl", None) as progress:
        seen = 0

        def on_article(_: str) -> None:
            nonlocal seen
            seen += 1
            progress(seen, None)

        report = run_crawl(ctx.settings, sources, ctx.store, on_article=on_article)
    with ctx.sessions.begin() as session:
        for source in report.sources:
            session.merge(
                CrawlRun(id=f"{report.run_id}-{source.source}", source=source.source, started_at=report.started_at,
                         finished_at=datetime.now(UTC), stats=source.model_dump())
            )
        for source in report.sources:
            failures_key = f"raw/failures/{report.run_id}-{source.source}.jsonl"
            if not ctx.store.exists(failures_key):
                continue
            for line in ctx.store.get_bytes(failures_key).decode("utf-8").splitlines():
                failure = json.loads(line)
                record_failure(session, "crawl", failure["url"], failure["reason"], retryable=True)
    ctx.timings["crawl"] = time.perf_counter() - t0
    return report


def transcribe(ctx: Context, *, retry_failed: bool = False) -> Any:
    from asr.stage import transcribe_pending

    t0 = time.perf_counter()
    with stage_progress("transcribe") as progress:
        report = transcribe_pending(ctx.store, ctx.settings, on_progress=progress, retry_failed=retry_failed)
    load_transcripts(ctx)
    ctx.timings["transcribe"] = time.perf_counter() - t0
    return report


def load_transcripts(ctx: Context) -> int:
    transcripts = [
        Transcript.model_validate(get_json(ctx.store, key))
        for key in ctx.store.list_keys("transcripts/")
        if key.endswith(".json") and not key.startswith("transcripts/_")
    ]
    with ctx.sessions.begin() as session:
        upsert_transcripts(session, transcripts)
        for key in ctx.store.list_keys("transcripts/_failed/"):
            failure = get_json(ctx.store, key)
            record_failure(session, "asr", Path(key).stem, str(failure.get("reason", failure)))
    return len(transcripts)


def clean(ctx: Context, *, since: Any = None) -> Any:
    from cleaning.job import build_spark, read_clean_documents, run_clean
    from cleaning.session import s3a_conf

    t0 = time.perf_counter()
    s3 = ctx.settings.s3 if ctx.settings.store_url.startswith("s3://") else None
    with stage_progress("clean (spark)", 3) as progress:
        spark = build_spark(ctx.settings.clean.spark_master, extra_conf=s3a_conf(s3) if s3 else None)
        try:
            progress(1, 3)
            root = ctx.store.uri()
            report = run_clean(
                spark,
                root,
                root,
                since=since,
                threshold=ctx.settings.clean.near_duplicate_threshold,
                min_text_chars=ctx.settings.clean.min_text_chars,
            )
        finally:
            # A JVM left running holds ~1 GiB and its ports for the rest of the process.
            spark.stop()
        progress(2, 3)
        documents = read_clean_documents(ctx.store.uri("clean"), s3=s3)
        with ctx.sessions.begin() as session:
            upsert_documents(session, documents)
        progress(3, 3)
    ctx.timings["clean"] = time.perf_counter() - t0
    return report


def analyze(ctx: Context, analyzer_kind: str | None = None, *, redo: bool = False) -> Any:
    from analysis.stage import analyze_pending, build_analyzer

    t0 = time.perf_counter()
    analyzer = build_analyzer(ctx.settings, analyzer_kind)
    with stage_progress(f"analyze ({analyzer.version})") as progress:
        report = analyze_pending(ctx.sessions, analyzer, on_progress=progress, redo=redo)
    ctx.timings["analyze"] = time.perf_counter() - t0
    return report
