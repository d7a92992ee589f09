from datetime import UTC, datetime

import pytest

from yuqing.contracts import Analysis, CleanDocument, Evidence, TargetSentiment, Transcript, TranscriptSegment
from yuqing.db import make_engine, migrate, session_factory
from yuqing.db.repository import upsert_analysis, upsert_documents, upsert_transcripts
from yuqing.settings import configure

WATCH = [{"id": "xingchen", "name": "星辰科技", "aliases": ["星辰"]}, {"id": "yuanhang", "name": "远航汽车", "aliases": ["远航"]}]
SHA = "a" * 64


def _doc(i, title, text, day, source="huaxia", story=None, dup=None, media=()):
    return CleanDocument(
        id=f"d{i}", url=f"http://x.cn/{i}.html", canonical_url=f"http://x.cn/{i}.html", source=source, title=title, text=text,
        published_at=datetime(2026, 11, day, 9, tzinfo=UTC), crawled_at=datetime(2026, 11, 20, tzinfo=UTC),
        content_hash=str(i) * 64, story_id=story or f"d{i}", duplicate_of=dup, duplicate_kind="exact" if dup else None,
        media_sha256=list(media), transcript_text="新华社记者调查" if media else None,
    )


def _analysis(doc_id, sentiment, targets):
    return Analysis(
        doc_id=doc_id, analyzer="offline", analyzer_version="v1", sentiment=sentiment, score=0.0 if sentiment == "neutral" else (0.6 if sentiment == "positive" else -0.6),
        targets=[TargetSentiment(entity_id=e, name=n, sentiment=s, score=0.0) for e, n, s in targets],
        evidence=[Evidence(quote=doc_id, start=0, end=len(doc_id))] if sentiment != "neutral" else [], created_at=datetime.now(UTC),
    )


@pytest.fixture
def api_settings(tmp_path):
    settings = configure(data_dir=tmp_path / "y", watchlist=WATCH)
    engine = make_engine(settings.db_url)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        upsert_documents(s, [
            _doc(1, "星辰科技召回音箱", "星辰科技宣布召回两万台音箱。", 10),
            _doc(2, "星辰科技召回音箱（转载）", "星辰科技宣布召回两万台音箱。", 11, source="dongfang", story="d1", dup="d1"),
            _doc(3, "远航汽车销量创新高", "远航汽车销量增长。", 11),
            _doc(4, "星辰科技董事会", "星辰科技召开董事会。【音频转写】新华社记者调查", 12, media=[SHA]),
        ])
        upsert_analysis(s, _analysis("d1", "negative", [("xingchen", "星辰科技", "negative")]))
        upsert_analysis(s, _analysis("d2", "negative", [("xingchen", "星辰科技", "negative")]))
        upsert_analysis(s, _analysis("d3", "positive", [("yuanhang", "远航汽车", "positive")]))
        upsert_analysis(s, _analysis("d4", "neutral", [("xingchen", "星辰科技", "neutral")]))
        upsert_transcripts(s, [Transcript(media_sha256=SHA, media_key=f"raw/media/{SHA}.mp3", backend="faster-whisper", model="base",
                                          language="zh", segments=[TranscriptSegment(start=0.0, end=3.5, text="新华社记者调查")])])
    return settings


def test_health_and_ready(api_settings, live_api):
    with live_api(api_settings) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/ready").json()["database"] == "ok"


def test_filters_by_entity_sentiment_and_dates(api_settings, live_api):
    with live_api(api_settings) as client:
        page = client.get("/documents", params={"entity": "星辰", "sentiment": "negative"}).json()
        assert {d["id"] for d in page["items"]} == {"d1", "d2"} and page["total"] == 2
        page = client.get("/documents", params={"sentiment": "positive"}).json()
        assert [d["id"] for d in page["items"]] == ["d3"]
        page = client.get("/documents", params={"since": "2026-11-11", "until": "2026-11-11"}).json()
        assert {d["id"] for d in page["items"]} == {"d2", "d3"}
        page = client.get("/documents", params={"include_duplicates": "false", "entity": "xingchen"}).json()
        assert {d["id"] for d in page["items"]} == {"d1", "d4"}


def test_pagination(api_settings, live_api):
    with live_api(api_settings) as client:
        first = client.get("/documents", params={"page_size": 3}).json()
        second = client.get("/documents", params={"page_size": 3, "page": 2}).json()
        assert first["total"] == second["total"] == 4
        assert len(first["items"]) == 3 and len(second["items"]) == 1
        assert {d["id"] for d in first["items"] + second["items"]} == {"d1", "d2", "d3", "d4"}
        assert client.get("/documents", params={"page_size": 1000}).status_code == 422


def test_search_finds_transcript_text(api_settings, live_api):
    with live_api(api_settings) as client:
        page = client.get("/documents", params={"q": "新华社"}).json()
        assert [d["id"] for d in page["items"]] == ["d4"]
        assert page["items"][0]["has_transcript"] is True


def test_document_detail_has_transcript_analysis_and_story(api_settings, live_api):
    with live_api(api_settings) as client:
        detail = client.get("/documents/d4").json()
        assert detail["transcripts"][0]["segments"][0] == {**detail["transcripts"][0]["segments"][0], "start": 0.0, "end": 3.5}
        assert detail["analysis"]["sentiment"] == "neutral"
        story = client.get("/documents/d2").json()["story"]
        assert [m["id"] for m in story] == ["d1", "d2"]


def test_errors_use_one_envelope(api_settings, live_api):
    with live_api(api_settings) as client:
        missing = client.get("/documents/nope")
        assert missing.status_code == 404
        assert missing.json()["error"]["type"] == "not_found"
        bad = client.get("/documents", params={"sentiment": "angry"})
        assert bad.status_code == 422 and "sentiment" in bad.json()["error"]["message"]
        unknown = client.get("/reports/entities/不存在")
        assert unknown.status_code == 404 and "watchlist" in unknown.json()["error"]["message"]


def test_entity_report_counts_and_daily_trend(api_settings, live_api):
    with live_api(api_settings) as client:
        report = client.get("/reports/entities/星辰科技").json()
        assert report["mentions"] == 3 and report["stories"] == 2
        assert report["by_sentiment"] == {"positive": 0, "negative": 2, "neutral": 1}
        assert report["daily"] == [
            {"date": "2026-11-10", "positive": 0, "negative": 1, "neutral": 0},
            {"date": "2026-11-11", "positive": 0, "negative": 1, "neutral": 0},
            {"date": "2026-11-12", "positive": 0, "negative": 0, "neutral": 1},
        ]
        assert {d["id"] for d in report["latest_negative"]} == {"d1", "d2"}
        assert report["top_sources"] == {"huaxia": 2, "dongfang": 1}
