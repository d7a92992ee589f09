"""Load: write the clean documents and the run report (Spark side).

``clean/`` is Parquet (zstd), partitioned by ``date`` (the day in Asia/Shanghai a
document was published, else crawled). Partitions are overwritten dynamically:
only those present in the new data are replaced, so ``clean/_reports/`` and the
de-duplication index ``clean/_index/`` (written by ``cleaning.index``) survive and a
re-run rewrites the same files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pyspark.sql import DataFrame, SparkSession

from cleaning import fs
from cleaning.report import CleanReport
from cleaning.schema import PARTITION_COLUMN

logger = logging.getLogger(__name__)

REPORTS = "_reports"
# Parquet's dictionary encoding is off for the documents and the index. Their big
# columns (ids, URLs, text, fingerprints) are unique per document, so the writer hashed every value
# into a dictionary only to give it up: a quarter of the write's CPU, for files of the same size
# (zstd already shrinks the few repetitive columns).


def by_day(rows: DataFrame, days: int | None) -> DataFrame:
    """``rows`` shuffled so that each day is in one task (one file per ``date=`` partition), in ``days`` tasks.

    Given the number of days, each task gets about one day: tasks of even size that
    keep every core busy, where Spark's default (its shuffle partitions, merged by
    size) gave local[2] three tasks of uneven size and left a core idle for a third
    of the write.
    """
    return rows.repartition(days, PARTITION_COLUMN) if days else rows.repartition(PARTITION_COLUMN)


def write_clean(docs: DataFrame, clean_uri: str, days: int | None = None) -> None:
    """Replace the partitions ``docs`` covers with one zstd Parquet file each (rows sorted by id).

    ``days``, the number of days ``docs`` covers when known, sets the number of write tasks (``by_day``).
    """
    (
        by_day(docs, days)
        .sortWithinPartitions(PARTITION_COLUMN, "id")
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .option("compression", "zstd")
        .option("parquet.enable.dictionary", "false")  # see the note above
        .partitionBy(PARTITION_COLUMN)
        .parquet(clean_uri)
    )


def remove_stale_partitions(spark: SparkSession, clean_uri: str, written: Iterable[str]) -> list[str]:
    """Delete ``date=`` partitions that this run did not write, and say which.

    The job writes every document it knows about, so a partition it did not write
    holds only copies of documents that now live elsewhere (a re-crawl found their
    publication date) or no longer exist in raw; left alone they would be read twice.
    """
    keep = {f"{PARTITION_COLUMN}={day}" for day in written}
    removed = []
    for name in fs.list_directories(spark, clean_uri):
        if name.startswith(f"{PARTITION_COLUMN}=") and name not in keep:
            fs.delete(spark, fs.join_uri(clean_uri, name))
            removed.append(name.split("=", 1)[1])
    if removed:
        logger.info("removed %d stale partition(s) from %s: %s", len(removed), clean_uri, ", ".join(removed))
    return removed


def report_uri(clean_uri: str, run_id: str) -> str:
    return fs.join_uri(clean_uri, REPORTS, f"{run_id}.json")


def write_report(spark: SparkSession, clean_uri: str, report: CleanReport) -> None:
    """Store the run report as JSON through Hadoop's FileSystem (file:// and s3a:// alike); sets ``report_uri``."""
    report.report_uri = report_uri(clean_uri, report.run_id)
    fs.write_text(spark, report.report_uri, report.model_dump_json(indent=2))
