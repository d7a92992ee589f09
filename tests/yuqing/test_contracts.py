from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from yuqing.contracts import SCHEMA_VERSION, Analysis, RawDocument, Transcript, TranscriptSegment
from yuqing.ids import canonical_url, doc_id


def test_doc_id_is_stable_across_tracking_params_fragments_and_case():
    a = doc_id("http://News.Example.com/a/2026/1112/x.html?from=rss#comments")
    b = doc_id("http://news.example.com/a/2026/1112/x.html")
    assert a == b
    assert len(a) == 20
    assert doc_id("http://news.example.com/a/2026/1112/y.html") != a


def test_canonical_url_keeps_meaningful_query():
    assert "id=7" in canonical_url("http://x.cn/article?id=7&utm_source=wechat")
    assert "utm_source" not in canonical_url("http://x.cn/article?id=7&utm_source=wechat")


def test_raw_document_round_trips_through_json():
    doc = RawDocument(
        id="abc", url="http://x.cn/1", canonical_url="http://x.cn/1", source="s", title="标题", text="正文",
        crawled_at=datetime(2026, 11, 12, tzinfo=UTC),
    )
    again = RawDocument.model_validate_json(doc.model_dump_json())
    assert again == doc
    assert again.schema_version == SCHEMA_VERSION


def test_contracts_reject_unknown_fields():
    with pytest.raises(ValidationError):
        RawDocument.model_validate({"id": "a", "url": "u", "canonical_url": "u", "source": "s", "title": "t",
                                    "text": "x", "crawled_at": "2026-11-12T00:00:00Z", "surprise": 1})


def test_analysis_score_is_bounded():
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Analysis(doc_id="d", analyzer="a", analyzer_version="v", sentiment="positive", score=1.5,
                 created_at=datetime.now(UTC))


def test_transcript_text_excludes_unreliable_segments():
    transcript = Transcript(
        media_sha256="0" * 64, media_key="raw/media/x.mp3", backend="faster-whisper", model="base",
        segments=[
            TranscriptSegment(start=0, end=2, text="新华社报道。"),
            TranscriptSegment(start=2, end=4, text="星辰科技星辰科技星辰科技", reliable=False, flags=["repetition"]),
        ],
    )
    assert transcript.text == "新华社报道。"
    assert "星辰科技" not in transcript.model_dump()["text"]
