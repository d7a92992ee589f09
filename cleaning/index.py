"""The de-duplication index, ``clean/_index/``: what judging new documents against old ones needs.

One row per document under ``clean/``, in a ``date=`` partition of the same name
as the document's (so a run rewrites the index partitions of the ``clean/``
partitions it rewrites)::

    id, published_at, content_hash      who it is, when it was published, what exact copies share
    fingerprint                          the text duplicates are judged on (for exact Jaccard checks)
    minhash                              MinHash signature: num_perm little-endian uint32 (binary)
    story_id, duplicate_of, duplicate_kind   the links the document was written with

``_meta.json`` beside the partitions records how the signatures were made
(``num_perm``, ``seed``, shingle size); an index made otherwise, or none at all
beside existing output, is rebuilt once from ``clean/``'s text. It also records the
near-duplicate threshold the stored links were made with: an incremental run at
another threshold would mix two definitions of "reprint", so it is refused with a
message saying to re-run everything (no ``--since``) at the new threshold.

An incremental run reads this instead of the documents: it bands the stored
signatures with the new ones, checks candidate pairs on the stored fingerprints,
and opens a ``clean/`` partition only to rewrite it (when a document there changes
story, or is re-cleaned). Like ``clean/_reports/``, the folder starts with ``_``,
so Spark and pyarrow skip it when they read ``clean/``.
"""

from __future__ import annotations

import json
import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cleaning import fs, minhash
from cleaning.load import by_day
from cleaning.schema import PARTITION_COLUMN
from yuqing.errors import ConfigError

logger = logging.getLogger(__name__)

INDEX = "_index"
META = "_meta.json"
# 2: one-permutation-hashing signatures (format 1 held 64 multiply-shift MinHashes): older indexes are rebuilt.
INDEX_FORMAT = 2

LINK_COLUMNS = ("story_id", "duplicate_of", "duplicate_kind")


def index_schema() -> T.StructType:
    """The index's columns, ``date`` (the partition) last."""
    return T.StructType(
        [
            T.StructField("id", T.StringType()),
            T.StructField("published_at", T.TimestampType()),
            T.StructField("content_hash", T.StringType()),
            T.StructField("fingerprint", T.StringType()),
            T.StructField("minhash", T.BinaryType()),
            *(T.StructField(name, T.StringType()) for name in LINK_COLUMNS),
            T.StructField(PARTITION_COLUMN, T.DateType()),
        ]
    )


def index_uri(clean_uri: str) -> str:
    return fs.join_uri(clean_uri, INDEX)


def _meta(num_perm: int, seed: int) -> dict[str, int]:
    return {"format": INDEX_FORMAT, "num_perm": num_perm, "seed": seed, "shingle_chars": minhash.SHINGLE_CHARS}


def read_index(spark: SparkSession, clean_uri: str, num_perm: int, seed: int, threshold: float) -> DataFrame | None:
    """The stored index, or None when there is none or it was made with other MinHash parameters."""
    uri = index_uri(clean_uri)
    meta_uri = fs.join_uri(uri, META)
    if not fs.exists(spark, meta_uri):
        return None
    stored = json.loads(fs.read_text(spark, meta_uri))
    linked_at = stored.pop("threshold", threshold)  # indexes written before thresholds were recorded
    if linked_at != threshold:
        raise ConfigError(
            f"the documents under {clean_uri} were linked at a near-duplicate threshold of {linked_at}, this run asks for "
            f"{threshold}; re-run without --since to re-link everything at {threshold}, or keep --threshold {linked_at}"
        )
    if stored != _meta(num_perm, seed):
        logger.warning("index at %s was made with %s, not %s: rebuilding it", uri, stored, _meta(num_perm, seed))
        return None
    if not fs.glob(spark, fs.join_uri(uri, f"{PARTITION_COLUMN}=*")):
        return spark.createDataFrame([], index_schema())
    return spark.read.schema(index_schema()).parquet(uri)


def to_index(entries: DataFrame) -> DataFrame:
    """Index rows from de-duplication entries (``_fingerprint`` and ``minhash``, links, ``date``)."""
    columns = [
        F.col("_fingerprint").alias("fingerprint") if field.name == "fingerprint" else F.col(field.name)
        for field in index_schema().fields
    ]
    return entries.select(*columns)


def write_index(
    rows: DataFrame, clean_uri: str, num_perm: int, seed: int, threshold: float, days: int | None = None
) -> None:
    """Replace the index partitions ``rows`` covers (one zstd file each), then record the parameters.

    ``days``, the number of days ``rows`` covers when known, sets the number of write tasks (``cleaning.load.by_day``).
    """
    (
        by_day(rows, days)
        .sortWithinPartitions(PARTITION_COLUMN, "id")
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .option("compression", "zstd")
        .option("parquet.enable.dictionary", "false")  # as the documents: see cleaning.load
        .partitionBy(PARTITION_COLUMN)
        .parquet(index_uri(clean_uri))
    )
    meta = {**_meta(num_perm, seed), "threshold": threshold}
    fs.write_text(rows.sparkSession, fs.join_uri(index_uri(clean_uri), META), json.dumps(meta))


__all__ = ["INDEX", "LINK_COLUMNS", "index_schema", "index_uri", "read_index", "to_index", "write_index"]
