"""The clean job: raw documents + transcripts → ``clean/`` Parquet with story links.

    python -m cleaning.job --input file:///…/store [--output URI] [--since 2026-11-01] [--master local[2]]
    spark-submit --master k8s://… cleaning/job.py --input s3a://bucket/prefix

``run_clean`` is extract → transform → load:

* extract (``cleaning.extract``): raw JSON lines and transcripts, and for incremental
  runs (``since``) the de-duplication index ``clean/_index/`` (``cleaning.index``);
* transform (``cleaning.transforms``): clean, join transcripts, flag, then
  de-duplicate: exact groups by content hash, MinHash + LSH candidates, exact
  Jaccard verification, stories;
* load (``cleaning.load``, ``cleaning.index``): dynamic partition overwrite of
  ``clean/date=…`` and of the index, then the run report at ``clean/_reports/<run_id>.json``.

A full run (no ``since``) cleans every raw document and rewrites ``clean/`` and the
index. An incremental run cleans only raw documents crawled on or after ``since``
and judges them against the index: the stored signatures are banded together with
the new ones and candidate pairs are checked on the stored fingerprints, so older
documents are neither read nor hashed again. A ``clean/`` partition is opened only to
rewrite it: when a new document falls on that day, when a document there changes
story (a new document turns out to be the earlier original, or joins two stories),
or when one there was cleaned again from a re-crawl (it may move to another day; a
partition left empty is deleted). A run never leaves a partition holding half its
documents. Without an index (output from before it existed, or made with other
MinHash parameters) the first incremental run rebuilds it from ``clean/`` once.

Where the work goes (see ``bench/bench_cleaning.py``): the raw JSON is parsed once and
every line's text crosses to Python once, where it is cleaned, measured, fingerprinted
and MinHashed (one permutation hashing, a whole Arrow batch at a time); the result is
cached, and the first action on the cache also counts lines, malformed lines, re-crawls,
quality flags and days. De-duplication scans a narrow projection of that cache (id,
date, content hash, fingerprint, signature): band buckets and 64-bit node keys are
shuffled to find the buckets two nodes share (a hash aggregation); their few members
are paired on the driver, and the pairs pick their fingerprints out in one scan with a
broadcast join before the exact check. Story links of the documents that have any are
broadcast to the write, so the documents themselves are shuffled once, in one task per
day, to write one file per day. ``cleaning.session`` holds the Spark settings that the
profile of that benchmark asked for (Arrow batches, the local JVM's compiler).
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
from pyspark.sql import types as T

from cleaning import fs, minhash
from cleaning.extract import CLEAN, TRANSCRIPTS, clean_partitions, read_clean, read_raw_documents, read_transcripts
from cleaning.index import LINK_COLUMNS, index_uri, read_index, to_index, write_index
from cleaning.load import remove_stale_partitions, write_clean, write_report
from cleaning.report import CleanReport
from cleaning.results import read_clean_documents
from cleaning.schema import PARTITION_COLUMN
from cleaning.session import build_spark
from cleaning.transforms import (
    DUPLICATE_EXACT,
    DUPLICATE_NEAR,
    NODE,
    QUALITY_ISSUES,
    WELL_FORMED,
    add_fingerprint,
    add_minhash,
    add_partition_date,
    add_story_node,
    assign_stories,
    attach_transcripts,
    candidate_pairs,
    clean_documents,
    clean_transcripts,
    flag_well_formed,
    latest_crawl,
    node_components,
    to_clean_documents,
    verify_pairs,
)
from yuqing.errors import YuqingError

logger = logging.getLogger(__name__)

DROPPED_MALFORMED = "malformed"
DROPPED_SUPERSEDED = "superseded_by_recrawl"

# Columns a document has before de-duplication (the contract minus what dedup adds).
_PREPARED_COLUMNS = (
    "id", "url", "canonical_url", "source", "title", "text", "transcript_text", "media_sha256",
    "language", "published_at", "crawled_at", "quality_issues",
)  # fmt: skip
# What de-duplication reads of a document (the rest stays in the cache until the write).
_ENTRY_COLUMNS = ("id", "published_at", "content_hash", "_fingerprint", "minhash", PARTITION_COLUMN)
# Transcripts taking less storage than this are broadcast to the documents rather than joined by a shuffle.
BROADCAST_TRANSCRIPTS_BYTES = 64 * 2**20
# Story links of at most this many documents are broadcast to the write rather than joined by a shuffle.
BROADCAST_LINKS_ROWS = 2_000_000
_LINKS_SCHEMA = "id string, story_id string, duplicate_of string, duplicate_kind string"


# --- Transform ---------------------------------------------------------------


def prepare(
    raw: DataFrame,
    transcripts: DataFrame | None,
    *,
    min_text_chars: int,
    broadcast_transcripts: bool = False,
    num_perm: int = minhash.DEFAULT_NUM_PERM,
    seed: int = minhash.DEFAULT_SEED,
) -> DataFrame:
    """Every raw line cleaned: transcripts, language, quality flags, fingerprint, MinHash, date, ``_well_formed``.

    Malformed lines are flagged rather than dropped, and re-crawls are all kept
    (``documents_of`` picks the latest): the job caches this frame and counts lines,
    well-formed lines and distinct documents on the cache, so the raw JSON is parsed
    once, not once to count and again to clean.
    """
    docs = flag_well_formed(raw)
    heard = clean_transcripts(transcripts) if transcripts is not None else None
    docs = attach_transcripts(docs, heard, broadcast=broadcast_transcripts)
    docs = clean_documents(docs, min_text_chars, num_perm=num_perm, seed=seed)
    return add_partition_date(docs.select(*_PREPARED_COLUMNS, "_fingerprint", "content_hash", "minhash", WELL_FORMED))


def documents_of(lines: DataFrame, *, recrawled: bool = True) -> DataFrame:
    """The well-formed lines of ``prepare``, only the latest crawl of each document when ``recrawled``.

    ``recrawled=False`` says every id occurs once (the caller counted), which saves
    the shuffle that picks each document's latest crawl. Two crawls of one document at
    the same instant are told apart by their cleaned text.
    """
    docs = lines.where(WELL_FORMED).drop(WELL_FORMED)
    return latest_crawl(docs) if recrawled else docs


def with_own_story(docs: DataFrame) -> DataFrame:
    """Every document its own story (what ``relink`` then corrects for the documents that have links)."""
    return (
        docs.withColumn("story_id", F.col("id"))
        .withColumn("duplicate_of", F.lit(None).cast(T.StringType()))
        .withColumn("duplicate_kind", F.lit(None).cast(T.StringType()))
    )


def relink(docs: DataFrame, links: DataFrame, *, broadcast: bool = True) -> DataFrame:
    """``docs`` with their story columns replaced by those in ``links`` (id + the three), where it has a row."""
    renamed = links.select("id", F.lit(True).alias("_relinked"), *(F.col(c).alias(f"_new_{c}") for c in LINK_COLUMNS))
    joined = docs.join(F.broadcast(renamed) if broadcast else renamed, "id", "left")
    for column in LINK_COLUMNS:
        joined = joined.withColumn(column, F.when(F.col("_relinked"), F.col(f"_new_{column}")).otherwise(F.col(column)))
    return joined.drop("_relinked", *(f"_new_{c}" for c in LINK_COLUMNS))


def _verified_edges(entries: DataFrame, threshold: float, bands: int, rows: int) -> list[tuple[str, str]]:
    """Node pairs with exact Jaccard ≥ threshold among LSH candidates (at least one side active)."""
    pairs = verify_pairs(candidate_pairs(entries, bands, rows), threshold)
    edges = [(row.left, row.right) for row in pairs.select("left", "right").collect()]
    logger.info("near-duplicate graph: %d verified pairs", len(edges))
    return edges


# --- The job -----------------------------------------------------------------


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _count_lines(lines: DataFrame, report: CleanReport) -> tuple[int, set[date]]:
    """Lines, drops and quality flags into the report, from ``prepare``'s (cached) lines in one pass.

    Returns (well-formed lines less documents, i.e. the superseded re-crawls; the days
    the documents fall on). The quality flags and days count every well-formed line,
    which are the documents when nothing was re-crawled (``_count_cleaned`` recounts otherwise).
    """
    well_formed = F.col(WELL_FORMED)
    row = lines.agg(
        F.count(F.lit(1)).alias("lines"),
        F.count_if(well_formed).alias("well_formed"),
        F.count_distinct(F.when(well_formed, F.col("id"))).alias("documents"),
        *[F.count_if(well_formed & F.array_contains("quality_issues", issue)).alias(issue) for issue in QUALITY_ISSUES],
        F.collect_set(F.when(well_formed, F.col(PARTITION_COLUMN))).alias("days"),
    ).first()
    assert row is not None
    total, good, distinct = int(row["lines"]), int(row["well_formed"]), int(row["documents"])
    report.input_docs, report.cleaned_docs = total, distinct
    report.dropped_by_reason = {DROPPED_MALFORMED: total - good, DROPPED_SUPERSEDED: good - distinct}
    report.flagged_by_issue = {issue: int(row[issue]) for issue in QUALITY_ISSUES}
    return good - distinct, set(row["days"])


def _count_cleaned(prepared: DataFrame, report: CleanReport) -> set[date]:
    """Quality flags of the documents cleaned now (into the report) and the days they fall on."""
    row = prepared.agg(
        *[F.count_if(F.array_contains("quality_issues", issue)).alias(issue) for issue in QUALITY_ISSUES],
        F.collect_set(PARTITION_COLUMN).alias("days"),
    ).first()
    assert row is not None
    report.flagged_by_issue = {issue: int(row[issue]) for issue in QUALITY_ISSUES}
    return set(row["days"])


def _duplicate_counts(links: DataFrame) -> tuple[int, int, int, int]:
    """(rows, exact, near, stories with more than one member) among documents with their story columns."""
    row = links.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count_if(F.col("duplicate_kind") == DUPLICATE_EXACT).alias("exact"),
        F.count_if(F.col("duplicate_kind") == DUPLICATE_NEAR).alias("near"),
        F.count_distinct("duplicate_of").alias("clusters"),
    ).first()
    assert row is not None
    return int(row["rows"]), int(row["exact"]), int(row["near"]), int(row["clusters"])


class _Params:
    """What every step of a run needs to know."""

    def __init__(self, spark: SparkSession, clean_uri: str, threshold: float, num_perm: int, seed: int) -> None:
        self.spark, self.clean_uri, self.threshold = spark, clean_uri, threshold
        self.num_perm, self.seed = num_perm, seed
        self.bands, self.rows = minhash.choose_banding(num_perm, threshold)


def run_clean(
    spark: SparkSession,
    input_uri: str,
    output_uri: str,
    *,
    since: date | None = None,
    threshold: float = 0.8,
    min_text_chars: int = 40,
    run_id: str | None = None,
    num_perm: int = minhash.DEFAULT_NUM_PERM,
    seed: int = minhash.DEFAULT_SEED,
) -> CleanReport:
    """Clean ``<input_uri>/raw/docs`` (+ ``transcripts``) into ``<output_uri>/clean``; safe to re-run.

    Both URIs are object-store roots Spark can address (``file:///…``, ``s3a://…``).
    Returns the run report, which is also written to ``clean/_reports/<run_id>.json``.
    """
    started = time.perf_counter()
    params = _Params(spark, fs.join_uri(output_uri, CLEAN), threshold, num_perm, seed)
    report = CleanReport(
        run_id=run_id or new_run_id(),
        started_at=datetime.now(UTC),
        since=since,
        lsh_bands=params.bands,
        lsh_rows=params.rows,
    )

    # Extract
    raw = read_raw_documents(spark, input_uri, since)
    if raw is None:
        report.dropped_by_reason = {DROPPED_MALFORMED: 0, DROPPED_SUPERSEDED: 0}
        logger.info("nothing to clean under %s (since=%s)", input_uri, since)
        return _finish(spark, params.clean_uri, report, started)
    transcripts = read_transcripts(spark, input_uri)
    small = transcripts is not None and (
        fs.total_bytes(spark, fs.join_uri(input_uri, TRANSCRIPTS)) <= BROADCAST_TRANSCRIPTS_BYTES
    )

    # Transform, cached: counting, de-duplication and the write all read it.
    lines = prepare(
        raw, transcripts, min_text_chars=min_text_chars, broadcast_transcripts=small, num_perm=num_perm, seed=seed
    ).persist()
    prepared = lines
    try:
        superseded, days = _count_lines(lines, report)  # the first action: parses and cleans every line, once
        if report.cleaned_docs == 0:
            logger.info("nothing to clean under %s (since=%s)", input_uri, since)
            return _finish(spark, params.clean_uri, report, started)
        prepared = documents_of(lines, recrawled=superseded > 0)
        if superseded:  # the latest crawls, cached apart; the lines they were picked from can go
            prepared = prepared.persist()
            days = _count_cleaned(prepared, report)
            lines.unpersist()
        # A projection of the cache: de-duplication scans these columns only.
        entries = add_story_node(prepared.select(*_ENTRY_COLUMNS)).withColumn("_active", F.lit(True))
        previous = _previous_index(params) if since is not None else None
        if previous is None:
            _clean_all(params, prepared, entries, days, report, remove_stale=since is None)
        else:
            old_index, report.index_rebuilt = previous
            try:
                _clean_incrementally(params, prepared, entries, days, old_index, report)
            finally:
                old_index.unpersist()
    finally:
        prepared.unpersist()
        lines.unpersist()
    return _finish(spark, params.clean_uri, report, started)


def _clean_all(
    params: _Params,
    prepared: DataFrame,
    entries: DataFrame,
    days: set[date],
    report: CleanReport,
    *,
    remove_stale: bool,
) -> None:
    """De-duplicate the new documents among themselves; write them and their index (everything, if ``remove_stale``)."""
    edges = _verified_edges(entries, params.threshold, params.bands, params.rows)
    stories = assign_stories(entries.select("id", "published_at", NODE), node_components(params.spark, edges))
    links = stories.where(F.col("_story_size") > 1).select("id", *LINK_COLUMNS).persist()
    try:
        linked, report.exact_duplicates, report.near_duplicates, report.clusters = _duplicate_counts(links)
        broadcast = linked <= BROADCAST_LINKS_ROWS
        report.output_docs = report.cleaned_docs
        report.partitions_written = sorted(day.isoformat() for day in days)
        # Load
        documents = to_clean_documents(relink(with_own_story(prepared), links, broadcast=broadcast))
        write_clean(documents, params.clean_uri, len(days))
        write_index(
            to_index(relink(with_own_story(entries), links, broadcast=broadcast)),
            params.clean_uri,
            params.num_perm,
            params.seed,
            params.threshold,
            len(days),
        )
    finally:
        links.unpersist()
    if remove_stale:
        report.partitions_removed = remove_stale_partitions(params.spark, params.clean_uri, report.partitions_written)
        remove_stale_partitions(params.spark, index_uri(params.clean_uri), report.partitions_written)


def _previous_index(params: _Params) -> tuple[DataFrame, bool] | None:
    """(the stored index, whether it was rebuilt from ``clean/`` now), or None when nothing was cleaned before."""
    spark, clean_uri = params.spark, params.clean_uri
    if not clean_partitions(spark, clean_uri):
        if fs.exists(spark, index_uri(clean_uri)):  # an index without documents describes nothing
            fs.delete(spark, index_uri(clean_uri))
        return None
    index = read_index(spark, clean_uri, params.num_perm, params.seed, params.threshold)
    if index is not None:
        return index, False
    old = read_clean(spark, clean_uri)
    assert old is not None
    logger.info("no usable index under %s: rebuilding it from the documents", clean_uri)
    columns = ("id", "published_at", "text", *LINK_COLUMNS, PARTITION_COLUMN)
    rebuilt = add_minhash(add_fingerprint(old.select(*columns)), params.num_perm, params.seed)
    return to_index(rebuilt).persist(), True


def _clean_incrementally(
    params: _Params, prepared: DataFrame, entries: DataFrame, new_days: set[date], index: DataFrame, report: CleanReport
) -> None:
    """Judge the new documents against the index; write them, and rewrite the partitions whose documents change."""
    spark = params.spark
    new_ids = F.broadcast(entries.select("id"))
    # Documents cleaned again (re-crawled): their old rows go, and their old stories are judged afresh.
    recleaned = index.join(new_ids, "id", "left_semi").select("story_id", PARTITION_COLUMN).distinct().collect()
    dirty = spark.createDataFrame(sorted({(row.story_id,) for row in recleaned}), "story_id string")
    old = (
        add_story_node(index.join(new_ids, "id", "left_anti").withColumnRenamed("fingerprint", "_fingerprint"))
        .join(F.broadcast(dirty.withColumn("_active", F.lit(True))), "story_id", "left")
        .withColumn("_active", F.coalesce("_active", F.lit(False)))
    )
    columns = ("id", "published_at", "content_hash", "_fingerprint", NODE, "minhash", "_active")
    edges = _verified_edges(
        entries.select(*columns).unionByName(old.select(*columns)), params.threshold, params.bands, params.rows
    )

    # Old stories this run touches: sharing a node with a new document, in a new edge, or dirty.
    edge_nodes = spark.createDataFrame(sorted({(node,) for edge in edges for node in edge}), f"{NODE} string")
    seeds = F.broadcast(entries.select(NODE).union(edge_nodes).distinct())
    touched_stories = F.broadcast(old.join(seeds, NODE, "left_semi").select("story_id").union(dirty).distinct())
    touched_members = old.join(touched_stories, "story_id", "left_semi")
    touched = touched_members.select("id", NODE, *LINK_COLUMNS, PARTITION_COLUMN, "_active").collect()
    # A touched old story stays whole unless dirty: its members are joined through the story, not re-verified.
    story_edges = [(row[NODE], "story:" + row.story_id) for row in touched if not row._active]
    members = entries.select("id", "published_at", NODE, F.lit(True).alias("_new")).unionByName(
        touched_members.select("id", "published_at", NODE, F.lit(False).alias("_new"))
    )
    stories = assign_stories(members, node_components(spark, edges + story_edges)).persist()
    links = stories.where(F.col("_new") & (F.col("_story_size") > 1)).select("id", *LINK_COLUMNS).persist()
    try:
        broadcast = links.count() <= BROADCAST_LINKS_ROWS
        stored = {row.id: row for row in touched}
        changed = [
            row
            for row in stories.where(~F.col("_new")).select("id", *LINK_COLUMNS).collect()
            if tuple(row[c] for c in LINK_COLUMNS) != tuple(stored[row.id][c] for c in LINK_COLUMNS)
        ]
        changes = spark.createDataFrame([tuple(row) for row in changed], _LINKS_SCHEMA)
        logger.info("incremental run: %d old stories touched, %d old documents relinked", len(touched), len(changed))

        # Partitions to rewrite, and what they keep (counted on the index, not on the documents).
        existing = set(clean_partitions(spark, params.clean_uri))
        rewrite = existing & (
            {stored[row.id][PARTITION_COLUMN] for row in changed}
            | {row[PARTITION_COLUMN] for row in recleaned}
            | new_days
        )
        kept = old.where(F.col(PARTITION_COLUMN).isin(sorted(rewrite))) if rewrite else None
        carried_days: set[date] = set()
        if kept is not None:
            row = kept.agg(F.count(F.lit(1)).alias("n"), F.collect_set(PARTITION_COLUMN).alias("days")).first()
            assert row is not None
            report.carried_over_docs, carried_days = int(row["n"]), set(row["days"])
        written = new_days | carried_days
        report.output_docs = report.cleaned_docs + report.carried_over_docs
        report.partitions_written = sorted(day.isoformat() for day in written)

        untouched = old.join(touched_stories, "story_id", "left_anti")
        counts = [_duplicate_counts(untouched)[1:], _duplicate_counts(stories)[1:]]
        report.exact_duplicates, report.near_duplicates, report.clusters = (sum(c) for c in zip(*counts, strict=True))

        # Load
        documents = to_clean_documents(relink(with_own_story(prepared), links, broadcast=broadcast))
        if rewrite:
            old_documents = read_clean(spark, params.clean_uri, rewrite)
            assert old_documents is not None
            carried = relink(old_documents.join(new_ids, "id", "left_anti"), changes)
            documents = documents.unionByName(to_clean_documents(carried))
        write_clean(documents, params.clean_uri, len(written))
        rows = to_index(relink(with_own_story(entries), links, broadcast=broadcast))
        old_rows = old if report.index_rebuilt else kept
        if old_rows is not None:
            rows = rows.unionByName(to_index(relink(old_rows, changes)))
        write_index(rows, params.clean_uri, params.num_perm, params.seed, params.threshold, len(written))
        report.partitions_removed = sorted(day.isoformat() for day in rewrite - written)
        for day in report.partitions_removed:
            for folder in (params.clean_uri, index_uri(params.clean_uri)):
                fs.delete(spark, fs.join_uri(folder, f"{PARTITION_COLUMN}={day}"))
    finally:
        links.unpersist()
        stories.unpersist()


def _finish(spark: SparkSession, clean_uri: str, report: CleanReport, started: float) -> CleanReport:
    report.seconds = round(time.perf_counter() - started, 3)
    write_report(spark, clean_uri, report)
    logger.info(
        "clean %s: %d raw lines → %d documents written (%d exact, %d near duplicates in %d stories) in %.1fs",
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
    except YuqingError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    finally:
        if already_running is None:  # stop only a session this call started
            spark.stop()
    sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    return 0


__all__ = ["CleanReport", "build_spark", "main", "read_clean_documents", "run_clean"]

if __name__ == "__main__":
    sys.exit(main())
