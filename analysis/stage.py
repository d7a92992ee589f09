"""Run an analyzer over pending documents (database) or a JSONL file."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from yuqing.contracts import Analysis, AnalyzeRequest
from yuqing.db.models import AnalysisRow, Document, StageFailure
from yuqing.db.repository import clear_failure, record_failure, upsert_analysis
from yuqing.errors import ConfigError, RetryableError, YuqingError
from yuqing.settings import Settings, WatchEntity

logger = logging.getLogger(__name__)
STAGE = "analysis"
DEAD_LETTER = "dead letter:"

Progress = Callable[[int, int], None]


class Analyzer(Protocol):
    version: str

    def analyze(self, doc_id: str, title: str, text: str) -> Analysis: ...


class AnalyzeReport(BaseModel):
    analyzed: int = 0
    skipped: int = 0
    failed: list[dict[str, str]] = Field(default_factory=list)
    retryable: list[str] = Field(default_factory=list, description="ids that failed transiently (worth another try)")
    analyzer_version: str = ""


def build_analyzer(settings: Settings, kind: str | None = None, watchlist: list[WatchEntity] | None = None) -> Analyzer:
    kind = kind or settings.analyzer
    watch = settings.watchlist if watchlist is None else watchlist
    if kind == "offline":
        from analysis.offline import OfflineAnalyzer

        return OfflineAnalyzer(watch)
    if kind == "llm":
        if settings.llm.backend == "openai" and not settings.llm.base_url:
            raise ConfigError(
                "the llm analyzer needs an OpenAI-compatible server: set YQ_LLM__BASE_URL (e.g. http://127.0.0.1:8000/v1), "
                "or YQ_LLM__BACKEND=transformers with YQ_LLM__MODEL=<local model directory>"
            )
        from analysis.llm import LLMAnalyzer

        return LLMAnalyzer(settings.llm, watch)
    raise ConfigError(f"unknown analyzer {kind!r}; choose offline or llm")


def analyze_many(analyzer: Analyzer, items: Sequence[tuple[str, str, str]]) -> list[Analysis | YuqingError]:
    """Each item's Analysis or error, in order: concurrently when the analyzer can batch (the LLM)."""
    batch = getattr(analyzer, "analyze_batch", None)
    if batch is not None:
        return list(batch(items))
    results: list[Analysis | YuqingError] = []
    for doc_id, title, text in items:
        try:
            results.append(analyzer.analyze(doc_id, title, text))
        except YuqingError as exc:
            results.append(exc)
    return results


def pending_ids(sessions: sessionmaker[Session], analyzer_version: str) -> list[str]:
    with sessions() as session:
        done = select(AnalysisRow.doc_id).where(AnalysisRow.analyzer_version == analyzer_version)
        return list(session.scalars(select(Document.id).where(Document.id.not_in(done)).order_by(Document.id)))


def analyze_ids(
    sessions: sessionmaker[Session], analyzer: Analyzer, ids: Sequence[str], report: AnalyzeReport | None = None, *, redo: bool = False
) -> AnalyzeReport:
    """Analyse stored documents by id (concurrently when the analyzer can), one transaction per result.

    The one code path of the stage: the in-process run and the Celery task both call it.
    Ids already analysed by this analyzer version are skipped unless ``redo``, so a
    re-delivered task does no work twice. A permanent failure is recorded on the document;
    a retryable one is recorded as retryable and listed in ``report.retryable`` for the
    caller to retry.
    """
    report = report or AnalyzeReport(analyzer_version=analyzer.version)
    with sessions() as session:
        done = set(
            session.scalars(
                select(AnalysisRow.doc_id).where(AnalysisRow.analyzer_version == analyzer.version, AnalysisRow.doc_id.in_(ids))
            )
        )
        documents = {d.id: (d.title, d.text) for d in session.scalars(select(Document).where(Document.id.in_(ids)))}
    if redo:
        done = set()
    report.skipped += len(done)
    todo = [i for i in dict.fromkeys(ids) if i not in done]
    for missing in (i for i in todo if i not in documents):
        with sessions.begin() as session:
            record_failure(session, STAGE, missing, f"no document {missing!r} in the database")
        report.failed.append({"id": missing, "reason": f"no document {missing!r} in the database"})
    todo = [i for i in todo if i in documents]
    results = analyze_many(analyzer, [(i, *documents[i]) for i in todo])
    for doc_id, result in zip(todo, results, strict=True):
        with sessions.begin() as session:
            if isinstance(result, Analysis):
                upsert_analysis(session, result)
                clear_failure(session, STAGE, doc_id)
                report.analyzed += 1
                continue
            retryable = isinstance(result, RetryableError)
            record_failure(session, STAGE, doc_id, str(result), retryable=retryable)
        report.failed.append({"id": doc_id, "reason": str(result)})
        if retryable:
            report.retryable.append(doc_id)
    return report


def analyze_pending(
    sessions: sessionmaker[Session],
    analyzer: Analyzer,
    *,
    on_progress: Progress | None = None,
    redo: bool = False,
    batch_size: int = 64,
) -> AnalyzeReport:
    """Analyse every document without an analysis of this analyzer version, in batches."""
    report = AnalyzeReport(analyzer_version=analyzer.version)
    with sessions() as session:
        all_ids = list(session.scalars(select(Document.id).order_by(Document.id)))
    todo = all_ids if redo else pending_ids(sessions, analyzer.version)
    report.skipped = len(all_ids) - len(todo)
    for start in range(0, len(todo), batch_size):
        analyze_ids(sessions, analyzer, todo[start : start + batch_size], report, redo=redo)
        if on_progress:
            on_progress(min(start + batch_size, len(todo)), len(todo))
    return report


def settled(sessions: sessionmaker[Session], analyzer_version: str, ids: Sequence[str]) -> tuple[int, int]:
    """(analysed, given up) among ids: what a queue consumer has finished, for progress reports."""
    with sessions() as session:
        analysed = set(
            session.scalars(select(AnalysisRow.doc_id).where(AnalysisRow.analyzer_version == analyzer_version, AnalysisRow.doc_id.in_(ids)))
        )
        failed = set(
            session.scalars(
                select(StageFailure.item_id).where(
                    StageFailure.stage == STAGE,
                    StageFailure.item_id.in_(ids),
                    or_(StageFailure.retryable.is_(False), StageFailure.reason.startswith(DEAD_LETTER)),
                )
            )
        )
    return len(analysed), len(failed - analysed)


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


def analyze_jsonl(
    input_path: Path, output_path: Path, analyzer: Analyzer, *, on_progress: Progress | None = None, batch_size: int = 64
) -> AnalyzeReport:
    """One output line per input line, in input order; a bad line yields {"id", "error"}, never a crash."""
    report = AnalyzeReport(analyzer_version=analyzer.version)
    total = sum(1 for line in input_path.open(encoding="utf-8") if line.strip())
    output_path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with output_path.open("w", encoding="utf-8") as out:
        for batch in _batches(_read_requests(input_path), batch_size):
            good = [(n, r) for n, r in batch if isinstance(r, AnalyzeRequest)]
            results = iter(analyze_many(analyzer, [(r.id, r.title, r.text) for _, r in good]))
            for number, request in batch:
                if isinstance(request, _BadLine):
                    record: dict[str, object] = {"id": request.id, "line": number, "error": request.error}
                    report.failed.append({"id": request.id or f"line {number}", "reason": request.error})
                else:
                    result = next(results)
                    if isinstance(result, Analysis):
                        record = result.model_dump(mode="json")
                        report.analyzed += 1
                    else:
                        record = {"id": request.id, "line": number, "error": str(result)}
                        report.failed.append({"id": request.id, "reason": str(result)})
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += len(batch)
            if on_progress:
                on_progress(written, total)
    return report


def _batches(lines: Iterator[tuple[int, AnalyzeRequest | _BadLine]], size: int) -> Iterator[list[tuple[int, AnalyzeRequest | _BadLine]]]:
    batch: list[tuple[int, AnalyzeRequest | _BadLine]] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
