"""The clean job's steps, each a function from DataFrame to DataFrame.

Order in the job (``cleaning.job.prepare``, then de-duplication in ``cleaning.job``)::

    flag_well_formed ────────────────────────┐
                clean_transcripts ───────────┴→ attach_transcripts
    → clean_documents (text, title, transcripts, language, quality, fingerprint,
      content hash, MinHash: one pass through Python) → add_partition_date
    → (cached; malformed lines counted and dropped, then [latest_crawl])
    → add_story_node → candidate_pairs → verify_pairs → node_components
    → assign_stories → to_clean_documents

De-duplication works on story nodes (a content hash: exact copies share one) rather
than on documents; ``deduplicate`` composes its steps for small frames. Work that
Spark SQL cannot do well (NFKC, OpenCC, boilerplate, MinHash, Jaccard of shingle sets)
runs in pandas UDFs calling ``cleaning.text`` and ``cleaning.minhash``, with all of a
document's text work in one UDF so its text crosses to Python once; joins, windows
and aggregations are built-in Spark SQL and stay in the JVM. ``detect_language``,
``flag_quality``, ``add_fingerprint`` and ``add_minhash`` apply single steps of that
pass (to text cleaned earlier, or in tests).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterable

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cleaning import minhash
from cleaning import text as text_ops
from cleaning.graph import connected_components
from cleaning.schema import CORRUPT_RECORD, PARTITION_COLUMN, clean_document_schema
from cleaning.text import (
    QUALITY_ISSUES,
    TRANSCRIPT_MARKER,
    clean_article,
    clean_line_text,
    traditional_to_simplified,
)
from yuqing.contracts import SCHEMA_VERSION

logger = logging.getLogger(__name__)

SHANGHAI = "Asia/Shanghai"

DEFAULT_MIN_TEXT_CHARS = 40

DUPLICATE_EXACT = "exact"
DUPLICATE_NEAR = "near"
# The hash of an empty fingerprint (a text without letters or digits): such documents are never duplicates.
EMPTY_CONTENT_HASH = hashlib.sha256(b"").hexdigest()
NODE = "_node"
# Set by ``flag_well_formed``: whether a raw row parsed and has what every later step needs.
WELL_FORMED = "_well_formed"


def _pandas_udf(function: Callable[[pd.Series], pd.Series], return_type: T.DataType) -> Callable[..., Column]:
    return F.pandas_udf(function, return_type)  # type: ignore[call-overload]


# --- Raw input ---------------------------------------------------------------


def is_well_formed(raw: DataFrame) -> Column:
    """A raw row that parsed and has what every later step needs (id, crawl time, text)."""
    valid = F.col("id").isNotNull() & F.col("crawled_at").isNotNull() & F.col("text").isNotNull()
    return valid & F.col(CORRUPT_RECORD).isNull() if CORRUPT_RECORD in raw.columns else valid


def drop_malformed(raw: DataFrame) -> DataFrame:
    """Only well-formed rows, without the corrupt-record column."""
    kept = raw.where(is_well_formed(raw))
    return kept.drop(CORRUPT_RECORD) if CORRUPT_RECORD in raw.columns else kept


def flag_well_formed(raw: DataFrame) -> DataFrame:
    """Every row, with ``_well_formed`` (``is_well_formed``) and without the corrupt-record column."""
    flagged = raw.withColumn(WELL_FORMED, is_well_formed(raw))
    return flagged.drop(CORRUPT_RECORD) if CORRUPT_RECORD in raw.columns else flagged


def latest_crawl(docs: DataFrame) -> DataFrame:
    """One row per document id: its most recent crawl (a re-crawl supersedes earlier ones)."""
    newest_first = Window.partitionBy("id").orderBy(F.col("crawled_at").desc(), F.col("text").desc())
    return docs.withColumn("_rank", F.row_number().over(newest_first)).where("_rank = 1").drop("_rank")


# --- Text --------------------------------------------------------------------


def _clean_lines(texts: pd.Series) -> pd.Series:
    converter = traditional_to_simplified()
    return pd.Series([clean_line_text(t, converter) if isinstance(t, str) else None for t in texts], dtype=object)


def clean_transcripts(transcripts: DataFrame) -> DataFrame:
    """(media_sha256, text) with text normalised like documents (Whisper often writes Traditional)."""
    clean_text = _pandas_udf(_clean_lines, T.StringType())
    return (
        transcripts.where(F.col("media_sha256").isNotNull())
        .dropDuplicates(["media_sha256"])
        .select("media_sha256", clean_text("text").alias("text"))
        .where(F.length("text") > 0)
    )


def attach_transcripts(docs: DataFrame, transcripts: DataFrame | None, *, broadcast: bool = False) -> DataFrame:
    """``media_sha256`` (every asset, in page order, once each) and ``_heard``: its transcripts, in page order.

    ``transcripts`` are cleaned ones (``clean_transcripts``), so each is cleaned once
    however many pages embed its clip; ``_heard`` is null for a page without any, and
    ``clean_documents`` appends them to the text. ``transcripts=None`` (there are none)
    skips the join; ``broadcast`` sends the per-page transcripts to every task instead
    of shuffling the pages (for when the transcripts are small).
    """
    if transcripts is None:
        joined = docs.withColumn("_heard", F.lit(None).cast(T.ArrayType(T.StringType())))
    else:
        assets = docs.select("id", F.posexplode("media").alias("position", "asset")).select(
            "id", "position", F.col("asset.sha256").alias("media_sha256")
        )
        first_position = assets.groupBy("id", "media_sha256").agg(F.min("position").alias("position"))
        heard = (
            first_position.join(transcripts, "media_sha256")
            .groupBy("id")
            .agg(F.sort_array(F.collect_list(F.struct("position", "text"))).alias("_heard"))
            .select("id", F.transform("_heard", lambda h: h["text"]).alias("_heard"))
        )
        joined = docs.join(F.broadcast(heard) if broadcast else heard, "id", "left")
    media_sha256 = F.when(
        F.col("media").isNull(), F.array().cast(T.ArrayType(T.StringType()))
    ).otherwise(F.array_distinct(F.transform("media", lambda m: m["sha256"])))
    return joined.withColumn("media_sha256", media_sha256)


_CLEANED = T.StructType(
    [
        T.StructField("text", T.StringType()),
        T.StructField("title", T.StringType()),
        T.StructField("transcript_text", T.StringType()),
        T.StructField("language", T.StringType()),
        T.StructField("quality_issues", T.ArrayType(T.StringType(), containsNull=False)),
        T.StructField("_fingerprint", T.StringType()),
        T.StructField("content_hash", T.StringType()),
        T.StructField("minhash", T.BinaryType()),
    ]
)


def _clean_udf(min_text_chars: int, num_perm: int, seed: int) -> Callable[..., Column]:
    def clean(texts: pd.Series, titles: pd.Series, heard: pd.Series) -> pd.DataFrame:
        converter = traditional_to_simplified()
        rows = []
        for raw, title, transcripts in zip(texts, titles, heard, strict=True):
            said = list(transcripts) if transcripts is not None else []
            text = text_ops.with_transcripts(clean_article(raw, converter), said)
            fingerprint = text_ops.fingerprint(text)
            rows.append(
                (
                    text,
                    clean_line_text(title, converter).replace("\n", " ") if isinstance(title, str) else None,
                    "\n".join(said) if said else None,
                    *text_ops.language_and_quality(text, min_text_chars),
                    fingerprint,
                    text_ops.content_hash(fingerprint),
                )
            )
        cleaned = pd.DataFrame(rows, columns=_CLEANED.fieldNames()[:-1])
        # The whole batch's signatures in a few numpy passes (``minhash.signature_matrix``).
        cleaned["minhash"] = minhash.signature_bytes_of(cleaned["_fingerprint"].tolist(), num_perm, seed)
        return cleaned

    return _pandas_udf(clean, _CLEANED)


def clean_documents(
    docs: DataFrame,
    min_text_chars: int = DEFAULT_MIN_TEXT_CHARS,
    *,
    num_perm: int = minhash.DEFAULT_NUM_PERM,
    seed: int = minhash.DEFAULT_SEED,
) -> DataFrame:
    """Everything the job computes from a document's text, in one pass through Python per document.

    Title and text lose HTML, boilerplate, odd widths and whitespace and become
    Simplified (``cleaning.text``); the transcripts in ``_heard`` (``attach_transcripts``;
    none when the column is absent) are appended after a ``【音频转写】`` marker line
    and also kept alone in ``transcript_text``. On the result: ``language``,
    ``quality_issues`` (kept, not dropped), ``_fingerprint`` (what duplicates are
    judged on; kept until the write), ``content_hash`` and ``minhash`` (its signature,
    ``add_minhash``). One pass means the text crosses to Python once, not once per step.
    """
    heard = F.col("_heard") if "_heard" in docs.columns else F.lit(None).cast(T.ArrayType(T.StringType()))
    title = F.col("title") if "title" in docs.columns else F.lit(None).cast(T.StringType())
    cleaned = _clean_udf(min_text_chars, num_perm, seed)(F.col("text"), title, heard)
    produced = set(_CLEANED.fieldNames())
    kept = [c for c in docs.columns if c not in produced and c != "_heard"]
    return docs.withColumn("_cleaned", cleaned).select(*kept, *(F.col(f"_cleaned.{c}").alias(c) for c in produced))


def _per_text(function: Callable[[str], object], return_type: T.DataType) -> Callable[..., Column]:
    def apply(texts: pd.Series) -> pd.Series:
        return pd.Series([function(t if isinstance(t, str) else "") for t in texts], dtype=object)

    return _pandas_udf(apply, return_type)


def detect_language(docs: DataFrame) -> DataFrame:
    """``language`` = zh | en | other of ``text`` (``cleaning.text.language_of``; ``clean_documents`` sets it too)."""
    return docs.withColumn("language", _per_text(text_ops.language_of, T.StringType())("text"))


def flag_quality(docs: DataFrame, min_text_chars: int) -> DataFrame:
    """``quality_issues`` of ``text`` (``cleaning.text.quality_issues``); the document is kept either way."""
    issues = functools.partial(text_ops.quality_issues, min_text_chars=min_text_chars)
    return docs.withColumn("quality_issues", _per_text(issues, T.ArrayType(T.StringType(), False))("text"))


# --- Duplicates --------------------------------------------------------------


def add_fingerprint(docs: DataFrame) -> DataFrame:
    """``_fingerprint`` of ``text`` (``cleaning.text.fingerprint``) and ``content_hash``, its sha256."""
    fingerprint = _per_text(text_ops.fingerprint, T.StringType())("text")
    with_fingerprint = docs.withColumn("_fingerprint", fingerprint)
    return with_fingerprint.withColumn("content_hash", F.sha2("_fingerprint", 256))


def canonical_order() -> list[Column]:
    """Story canonical first: earliest published (unknown dates last), then smallest id."""
    return [F.col("published_at").asc_nulls_last(), F.col("id").asc()]


def add_story_node(docs: DataFrame) -> DataFrame:
    """``_node``: what exact duplicates share, the content hash; a document with an empty fingerprint is alone.

    De-duplication works on nodes, not documents: near-duplicate pairs are formed and
    verified once per distinct text however many exact copies it has.
    """
    node = F.when(F.col("content_hash") != EMPTY_CONTENT_HASH, F.col("content_hash")).otherwise(
        F.concat(F.lit("id:"), F.col("id"))
    )
    return docs.withColumn(NODE, node)


def _minhash_udf(num_perm: int, seed: int) -> Callable[..., Column]:
    def signatures(fingerprints: pd.Series) -> pd.Series:
        texts = [f if isinstance(f, str) else None for f in fingerprints]
        return pd.Series(minhash.signature_bytes_of(texts, num_perm, seed), dtype=object)

    return _pandas_udf(signatures, T.BinaryType())


def add_minhash(
    docs: DataFrame, num_perm: int = minhash.DEFAULT_NUM_PERM, seed: int = minhash.DEFAULT_SEED
) -> DataFrame:
    """``minhash``: MinHash of the fingerprint's character 5-shingles, ``num_perm`` little-endian uint32 (binary).

    Null when the fingerprint is too short to shingle. Stored as it is in the index.
    """
    return docs.withColumn("minhash", _minhash_udf(num_perm, seed)("_fingerprint"))


def band_buckets(signature: Column, bands: int, rows: int) -> Column:
    """The LSH bucket of each band: xxhash64 of the band number and its ``rows`` signature values (4 bytes each)."""
    width = 4 * rows
    return F.array(*[F.xxhash64(F.lit(band), signature.substr(band * width + 1, width)) for band in range(bands)])


def candidate_pairs(entries: DataFrame, bands: int, rows: int) -> DataFrame:
    """(left, right, _left, _right): story nodes, left < right, sharing an LSH band bucket, with their fingerprints.

    ``entries`` has ``_node``, ``_fingerprint`` and ``minhash``, and optionally
    ``_active``: a pair is only formed when at least one side is active, so nodes
    judged against each other by an earlier run are not paired again. Pairs are
    formed inside buckets only, and the shuffle carries a 64-bit hash of each node
    rather than the node itself.

    One Spark query collects the members of the (few) buckets shared by two nodes or
    more, and the pairs are formed here; the frame returned brings them back to nodes
    and fingerprints in one scan of ``entries`` (with the pairs broadcast), so verifying
    them (``verify_pairs``) reads the corpus once more, not twice. Should two nodes
    share a hash, each is paired with the other side's nodes.
    """
    spark = entries.sparkSession
    buckets_of = band_buckets(F.col("minhash"), bands, rows)
    active = F.col("_active") if "_active" in entries.columns else F.lit(True)
    keyed = entries.where(F.col("minhash").isNotNull()).select(
        F.xxhash64(NODE).alias("_key"), active.alias("_active"), F.explode(buckets_of).alias("_bucket")
    )
    # Buckets holding two nodes or more, one of them active. min/max rather than collect_set: a hash
    # aggregation, where collecting sets over hundreds of thousands of buckets fell back to sorting them.
    shared = (
        keyed.groupBy("_bucket")
        .agg(F.min("_key").alias("_low"), F.max("_key").alias("_high"), F.max("_active").alias("_any_active"))
        .where((F.col("_low") != F.col("_high")) & F.col("_any_active"))
        .select("_bucket")
    )
    members: dict[int, dict[int, bool]] = {}
    for row in keyed.join(F.broadcast(shared), "_bucket", "left_semi").collect():
        in_bucket = members.setdefault(row._bucket, {})
        in_bucket[row._key] = in_bucket.get(row._key, False) or row._active
    key_pairs = sorted(
        {
            (min(a, b), max(a, b))
            for in_bucket in members.values()
            for a, a_active in in_bucket.items()
            if a_active
            for b in in_bucket
            if a != b
        }
    )
    # Each pair's two sides: (pair number, which side, hash of the node).
    sides = spark.createDataFrame(
        [(pair, side, key) for pair, keys in enumerate(key_pairs) for side, key in enumerate(keys)],
        "_pair long, _side int, _key long",
    )
    texts = entries.select(F.xxhash64(NODE).alias("_key"), NODE, "_fingerprint").join(F.broadcast(sides), "_key")
    side = F.struct(F.col(NODE).alias("node"), F.col("_fingerprint").alias("text"))
    # Exact copies share a node and a fingerprint: the sets hold each node once.
    per_pair = texts.groupBy("_pair").agg(
        F.collect_set(F.when(F.col("_side") == 0, side)).alias("_lefts"),
        F.collect_set(F.when(F.col("_side") == 1, side)).alias("_rights"),
    )
    pairs = (
        per_pair.select(F.explode("_lefts").alias("_l"), "_rights")
        .select("_l", F.explode("_rights").alias("_r"))
        .where(F.col("_l.node") != F.col("_r.node"))
    )
    left_first = F.col("_l.node") < F.col("_r.node")
    return pairs.select(
        F.when(left_first, F.col("_l.node")).otherwise(F.col("_r.node")).alias("left"),
        F.when(left_first, F.col("_r.node")).otherwise(F.col("_l.node")).alias("right"),
        F.when(left_first, F.col("_l.text")).otherwise(F.col("_r.text")).alias("_left"),
        F.when(left_first, F.col("_r.text")).otherwise(F.col("_l.text")).alias("_right"),
    )


def _jaccard_of_texts(left: pd.Series, right: pd.Series) -> pd.Series:
    return pd.Series([minhash.text_jaccard(a, b) for a, b in zip(left, right, strict=True)], dtype="float64")


def verify_pairs(candidates: DataFrame, threshold: float) -> DataFrame:
    """(left, right, jaccard): candidates (``candidate_pairs``) whose 5-shingle sets have Jaccard ≥ ``threshold``.

    Exact: computed on the shingle strings of the two fingerprints themselves (no hashing).
    """
    jaccard = _pandas_udf(_jaccard_of_texts, T.DoubleType())
    return candidates.select("left", "right", jaccard("_left", "_right").alias("jaccard")).where(
        F.col("jaccard") >= threshold
    )


def node_components(spark: SparkSession, edges: Iterable[tuple[str, str]]) -> DataFrame:
    """(_node, component) for every node with an edge; label = smallest node in the component.

    Runs on the driver (see ``cleaning.graph``): fine for the small graphs that
    near-duplicates form. Nodes without an edge are their own component.
    """
    labels = connected_components(edges)
    schema = T.StructType(
        [T.StructField(NODE, T.StringType(), False), T.StructField("component", T.StringType(), False)]
    )
    return spark.createDataFrame(sorted(labels.items()), schema)


def assign_stories(members: DataFrame, components: DataFrame) -> DataFrame:
    """``story_id``, ``duplicate_of``, ``duplicate_kind`` and ``_story_size`` for each member document.

    ``members`` has ``id``, ``published_at`` and ``_node``; ``components`` maps nodes
    joined by near-duplicate edges to a component (small: it is broadcast). A story is
    a component of nodes (a node alone is its own); its canonical member is its
    earliest published document (ties: smallest id). A member is an exact duplicate
    when it has the canonical member's content, otherwise a near duplicate.
    """
    ordered = Window.partitionBy("_story").orderBy(*canonical_order())
    story_id = F.first("id").over(ordered)
    is_canonical = F.col("id") == F.col("story_id")
    return (
        members.join(F.broadcast(components), NODE, "left")
        .withColumn("_story", F.coalesce("component", NODE))
        .withColumn("story_id", story_id)
        .withColumn("_canonical_node", F.first(NODE).over(ordered))
        .withColumn("_story_size", F.count(F.lit(1)).over(Window.partitionBy("_story")))
        .withColumn("duplicate_of", F.when(~is_canonical, F.col("story_id")))
        .withColumn(
            "duplicate_kind",
            F.when(is_canonical, F.lit(None).cast(T.StringType()))
            .when(F.col(NODE) == F.col("_canonical_node"), F.lit(DUPLICATE_EXACT))
            .otherwise(F.lit(DUPLICATE_NEAR)),
        )
        .drop("component", "_story", "_canonical_node")
    )


def deduplicate(
    docs: DataFrame,
    threshold: float,
    *,
    num_perm: int = minhash.DEFAULT_NUM_PERM,
    seed: int = minhash.DEFAULT_SEED,
) -> DataFrame:
    """Every step on one DataFrame: nodes, MinHash, LSH candidates, exact verification, components, stories.

    Needs ``_fingerprint`` and ``content_hash`` (``add_fingerprint``); collects the
    verified pairs to the driver. ``cleaning.job`` runs the same steps with caching and
    a stored index; this composition is for small frames.
    """
    bands, rows = minhash.choose_banding(num_perm, threshold)
    entries = add_minhash(add_story_node(docs), num_perm, seed)
    pairs = verify_pairs(candidate_pairs(entries, bands, rows), threshold)
    edges = [(row.left, row.right) for row in pairs.select("left", "right").collect()]
    stories = assign_stories(entries, node_components(docs.sparkSession, edges))
    return stories.drop(NODE, "minhash", "_story_size", "_fingerprint")


# --- Output ------------------------------------------------------------------


def add_partition_date(docs: DataFrame) -> DataFrame:
    """``date``: the day in China (Asia/Shanghai) it was published, else crawled."""
    moment = F.coalesce("published_at", "crawled_at")
    return docs.withColumn(PARTITION_COLUMN, F.to_date(F.from_utc_timestamp(moment, SHANGHAI)))


def to_clean_documents(docs: DataFrame) -> DataFrame:
    """Exactly the ``CleanDocument`` columns, in contract order and types, plus ``date`` when present."""
    present = {field.name: field.dataType for field in docs.schema.fields}
    columns = []
    for field in clean_document_schema().fields:
        if field.name == "schema_version":
            columns.append(F.lit(SCHEMA_VERSION).cast(field.dataType).alias(field.name))
        elif present[field.name].simpleString() == field.dataType.simpleString():
            # Same type up to nullability, which Spark will not cast away (and Parquet does not need).
            columns.append(F.col(field.name))
        else:
            columns.append(F.col(field.name).cast(field.dataType).alias(field.name))
    if PARTITION_COLUMN in docs.columns:
        columns.append(F.col(PARTITION_COLUMN))
    return docs.select(*columns)


__all__ = [
    "QUALITY_ISSUES",
    "TRANSCRIPT_MARKER",
    "add_fingerprint",
    "add_minhash",
    "add_partition_date",
    "add_story_node",
    "attach_transcripts",
    "assign_stories",
    "band_buckets",
    "candidate_pairs",
    "clean_documents",
    "clean_transcripts",
    "deduplicate",
    "detect_language",
    "drop_malformed",
    "flag_well_formed",
    "flag_quality",
    "is_well_formed",
    "latest_crawl",
    "node_components",
    "to_clean_documents",
    "verify_pairs",
]
