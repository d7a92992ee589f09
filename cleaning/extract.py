"""Extract: the clean job's inputs as DataFrames, read from the object store's URIs.

Layout (see DESIGN.md)::

    <root>/raw/docs/date=YYYY-MM-DD/<run>.jsonl   RawDocument per line; date = crawl day
    <root>/transcripts/<sha256>.json              one Transcript each (transcripts/_failed/ is skipped)
    <root>/clean/date=YYYY-MM-DD/part-*.parquet   the previous output (incremental runs: only the
                                                  partitions they rewrite; see ``cleaning.index``)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from cleaning import fs
from cleaning.schema import PARTITION_COLUMN, as_nullable, clean_table_schema, raw_document_schema, transcript_schema

logger = logging.getLogger(__name__)

RAW_DOCS = "raw/docs"
TRANSCRIPTS = "transcripts"
CLEAN = "clean"


def read_raw_documents(spark: SparkSession, root_uri: str, since: date | None = None) -> DataFrame | None:
    """Every raw line (bad ones kept, in ``_corrupt_record``), crawled on or after ``since``; None if there are none.

    ``since`` prunes by the ``date=`` directories, so older days are not even listed.
    """
    uri = fs.join_uri(root_uri, RAW_DOCS)
    if not fs.exists(spark, uri):
        logger.info("no raw documents under %s", uri)
        return None
    raw = spark.read.schema(raw_document_schema()).option("mode", "PERMISSIVE").json(uri)
    if PARTITION_COLUMN in raw.columns:
        if since is not None:
            raw = raw.where(F.col(PARTITION_COLUMN) >= F.lit(since))
        raw = raw.drop(PARTITION_COLUMN)
    elif since is not None:  # files not under date= directories: fall back to the crawl time
        raw = raw.where(F.to_date("crawled_at") >= F.lit(since))
    return raw


def read_transcripts(spark: SparkSession, root_uri: str) -> DataFrame | None:
    """(media_sha256, text) of every successful transcript; None when there are none.

    Only ``transcripts/*.json`` is read; failures kept under ``transcripts/_failed/`` never are.
    """
    folder = fs.join_uri(root_uri, TRANSCRIPTS)
    if not fs.glob(spark, fs.join_uri(folder, "*.json")):
        return None
    # The folder (not a glob) with a file filter: Spark skips "_failed/" like any "_" path.
    # One JSON object per file, possibly pretty-printed: multiLine reads a file as one record.
    return (
        spark.read.schema(transcript_schema())
        .option("multiLine", True)
        .option("pathGlobFilter", "*.json")
        .json(folder)
    )


def clean_partitions(spark: SparkSession, clean_uri: str) -> list[date]:
    """The days that have a ``date=`` partition under ``clean/`` (listed, not read)."""
    prefix = f"{PARTITION_COLUMN}="
    names = fs.list_directories(spark, clean_uri)
    return [date.fromisoformat(name.removeprefix(prefix)) for name in names if name.startswith(prefix)]


def read_clean(spark: SparkSession, clean_uri: str, days: Iterable[date] | None = None) -> DataFrame | None:
    """The documents already under ``clean/`` (with ``date``), or None before the first run.

    ``days`` limits the read to those partitions: the others are not opened.
    """
    if not fs.glob(spark, fs.join_uri(clean_uri, f"{PARTITION_COLUMN}=*")):
        return None
    documents = spark.read.schema(as_nullable(clean_table_schema())).parquet(clean_uri)
    if days is not None:
        documents = documents.where(F.col(PARTITION_COLUMN).isin(sorted(days)))
    return documents
