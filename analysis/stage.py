"""Run an analyzer over pending documents (database) or a JSONL file."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from yuqing.contracts import Analysis, AnalyzeRequest
from yuqing.db.models import AnalysisRow, Document, StageFailure
from yuqing.db.repository import clear_failure, record_failure, upsert_analysis
from yuqing.errors import ConfigError, PermanentError, RetryableError
from yuqing.settings import Settings, WatchEntity

logger = logging.getLogger(__name__)
STAGE = "analysis"

Progress = Callable[[int, int], None]


class Analyzer(Protocol):
    version: str

    def analyze(self, doc_id: str, title: str, text: str) -> Analysis: ...


class AnalyzeReport(BaseModel):
    analyzed: int = 0
    skipped: int = 0
    failed: list[dict[str, str]] = Field(default_factory=list)
    analyzer_version: str = ""


def build_analyzer(settings: Settings, kind: str | None = None, watchlist: list[WatchEntity] | None = None) -> Analyzer:
    kind = kind or settings.analyzer
    watch = settings.watchlist if watchlist is None else watchlist
    if kind == "offline":
        from analysis.offline import OfflineAnalyzer

        return OfflineAnalyzer(watch)
    if kind == "llm":
        if not settings.llm.base_url:
            raise ConfigError("the llm analyzer needs an OpenAI-compatible server: set YQ_LLM__BASE_URL (e.g. http://127.0.0.1:8000/v1)")
        from analysis.llm import LLMAnalyzer

        return LLMAnalyzer(settings.llm, watch)
    raise ConfigError(f"unknown analyzer {kind!r}; choose offline or llm")


def pending_ids(sessions: sessionmaker[Session], analyzer_version: str) -> list[str]:
    with sessions() as session:
        done = select(AnalysisRow.doc_id).where(AnalysisRow.analyzer_version == analyzer_version)
        return list(session.scalars(select(Document.id).where(Document.id.not_in(done)).order_by(Document.id)))


def analyze_one(sessions: sessionmaker[Session], analyzer: Analyzer, doc_id: str) -> str:
    """Analyse one stored document; a permanent failure is recorded on it, a retryable one is raised."""
    with sessions() as session:
        document = session.get(Document, doc_id)
        if document is None:
            raise PermanentError(f"no document {doc_id!r} in the database")
        title, text = document.title, document.text
    try:
        analysis = analyzer.analyze(doc_id, title, text)
    except PermanentError as exc:
        with sessions.begin() as session:
            record_failure(session, STAGE, doc_id, str(exc))
        return "failed"
    with sessions.begin() as session:
        upsert_analysis(session, analysis)
        clear_failure(session, STAGE, doc_id)
    return "analyzed"


def analyze_pending(
    sessions: sessionmaker[Session], analyzer: Analyzer, *, on_progress: Progress | None = None, redo: bool = False
) -> AnalyzeReport:
    """Analyse every document without an analysis of this analyzer version, one transaction each."""
    report = AnalyzeReport(analyzer_version=analyzer.version)
    with sessions() as session:
        all_ids = list(session.scalars(select(Document.id).order_by(Document.id)))
    todo = all_ids if redo else pending_ids(sessions, analyzer.version)
    report.skipped = len(all_ids) - len(todo)
    for index, doc_id in enumerate(todo, start=1):
        try:
            outcome = analyze_one(sessions, analyzer, doc_id)
        except RetryableError as exc:
            with sessions.begin() as session:
                record_failure(session, STAGE, doc_id, str(exc), retryable=True)
            outcome = "failed"
        if outcome == "analyzed":
            report.analyzed += 1
        else:
            report.failed.append({"id": doc_id, "reason": _failure_reason(sessions, doc_id)})
        if on_progress:
            on_progress(index, len(todo))
    return report


def _failure_reason(sessions: sessionmaker[Session], doc_id: str) -> str:
    with sessions() as session:
        return session.scalar(
            select(StageFailure.reason).where(StageFailure.stage == STAGE, StageFailure.item_id == doc_id)
        ) or "unknown"


@dataclass
class _BadLine:
    id: str | None
    error: str


def _read_requests(path: Path) -> Iterator[tuple[int, AnalyzeRequest | _BadLine]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, AnalyzeRequest.model_validate_json(line)
            except ValidationError as exc:
                first = exc.errors()[0]
                field = "/".join(map(str, first["loc"]))
                try:
                    raw_id = json.loads(line).get("id")
                except (ValueError, AttributeError):
                    raw_id = None
                yield number, _BadLine(str(raw_id) if raw_id is not None else None, f"line {number}: {field + ': ' if field else ''}{first['msg']}")


def analyze_jsonl(input_path: Path, output_path: Path, analyzer: Analyzer, *, on_progress: Progress | None = None) -> AnalyzeReport:
    """One output line per input line, in input order; a bad line yields {"id", "error"}, never a crash."""
    report = AnalyzeReport(analyzer_version=analyzer.version)
    total = sum(1 for line in input_path.open(encoding="utf-8") if line.strip())
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with output_path.open("w", encoding="utf-8") as out:
        for index, (number, request) in enumerate(_read_requests(input_path), start=1):
            if isinstance(request, _BadLine):
                record: dict[str, object] = {"id": request.id, "line": number, "error": request.error}
                report.failed.append({"id": request.id or f"line {number}", "reason": request.error})
            else:
                try:
                    record = analyzer.analyze(request.id, request.title, request.text).model_dump(mode="json")
                    report.analyzed += 1
                except (PermanentError, RetryableError) as exc:
                    record = {"id": request.id, "line": number, "error": str(exc)}
                    report.failed.append({"id": request.id, "reason": str(exc)})
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            if on_progress:
                on_progress(index, total)
    return report
