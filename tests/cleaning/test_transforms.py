"""Each transform on a tiny DataFrame, compared with assertDataFrameEqual."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from cleaning import minhash
from cleaning import transforms as tf
from cleaning.schema import clean_document_schema, raw_document_schema, transcript_schema
from tests.cleaning.corpus import STORY_A, STORY_A_EDITED, STORY_B

pytestmark = pytest.mark.slow

BANDS, ROWS = minhash.choose_banding(minhash.DEFAULT_NUM_PERM, 0.8)


def _at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def _raw(spark, rows: list[dict]):
    """Rows in the raw-document schema (missing fields null)."""
    names = raw_document_schema().fieldNames()
    return spark.createDataFrame([tuple(row.get(n) for n in names) for row in rows], raw_document_schema())


def test_malformed_rows_are_dropped_and_the_latest_crawl_of_each_document_kept(spark):
    raw = _raw(
        spark,
        [
            {"id": "a", "text": "第一次抓取", "crawled_at": _at(10)},
            {"id": "a", "text": "第二次抓取", "crawled_at": _at(12)},
            {"id": "b", "text": "只抓一次", "crawled_at": _at(11)},
            {"id": None, "text": "没有编号", "crawled_at": _at(11)},
            {"id": "c", "text": None, "crawled_at": _at(11)},
            {"_corrupt_record": '{"id": "broken", "text": '},
        ],
    )
    latest = tf.latest_crawl(tf.drop_malformed(raw)).select("id", "text")
    assertDataFrameEqual(latest, [Row(id="a", text="第二次抓取"), Row(id="b", text="只抓一次")])
    assert "_corrupt_record" not in tf.drop_malformed(raw).columns


def test_clean_documents_cleans_title_and_text(spark):
    raw = _raw(
        spark,
        [
            {"id": "t", "title": " 臺北\n擴大 自行車 ", "text": "<p>臺北市政府今日宣佈。</p>\n責任編輯：張三\n點擊分享到微信", "crawled_at": _at(1)},
            {"id": "f", "title": "ＡＢＣ新闻", "text": "售价ＲＭＢ１２９９元，\u3000\u3000性价比高。\r\n\r\n\r\n第二段", "crawled_at": _at(1)},
        ],
    )  # fmt: skip
    cleaned = tf.clean_documents(raw).select("id", "title", "text")
    assertDataFrameEqual(
        cleaned,
        [
            Row(id="t", title="台北 扩大自行车", text="台北市政府今日宣布。"),
            Row(id="f", title="ABC新闻", text="售价RMB1299元，性价比高。\n第二段"),
        ],
    )


def test_the_one_pass_agrees_with_the_single_steps(spark):
    raw = _raw(
        spark,
        [
            {"id": "zh", "title": "标题", "text": "<p>" + STORY_A + "</p>\n责任编辑：张三", "crawled_at": _at(1)},
            {"id": "en", "title": "T", "text": "The council approved a budget, again!", "crawled_at": _at(1)},
            {"id": "symbols", "title": "S", "text": "12345 ### 67.8% 2026-11-10", "crawled_at": _at(1)},
        ],
    )
    columns = ("id", "language", "quality_issues", "_fingerprint", "content_hash", "minhash")
    one_pass = tf.clean_documents(raw, 40)
    steps = tf.add_minhash(tf.add_fingerprint(tf.flag_quality(tf.detect_language(one_pass.select("id", "text")), 40)))
    assertDataFrameEqual(one_pass.select(*columns), steps.select(*columns))
    assert one_pass.where("minhash IS NULL").count() == 0


def test_transcripts_are_cleaned_and_appended_after_a_marker_in_page_order(spark):
    sha = {name: name * 64 for name in "abcd"}

    def asset(s):
        return {"sha256": s, "url": "u", "key": "k", "kind": "video", "size_bytes": 1, "schema_version": 1}

    media_type = raw_document_schema()["media"].dataType
    docs = spark.createDataFrame(
        [
            ("two-clips", "正文。", [asset(sha["b"]), asset(sha["a"]), asset(sha["b"]), asset(sha["c"])]),
            ("no-media", "只有正文。", None),
            ("only-video", "", [asset(sha["a"])]),
        ],
        T.StructType([T.StructField("id", T.StringType()), T.StructField("text", T.StringType()), T.StructField("media", media_type)]),
    )  # fmt: skip
    transcripts = spark.createDataFrame(
        [(sha["a"], "這是第一段講話。"), (sha["b"], "第二段 講話"), (sha["c"], "  "), (None, "无主")],
        transcript_schema(),
    )
    columns = ("id", "text", "transcript_text", "media_sha256")
    heard = tf.clean_transcripts(transcripts)
    joined = tf.clean_documents(tf.attach_transcripts(docs, heard)).select(*columns)
    broadcast = tf.clean_documents(tf.attach_transcripts(docs, heard, broadcast=True)).select(*columns)
    assertDataFrameEqual(broadcast, joined)
    assertDataFrameEqual(
        joined,
        [
            Row(
                id="two-clips",
                text="正文。\n\n【音频转写】\n第二段讲话\n\n【音频转写】\n这是第一段讲话。",
                transcript_text="第二段讲话\n这是第一段讲话。",
                media_sha256=[sha["b"], sha["a"], sha["c"]],
            ),
            Row(id="no-media", text="只有正文。", transcript_text=None, media_sha256=[]),
            Row(id="only-video", text="【音频转写】\n这是第一段讲话。", transcript_text="这是第一段讲话。", media_sha256=[sha["a"]]),
        ],
    )
    # Without any transcripts there is nothing to join: text unchanged, every asset still listed.
    assertDataFrameEqual(
        tf.clean_documents(tf.attach_transcripts(docs, None)).select(*columns),
        [
            Row(id="two-clips", text="正文。", transcript_text=None, media_sha256=[sha["b"], sha["a"], sha["c"]]),
            Row(id="no-media", text="只有正文。", transcript_text=None, media_sha256=[]),
            Row(id="only-video", text="", transcript_text=None, media_sha256=[sha["a"]]),
        ],
    )


def test_language_is_decided_by_the_script_of_the_letters(spark):
    docs = spark.createDataFrame(
        [
            ("zh", "上海地铁十八号线二期工程今天正式开工建设。"),
            ("zh-with-brands", "苹果发布新款iPhone和MacBook，华为推出Mate系列手机。"),
            ("en", "The city council approved a new budget on Tuesday."),
            ("ja", "東京都は新しい計画を発表しました。これはテストです。"),
            ("ko", "서울시는 새로운 계획을 발표했습니다"),
            ("numbers", "12345 67.8% 2026-11-10"),
            ("empty", ""),
        ],
        "id string, text string",
    )
    assertDataFrameEqual(
        tf.detect_language(docs).select("id", "language"),
        [
            Row(id="zh", language="zh"),
            Row(id="zh-with-brands", language="zh"),
            Row(id="en", language="en"),
            Row(id="ja", language="other"),
            Row(id="ko", language="other"),
            Row(id="numbers", language="other"),
            Row(id="empty", language="other"),
        ],
    )


def test_quality_issues_flag_short_and_non_text_documents_without_dropping_them(spark):
    docs = spark.createDataFrame(
        [
            ("fine", STORY_B),
            ("short", "简讯：今日无事。"),
            ("symbols", "1234567890 ### $$$ 12.5% 33.1% 45.0% *** --- 2026-11-10 11:30 +++ === 88888888"),
            ("video", "短。\n\n【音频转写】\n这里的饭菜很合口味，价格也实惠，我们每天都来吃。社区还准备了送餐上门服务，老人也能吃上热饭。"),
            ("empty", ""),
        ],
        "id string, text string",
    )
    assertDataFrameEqual(
        tf.flag_quality(docs, min_text_chars=40).select("id", "quality_issues"),
        [
            Row(id="fine", quality_issues=[]),
            Row(id="short", quality_issues=["too_short"]),
            Row(id="symbols", quality_issues=["mostly_non_text"]),
            Row(id="video", quality_issues=[]),  # the transcript counts
            Row(id="empty", quality_issues=["too_short"]),
        ],
    )


def test_content_hash_ignores_punctuation_whitespace_case_and_transcripts(spark):
    docs = spark.createDataFrame(
        [
            ("plain", "上海地铁 Line 18 开工，预计2029年通车。"),
            ("reformatted", "上海地铁line18开工\n预计2029年通车!"),
            ("with-transcript", "上海地铁 Line 18 开工，预计2029年通车。\n\n【音频转写】\n现场讲话"),
            ("other", "上海地铁 Line 19 开工，预计2029年通车。"),
            ("only-transcript", "【音频转写】\n现场讲话"),
        ],
        "id string, text string",
    )
    hashes = {row.id: row for row in tf.add_fingerprint(docs).select("id", "_fingerprint", "content_hash").collect()}
    assert hashes["plain"]._fingerprint == "上海地铁line18开工预计2029年通车"
    assert hashes["plain"].content_hash == hashes["reformatted"].content_hash == hashes["with-transcript"].content_hash
    assert hashes["other"].content_hash != hashes["plain"].content_hash
    assert hashes["only-transcript"]._fingerprint == "音频转写现场讲话"
    assert len(hashes["plain"].content_hash) == 64


def _fingerprinted(spark, rows: list[tuple[str, str, datetime | None]]):
    docs = spark.createDataFrame(rows, "id string, text string, published_at timestamp")
    return tf.add_story_node(tf.add_fingerprint(docs))


def _nodes(docs) -> dict[str, str]:
    return {row.id: row._node for row in docs.select("id", "_node").collect()}


def test_exact_copies_share_a_node_and_empty_fingerprints_stay_alone(spark):
    docs = _fingerprinted(
        spark,
        [("a", "同一篇文章。", None), ("b", "同一篇文章", None), ("x", "！！！", None), ("y", "？？？", None)],
    )
    nodes = _nodes(docs)
    assert nodes["a"] == nodes["b"] and len(nodes["a"]) == 64
    assert (nodes["x"], nodes["y"]) == ("id:x", "id:y")


def test_minhash_column_holds_the_numpy_signature_as_little_endian_uint32(spark):
    docs = _fingerprinted(spark, [("a", STORY_A, None), ("tiny", "四个字", None)])
    signed = {row.id: row.minhash for row in tf.add_minhash(docs).select("id", "minhash").collect()}
    fingerprint = tf.add_fingerprint(spark.createDataFrame([(STORY_A,)], "text string")).first()._fingerprint
    (expected,) = minhash.signatures([fingerprint])
    assert signed["tiny"] is None
    assert np.array_equal(minhash.from_signature_bytes(bytes(signed["a"])), expected)


def test_only_similar_documents_become_verified_pairs(spark):
    heavily_edited = STORY_A[: len(STORY_A) // 2] + STORY_B
    docs = _fingerprinted(
        spark,
        [
            ("a", STORY_A, None),
            ("a-edited", STORY_A_EDITED, None),
            ("a-half", heavily_edited, None),
            ("b", STORY_B, None),
            ("tiny", "四个字", None),
        ],
    )
    nodes = _nodes(docs)
    entries = tf.add_minhash(docs)
    assert entries.where("minhash IS NULL").select("id").collect() == [Row(id="tiny")]
    candidates = tf.candidate_pairs(entries, bands=BANDS, rows=ROWS)
    left, right = sorted((nodes["a"], nodes["a-edited"]))
    assert Row(left=left, right=right) in candidates.select("left", "right").collect()
    texts = {row._node: row._fingerprint for row in entries.select("_node", "_fingerprint").collect()}
    assert all((row._left, row._right) == (texts[row.left], texts[row.right]) for row in candidates.collect())
    verified = tf.verify_pairs(candidates, threshold=0.8)
    assertDataFrameEqual(verified.select("left", "right"), [Row(left=left, right=right)])
    assert verified.first().jaccard == pytest.approx(0.873, abs=0.01)


def test_candidates_need_an_active_side(spark):
    docs = tf.add_minhash(_fingerprinted(spark, [("a", STORY_A, None), ("a-edited", STORY_A_EDITED, None)]))
    both_judged_before = docs.withColumn("_active", F.lit(False))
    assert tf.candidate_pairs(both_judged_before, bands=BANDS, rows=ROWS).count() == 0
    one_new = docs.withColumn("_active", F.col("id") == "a-edited")
    assert tf.candidate_pairs(one_new, bands=BANDS, rows=ROWS).count() == 1


def test_stories_are_named_by_their_earliest_published_member(spark):
    text = "同一篇文章的正文内容"
    docs = _fingerprinted(
        spark,
        [
            ("a1", text, _at(10, 6)),  # exact copy of z9, published later
            ("z9", text, _at(10, 2)),  # earliest: canonical although its id is largest
            ("m5", "改写过的同一篇文章", _at(11)),  # near duplicate of z9's text (component given below)
            ("n0", text, None),  # undated exact copy: never canonical
            ("s1", "另一篇", _at(9)),
            ("t1", "第三篇", _at(9)),
            ("t0", "第三篇的转载", _at(9)),  # same time as t1: the smaller id wins
        ],
    )
    nodes = _nodes(docs)
    components = spark.createDataFrame(
        [(nodes["m5"], "c1"), (nodes["z9"], "c1"), (nodes["t0"], "c2"), (nodes["t1"], "c2")],
        "_node string, component string",
    )
    stories = tf.assign_stories(docs, components).select(
        "id", "story_id", "duplicate_of", "duplicate_kind", "_story_size"
    )
    assertDataFrameEqual(
        stories,
        [
            Row(id="z9", story_id="z9", duplicate_of=None, duplicate_kind=None, _story_size=4),
            Row(id="a1", story_id="z9", duplicate_of="z9", duplicate_kind="exact", _story_size=4),
            Row(id="n0", story_id="z9", duplicate_of="z9", duplicate_kind="exact", _story_size=4),
            Row(id="m5", story_id="z9", duplicate_of="z9", duplicate_kind="near", _story_size=4),
            Row(id="s1", story_id="s1", duplicate_of=None, duplicate_kind=None, _story_size=1),
            Row(id="t0", story_id="t0", duplicate_of=None, duplicate_kind=None, _story_size=2),
            Row(id="t1", story_id="t0", duplicate_of="t0", duplicate_kind="near", _story_size=2),
        ],
    )


def test_deduplicate_links_exact_and_near_copies(spark):
    docs = tf.add_fingerprint(
        spark.createDataFrame(
            [
                ("p", STORY_A, _at(10)),
                ("p-copy", STORY_A + "\n", _at(11)),
                ("p-edited", STORY_A_EDITED, _at(12)),
                ("q", STORY_B, _at(9)),
            ],
            "id string, text string, published_at timestamp",
        )
    )
    stories = tf.deduplicate(docs, 0.8).select("id", "story_id", "duplicate_kind")
    assertDataFrameEqual(
        stories,
        [
            Row(id="p", story_id="p", duplicate_kind=None),
            Row(id="p-copy", story_id="p", duplicate_kind="exact"),
            Row(id="p-edited", story_id="p", duplicate_kind="near"),
            Row(id="q", story_id="q", duplicate_kind=None),
        ],
    )


def test_partition_date_is_the_day_in_shanghai(spark):
    docs = spark.createDataFrame(
        [
            ("evening-utc", _at(10, 20, 30), _at(12)),
            ("before-midnight", datetime(2026, 11, 10, 15, 59, 59, tzinfo=UTC), _at(12)),
            ("undated", None, _at(12, 18)),
        ],
        "id string, published_at timestamp, crawled_at timestamp",
    )
    assertDataFrameEqual(
        tf.add_partition_date(docs).select("id", "date"),
        [
            Row(id="evening-utc", date=date(2026, 11, 11)),
            Row(id="before-midnight", date=date(2026, 11, 10)),
            Row(id="undated", date=date(2026, 11, 13)),
        ],
    )


def test_output_has_exactly_the_contract_columns_in_order(spark):
    schema = clean_document_schema()
    values = {
        "id": "a", "url": "u", "canonical_url": "u", "source": "s", "title": "t", "text": "x", "transcript_text": None,
        "media_sha256": [], "language": "zh", "published_at": None, "crawled_at": _at(1), "content_hash": "h",
        "story_id": "a", "duplicate_of": None, "duplicate_kind": None, "quality_issues": [],
    }  # fmt: skip
    columns = [f for f in schema.fields if f.name != "schema_version"]
    extra = T.StructField("_scratch", T.StringType())
    docs = spark.createDataFrame(
        [(*(values[f.name] for f in columns), "drop me", date(2026, 11, 1))],
        T.StructType([*(T.StructField(f.name, f.dataType, True) for f in columns), extra, T.StructField("date", T.DateType())]),
    )
    out = tf.to_clean_documents(docs)
    assert out.columns == [*schema.fieldNames(), "date"]
    assert out.first().schema_version == 1
