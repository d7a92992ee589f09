"""The clean job's steps, each a function from DataFrame to DataFrame.

Order in the job (``cleaning.job.prepare`` then ``cleaning.job.link_stories``)::

    drop_malformed → latest_crawl → clean_documents ─┐
                         clean_transcripts ──────────┴→ join_transcripts
    → detect_language → flag_quality → add_fingerprint → deduplicate
    → add_partition_date → to_clean_documents

Work that Spark SQL cannot do (NFKC, OpenCC, MinHash, Jaccard of shingle sets) runs
in pandas UDFs calling ``cleaning.text`` and ``cleaning.minhash``; everything else
is built-in Spark SQL, so it stays in the JVM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cleaning import minhash
from cleaning.compat import no_pandas3_warning
from cleaning.graph import connected_components
from cleaning.schema import CORRUPT_RECORD, PARTITION_COLUMN, clean_document_schema
from cleaning.text import clean_article, clean_line_text, traditional_to_simplified
from yuqing.contracts import SCHEMA_VERSION

logger = logging.getLogger(__name__)

TRANSCRIPT_MARKER = "【音频转写】"
# Put before each transcript appended to a document's text.
TRANSCRIPT_HEADER = f"\n\n{TRANSCRIPT_MARKER}\n"
SHANGHAI = "Asia/Shanghai"

QUALITY_TOO_SHORT = "too_short"
QUALITY_MOSTLY_NON_TEXT = "mostly_non_text"
QUALITY_ISSUES = (QUALITY_TOO_SHORT, QUALITY_MOSTLY_NON_TEXT)
# Below this share of letters among visible characters a text is mostly numbers, symbols or URLs.
MIN_LETTER_SHARE = 0.5

DUPLICATE_EXACT = "exact"
DUPLICATE_NEAR = "near"


def _pandas_udf(function: Callable[[pd.Series], pd.Series], return_type: T.DataType) -> Callable[..., Column]:
    with no_pandas3_warning():
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


def latest_crawl(docs: DataFrame) -> DataFrame:
    """One row per document id: its most recent crawl (a re-crawl supersedes earlier ones)."""
    newest_first = Window.partitionBy("id").orderBy(F.col("crawled_at").desc(), F.col("text").desc())
    return docs.withColumn("_rank", F.row_number().over(newest_first)).where("_rank = 1").drop("_rank")


# --- Text --------------------------------------------------------------------


def _clean_articles(texts: pd.Series) -> pd.Series:
    converter = traditional_to_simplified()
    return pd.Series([clean_article(t, converter) if isinstance(t, str) else None for t in texts], dtype=object)


def _clean_lines(texts: pd.Series) -> pd.Series:
    converter = traditional_to_simplified()
    return pd.Series([clean_line_text(t, converter) if isinstance(t, str) else None for t in texts], dtype=object)


def _clean_titles(texts: pd.Series) -> pd.Series:
    converter = traditional_to_simplified()
    return pd.Series(
        [clean_line_text(t, converter).replace("\n", " ") if isinstance(t, str) else None for t in texts], dtype=object
    )


def clean_documents(docs: DataFrame) -> DataFrame:
    """Title and text without HTML, boilerplate, odd widths or whitespace, in Simplified characters."""
    clean_text = _pandas_udf(_clean_articles, T.StringType())
    clean_title = _pandas_udf(_clean_titles, T.StringType())
    return docs.withColumn("text", clean_text("text")).withColumn("title", clean_title("title"))


def clean_transcripts(transcripts: DataFrame) -> DataFrame:
    """(media_sha256, text) with text normalised like documents (Whisper often writes Traditional)."""
    clean_text = _pandas_udf(_clean_lines, T.StringType())
    return (
        transcripts.where(F.col("media_sha256").isNotNull())
        .dropDuplicates(["media_sha256"])
        .select("media_sha256", clean_text("text").alias("text"))
        .where(F.length("text") > 0)
    )


def join_transcripts(docs: DataFrame, transcripts: DataFrame) -> DataFrame:
    """Append each media asset's transcript to the text, after a ``【音频转写】`` marker line.

    Adds ``media_sha256`` (every asset, in page order, once each) and ``transcript_text``
    (the transcripts alone, one per line; null when none). Text is cleaned before this
    join, and transcripts separately, so each transcript is cleaned once however many
    pages embed its clip.
    """
    assets = docs.select("id", F.posexplode("media").alias("position", "asset")).select(
        "id", "position", F.col("asset.sha256").alias("media_sha256")
    )
    first_position = assets.groupBy("id", "media_sha256").agg(F.min("position").alias("position"))
    heard = (
        first_position.join(transcripts, "media_sha256")
        .groupBy("id")
        .agg(F.sort_array(F.collect_list(F.struct("position", "text"))).alias("_heard"))
    )
    heard_texts = F.transform("_heard", lambda h: h["text"])
    appended = F.concat_ws("", F.transform("_heard", lambda h: F.concat(F.lit(TRANSCRIPT_HEADER), h["text"])))
    media_sha256 = F.when(
        F.col("media").isNull(), F.array().cast(T.ArrayType(T.StringType()))
    ).otherwise(F.array_distinct(F.transform("media", lambda m: m["sha256"])))
    return (
        docs.join(heard, "id", "left")
        .withColumn("media_sha256", media_sha256)
        .withColumn("transcript_text", F.when(F.col("_heard").isNotNull(), F.array_join(heard_texts, "\n")))
        # A page with no article text starts with the marker, not with blank lines.
        .withColumn("text", F.regexp_replace(F.concat("text", F.coalesce(appended, F.lit(""))), r"^\n+", ""))
        .drop("_heard")
    )


def article_part(text: Column) -> Column:
    """The text before the first transcript marker (the article as written)."""
    return F.substring_index(text, TRANSCRIPT_HEADER, 1)


def _count_matching(text: Column, char_class: str) -> Column:
    """How many characters of ``text`` are in a Java regex character class."""
    return F.length(F.regexp_replace(text, f"[^{char_class}]", ""))


def detect_language(docs: DataFrame) -> DataFrame:
    """``language`` = zh | en | other, from the script of the letters (a heuristic, good enough for routing).

    Among letters (Unicode category L): zh when at least 30% are Han and under 10%
    kana (Japanese also uses Han); en when at least 70% are ASCII Latin; otherwise,
    and for texts without letters, other. Han counts for more than its share of
    characters because one Han character carries about a word, so Chinese articles
    with English product names stay zh.
    """
    text = F.col("text")
    letters = _count_matching(text, r"\p{L}")
    han = _count_matching(text, r"\p{IsHan}")
    kana = _count_matching(text, r"\p{IsHiragana}\p{IsKatakana}")
    latin = _count_matching(text, "A-Za-z")
    language = (
        F.when(letters == 0, "other")
        .when((han >= 0.3 * letters) & (kana < 0.1 * letters), "zh")
        .when(latin >= 0.7 * letters, "en")
        .otherwise("other")
    )
    return docs.withColumn("language", language)


def flag_quality(docs: DataFrame, min_text_chars: int) -> DataFrame:
    """``quality_issues``: why a document is weak (too_short, mostly_non_text); it is kept either way.

    Characters are counted without whitespace and without the transcript marker, over
    article and transcripts together (a video page with a one-line caption is not short).
    """
    visible = F.regexp_replace("text", rf"{TRANSCRIPT_MARKER}|\s", "")
    visible_chars = F.length(visible)
    letters = _count_matching(visible, r"\p{L}")
    issues = F.array_compact(
        F.array(
            F.when(visible_chars < min_text_chars, F.lit(QUALITY_TOO_SHORT)),
            F.when((visible_chars > 0) & (letters < MIN_LETTER_SHARE * visible_chars), F.lit(QUALITY_MOSTLY_NON_TEXT)),
        )
    )
    return docs.withColumn("quality_issues", issues)


# --- Duplicates --------------------------------------------------------------


def fingerprint_text(text: Column) -> Column:
    """What duplicates are judged on: lower-cased, no whitespace, punctuation or symbols.

    The article part only, so two different articles embedding the same clip are not
    duplicates; a page that is only a transcript falls back to its whole text.
    """

    def squeeze(column: Column) -> Column:
        return F.lower(F.regexp_replace(column, r"[\s\p{P}\p{S}]", ""))

    article = squeeze(article_part(text))
    return F.when(F.length(article) > 0, article).otherwise(squeeze(text))


def add_fingerprint(docs: DataFrame) -> DataFrame:
    """``_fingerprint`` (kept until ``deduplicate``) and ``content_hash`` = its sha256."""
    return docs.withColumn("_fingerprint", fingerprint_text(F.col("text"))).withColumn(
        "content_hash", F.sha2("_fingerprint", 256)
    )


def canonical_order() -> list[Column]:
    """Story canonical first: earliest published (unknown dates last), then smallest id."""
    return [F.col("published_at").asc_nulls_last(), F.col("id").asc()]


def mark_exact_groups(docs: DataFrame) -> DataFrame:
    """``_exact_of``: the canonical member among documents with the same content hash.

    Documents with an empty fingerprint (no letters or digits at all) form no group.
    """
    by_hash = Window.partitionBy("content_hash").orderBy(*canonical_order())
    representative = F.first("id").over(by_hash)
    return docs.withColumn("_exact_of", F.when(F.length("_fingerprint") > 0, representative).otherwise(F.col("id")))


def _signatures_udf(num_perm: int, seed: int) -> Callable[..., Column]:
    def signatures(fingerprints: pd.Series) -> pd.Series:
        a, b = minhash.permutations(num_perm, seed)
        result = [
            minhash.signature(minhash.shingle_keys(f), a, b) if isinstance(f, str) and f else None for f in fingerprints
        ]
        return pd.Series(result, dtype=object)

    return _pandas_udf(signatures, T.ArrayType(T.LongType(), containsNull=False))


def add_signatures(
    docs: DataFrame, num_perm: int = minhash.DEFAULT_NUM_PERM, seed: int = minhash.DEFAULT_SEED
) -> DataFrame:
    """``_signature``: MinHash of the fingerprint's character 5-shingles (null when too short to shingle)."""
    return docs.withColumn("_signature", _signatures_udf(num_perm, seed)("_fingerprint"))


def candidate_pairs(signed: DataFrame, bands: int, rows: int) -> DataFrame:
    """(left_id, right_id), left < right, for documents sharing at least one LSH band bucket.

    A band's bucket is the xxhash64 of its ``rows`` signature values. Pairs are only
    formed inside a bucket, never across the whole corpus; grouping by bucket (rather
    than joining the buckets with themselves) computes the signatures once.
    """
    band_hashes = F.transform(
        F.sequence(F.lit(0), F.lit(bands - 1)),
        lambda band: F.xxhash64(F.slice("_signature", band * rows + 1, F.lit(rows))),
    )
    shared = (
        signed.where(F.col("_signature").isNotNull())
        .select("id", F.posexplode(band_hashes).alias("band", "bucket"))
        .groupBy("band", "bucket")
        .agg(F.array_sort(F.collect_set("id")).alias("ids"))
        .where(F.size("ids") > 1)
    )
    return (
        shared.select("ids", F.explode("ids").alias("left_id"))
        .select("left_id", F.explode("ids").alias("right_id"))
        .where(F.col("left_id") < F.col("right_id"))
        .distinct()
    )


def _jaccard_of_texts(left: pd.Series, right: pd.Series) -> pd.Series:
    return pd.Series([minhash.text_jaccard(a, b) for a, b in zip(left, right, strict=True)], dtype="float64")


def verify_pairs(candidates: DataFrame, docs: DataFrame, threshold: float) -> DataFrame:
    """Candidates whose exact Jaccard similarity of character-shingle sets is at least ``threshold``.

    Computed on the shingle strings themselves (no hashing), for candidate pairs only.
    """
    jaccard = _pandas_udf(_jaccard_of_texts, T.DoubleType())
    fingerprints = docs.select("id", "_fingerprint")
    left = fingerprints.select(F.col("id").alias("left_id"), F.col("_fingerprint").alias("_left"))
    right = fingerprints.select(F.col("id").alias("right_id"), F.col("_fingerprint").alias("_right"))
    return (
        candidates.join(left, "left_id")
        .join(right, "right_id")
        .select("left_id", "right_id", jaccard("_left", "_right").alias("jaccard"))
        .where(F.col("jaccard") >= threshold)
    )


def components(pairs: DataFrame) -> DataFrame:
    """(id, component) for every document in a verified pair; label = smallest id in the component.

    Collects the pairs to the driver (see ``cleaning.graph``): fine for the small graphs
    that near-duplicates form; documents in no pair are their own component.
    """
    edges = [(row.left_id, row.right_id) for row in pairs.select("left_id", "right_id").collect()]
    labels = connected_components(edges)
    logger.info("near-duplicate graph: %d verified pairs over %d documents", len(edges), len(labels))
    schema = T.StructType(
        [T.StructField("id", T.StringType(), False), T.StructField("component", T.StringType(), False)]
    )
    return pairs.sparkSession.createDataFrame(sorted(labels.items()), schema)


def assign_stories(docs: DataFrame, near_components: DataFrame) -> DataFrame:
    """``story_id``, ``duplicate_of`` and ``duplicate_kind`` from exact groups and near-duplicate components.

    Exact groups are merged by their representatives' components; the story's canonical
    member is its earliest published document (ties: smallest id), which is also the
    earliest of the representatives because each represents its group's earliest.
    """
    representatives = (
        docs.where(F.col("id") == F.col("_exact_of"))
        .select("id", "published_at")
        .join(F.broadcast(near_components), "id", "left")
        .withColumn("component", F.coalesce("component", "id"))
    )
    by_component = Window.partitionBy("component").orderBy(*canonical_order())
    story_of_group = representatives.select(
        F.col("id").alias("_exact_of"), F.first("id").over(by_component).alias("story_id")
    )
    is_canonical = F.col("id") == F.col("story_id")
    return (
        docs.join(story_of_group, "_exact_of")
        .withColumn("duplicate_of", F.when(~is_canonical, F.col("story_id")))
        .withColumn(
            "duplicate_kind",
            F.when(is_canonical, F.lit(None).cast(T.StringType()))
            .when(F.col("_exact_of") == F.col("story_id"), F.lit(DUPLICATE_EXACT))
            .otherwise(F.lit(DUPLICATE_NEAR)),
        )
    )


def deduplicate(
    docs: DataFrame,
    threshold: float,
    *,
    num_perm: int = minhash.DEFAULT_NUM_PERM,
    seed: int = minhash.DEFAULT_SEED,
) -> DataFrame:
    """Exact groups by content hash, then near-duplicates (MinHash + LSH + exact Jaccard) among their representatives.

    Needs ``_fingerprint`` and ``content_hash`` (``add_fingerprint``). Runs one Spark
    job to collect the verified pairs; cache ``docs`` first, as it is read several times.
    """
    bands, rows = minhash.choose_banding(num_perm, threshold)
    grouped = mark_exact_groups(docs)
    representatives = add_signatures(grouped.where(F.col("id") == F.col("_exact_of")), num_perm, seed)
    pairs = verify_pairs(candidate_pairs(representatives, bands, rows), docs, threshold)
    return assign_stories(grouped, components(pairs)).drop("_exact_of", "_fingerprint")


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
    "TRANSCRIPT_MARKER",
    "add_fingerprint",
    "add_partition_date",
    "add_signatures",
    "assign_stories",
    "candidate_pairs",
    "clean_documents",
    "clean_transcripts",
    "components",
    "deduplicate",
    "detect_language",
    "drop_malformed",
    "is_well_formed",
    "flag_quality",
    "join_transcripts",
    "latest_crawl",
    "mark_exact_groups",
    "to_clean_documents",
    "verify_pairs",
]
