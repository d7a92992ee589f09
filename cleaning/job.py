"""The clean job: raw documents + transcripts → ``clean/`` Parquet with story links.

    python -m cleaning.job --input file:///…/store [--output URI] [--since 2026-11-01] [--master local[2]]
    spark-submit --master k8s://… cleaning/job.py --input s3a://bucket/prefix

``run_clean`` is extract → transform → load:

* extract (``cleaning.extract``): raw JSON lines, transcripts, and for incremental
  runs (``since``) the documents already under ``clean/``;
* transform (``cleaning.transforms``): clean, join transcripts, flag, de-duplicate;
* load (``cleaning.load``): dynamic partition overwrite of ``clean/date=…``, then the
  run report at ``clean/_reports/<run_id>.json``.

Incremental runs clean only raw documents crawled on or after ``since``, but judge
duplicates against everything already in ``clean/`` and rewrite it with the new
story links, so a run never leaves a partition holding half its documents. The
planned ``clean/_index/`` of stored signatures will let that step read less.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from cleaning import minhash
from cleaning.extract import CLEAN, read_clean, read_raw_documents, read_transcripts
from cleaning.fs import join_uri
from cleaning.load import remove_stale_partitions, write_clean, write_report
from cleaning.report import CleanReport
from cleaning.results import read_clean_documents
from cleaning.schema import PARTITION_COLUMN
from cleaning.session import build_spark
from cleaning.transforms import (
    DUPLICATE_EXACT,
    DUPLICATE_NEAR,
    QUALITY_ISSUES,
    add_fingerprint,
    add_partition_date,
    clean_documents,
    clean_transcripts,
    deduplicate,
    detect_language,
    drop_malformed,
    flag_quality,
    is_well_formed,
    join_transcripts,
    latest_crawl,
    to_clean_documents,
)

logger = logging.getLogger(__name__)

DROPPED_MALFORMED = "malformed"
DROPPED_SUPERSEDED = "superseded_by_recrawl"

# Columns a document has before de-duplication (the contract minus what dedup adds).
_PREPARED_COLUMNS = (
    "id", "url", "canonical_url", "source", "title", "text", "transcript_text", "media_sha256",
    "language", "published_at", "crawled_at", "quality_issues",
)  # fmt: skip


# --- Transform ---------------------------------------------------------------


def prepare(
    raw: DataFrame,
    transcripts: DataFrame,
    *,
    min_text_chars: int,
    previous: DataFrame | None = None,
) -> DataFrame:
    """Clean documents (latest crawl of each), with transcripts, language, quality flags and fingerprint.

    ``previous`` (already clean documents) joins the result, minus the ids cleaned again now.
    """
    docs = latest_crawl(drop_malformed(raw))
    docs = join_transcripts(clean_documents(docs), clean_transcripts(transcripts))
    docs = flag_quality(detect_language(docs), min_text_chars).select(*_PREPARED_COLUMNS)
    if previous is not None:
        kept = previous.join(docs.select("id"), "id", "left_anti").select(*_PREPARED_COLUMNS)
        docs = docs.unionByName(kept)
    return add_fingerprint(docs)


def link_stories(prepared: DataFrame, threshold: float, num_perm: int = minhash.DEFAULT_NUM_PERM) -> DataFrame:
    """Duplicates and stories, the partition date, and exactly the contract's columns."""
    return to_clean_documents(add_partition_date(deduplicate(prepared, threshold, num_perm=num_perm)))


# --- The job -----------------------------------------------------------------


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _count_raw(raw: DataFrame) -> tuple[int, int, int]:
    """(lines, well-formed lines, distinct well-formed ids) in one pass."""
    well_formed = is_well_formed(raw)
    row = raw.agg(
        F.count(F.lit(1)).alias("lines"),
        F.count_if(well_formed).alias("well_formed"),
        F.count_distinct(F.when(well_formed, F.col("id"))).alias("documents"),
    ).first()
    assert row is not None
    return int(row["lines"]), int(row["well_formed"]), int(row["documents"])


def _summarise(result: DataFrame, report: CleanReport) -> None:
    row = result.agg(
        F.count(F.lit(1)).alias("output_docs"),
        F.count_if(F.col("duplicate_kind") == DUPLICATE_EXACT).alias("exact"),
        F.count_if(F.col("duplicate_kind") == DUPLICATE_NEAR).alias("near"),
        F.count_distinct("duplicate_of").alias("clusters"),
        *[F.count_if(F.array_contains("quality_issues", issue)).alias(issue) for issue in QUALITY_ISSUES],
        F.sort_array(F.collect_set(F.col(PARTITION_COLUMN).cast("string"))).alias("dates"),
    ).first()
    assert row is not None
    report.output_docs = int(row["output_docs"])
    report.exact_duplicates = int(row["exact"])
    report.near_duplicates = int(row["near"])
    report.clusters = int(row["clusters"])
    report.flagged_by_issue = {issue: int(row[issue]) for issue in QUALITY_ISSUES}
    report.partitions_written = list(row["dates"])


def run_clean(
    spark: SparkSession,
    input_uri: str,
    output_uri: str,
    *,
    since: date | None = None,
    threshold: float = 0.8,
    min_text_chars: int = 40,
    run_id: str | None = None,
) -> CleanReport:
    """Clean ``<input_uri>/raw/docs`` (+ ``transcripts``) into ``<output_uri>/clean``; safe to re-run.

    Both URIs are object-store roots Spark can address (``file:///…``, ``s3a://…``).
    Returns the run report, which is also written to ``clean/_reports/<run_id>.json``.
    """
    started = time.perf_counter()
    bands, rows = minhash.choose_banding(minhash.DEFAULT_NUM_PERM, threshold)
    report = CleanReport(
        run_id=run_id or new_run_id(), started_at=datetime.now(UTC), since=since, lsh_bands=bands, lsh_rows=rows
    )
    clean_uri = join_uri(output_uri, CLEAN)

    # Extract
    raw = read_raw_documents(spark, input_uri, since)
    lines, well_formed, documents = _count_raw(raw) if raw is not None else (0, 0, 0)
    report.input_docs, report.cleaned_docs = lines, documents
    report.dropped_by_reason = {DROPPED_MALFORMED: lines - well_formed, DROPPED_SUPERSEDED: well_formed - documents}
    if raw is None or documents == 0:
        logger.info("nothing to clean under %s (since=%s)", input_uri, since)
        return _finish(spark, clean_uri, report, started)
    transcripts = read_transcripts(spark, input_uri)
    previous = read_clean(spark, clean_uri) if since is not None else None

    # Transform: cached because de-duplication reads the prepared documents several times.
    prepared = prepare(raw, transcripts, min_text_chars=min_text_chars, previous=previous).persist()
    try:
        result = link_stories(prepared, threshold).persist()
        try:
            _summarise(result, report)
            report.carried_over_docs = report.output_docs - report.cleaned_docs
            # Load
            write_clean(result, clean_uri)
        finally:
            result.unpersist()
    finally:
        prepared.unpersist()
    report.partitions_removed = remove_stale_partitions(spark, clean_uri, report.partitions_written)
    return _finish(spark, clean_uri, report, started)


def _finish(spark: SparkSession, clean_uri: str, report: CleanReport, started: float) -> CleanReport:
    report.seconds = round(time.perf_counter() - started, 3)
    write_report(spark, clean_uri, report)
    logger.info(
        "clean %s: %d raw lines → %d documents (%d exact, %d near duplicates in %d stories) in %.1fs",
        report.run_id, report.input_docs, report.output_docs, report.exact_duplicates,
        report.near_duplicates, report.clusters, report.seconds,
    )  # fmt: skip
    return report


# --- Command line ------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    from yuqing.logs import setup_logging
    from yuqing.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m cleaning.job", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="object-store root to read raw/ and transcripts/ from")
    parser.add_argument("--output", help="object-store root to write clean/ under (default: --input)")
    parser.add_argument("--since", type=date.fromisoformat, help="only raw documents crawled on or after YYYY-MM-DD")
    parser.add_argument("--master", help="Spark master, e.g. local[2] (default: spark-submit's, else Spark's local[*])")
    parser.add_argument("--threshold", type=float, default=settings.clean.near_duplicate_threshold)
    parser.add_argument("--min-text-chars", type=int, default=settings.clean.min_text_chars)
    parser.add_argument("--run-id")
    args = parser.parse_args(argv)

    setup_logging(settings.log_level, settings.log_format)
    already_running = SparkSession.getActiveSession()
    spark = build_spark(args.master)
    try:
        report = run_clean(
            spark,
            args.input,
            args.output or args.input,
            since=args.since,
            threshold=args.threshold,
            min_text_chars=args.min_text_chars,
            run_id=args.run_id,
        )
    finally:
        if already_running is None:  # stop only a session this call started
            spark.stop()
    sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    return 0


__all__ = ["CleanReport", "build_spark", "main", "read_clean_documents", "run_clean"]

if __name__ == "__main__":
    sys.exit(main())
