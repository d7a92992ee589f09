"""GET /documents (Chinese full-text search, filters, pagination) and GET /documents/{id}, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.api.conftest import LiveServer, make_key
from tests.api.seed import TEXT_1, WATCH, seed_small
from yuqing.settings import configure


@pytest.fixture
def client(database_url, db_sessions, tmp_path):
    seed_small(db_sessions)
    settings = configure(data_dir=tmp_path / "y", database_url=database_url, watchlist=WATCH)
    with LiveServer(settings, api_key=make_key(db_sessions, "read")) as http:
        yield http


def ids(page):
    return [d["id"] for d in page["items"]]


def test_health_is_public(client):
    client.headers.pop("Authorization")
    assert client.get("/health").json() == {"status": "ok"}


def test_filters_by_entity_sentiment_and_dates(client):
    page = client.get("/documents", params={"entity": "星辰", "sentiment": "negative"}).json()
    assert set(ids(page)) == {"d1", "d2"} and page["total"] == 2
    assert ids(client.get("/documents", params={"sentiment": "positive"}).json()) == ["d3"]
    assert set(ids(client.get("/documents", params={"since": "2026-11-11", "until": "2026-11-11"}).json())) == {
        "d2",
        "d3",
    }
    assert set(ids(client.get("/documents", params={"include_duplicates": "false", "entity": "xingchen"}).json())) == {
        "d1",
        "d3",
        "d4",
    }


def test_filters_by_source_language_media_and_risk(client):
    assert ids(client.get("/documents", params={"source": "dongfang"}).json()) == ["d2"]
    assert ids(client.get("/documents", params={"language": "en"}).json()) == ["d5"]
    assert ids(client.get("/documents", params={"media": "true"}).json()) == ["d4"]
    assert "d4" not in ids(client.get("/documents", params={"media": "false"}).json())
    assert ids(client.get("/documents", params={"risk": "high"}).json()) == ["d1"]


def test_summaries_carry_labels_and_entities(client):
    (d3,) = client.get("/documents", params={"sentiment": "positive"}).json()["items"]
    assert d3["entities"] == ["xingchen", "yuanhang"] and d3["risk"] == "low" and d3["sentiment"] == "positive"


def test_pagination_and_its_limit(client):
    first = client.get("/documents", params={"page_size": 3}).json()
    second = client.get("/documents", params={"page_size": 3, "page": 2}).json()
    assert first["total"] == second["total"] == 5
    assert len(first["items"]) == 3 and len(second["items"]) == 2
    assert set(ids(first) + ids(second)) == {"d1", "d2", "d3", "d4", "d5"}
    too_many = client.get("/documents", params={"page_size": 500})
    assert too_many.status_code == 422 and "at most 200" in too_many.json()["error"]["message"]
    assert client.get("/documents", params={"page_size": 0}).status_code == 422


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("召回音箱", {"d1", "d2"}),  # 4 characters: the trigram index
        ("过热起火", {"d1", "d2"}),  # in the body only
        ("新华社", {"d4"}),  # transcript text appended to the body
        ("星辰科技 董事会", {"d4"}),  # every term must match
        ("召回", {"d1", "d2"}),  # 2 characters: substring scan
        ("销", {"d3"}),  # 1 character
        ("ＨＡＲＢＯＲ bank", {"d5"}),  # full-width and case folded like the stored text
        ("不存在的词", set()),
    ],
)
def test_chinese_full_text_search(client, query, expected):
    page = client.get("/documents", params={"q": query}).json()
    assert set(ids(page)) == expected and page["total"] == len(expected)


def test_search_shows_the_hit_in_the_snippet_and_sorts_by_relevance(client):
    items = client.get("/documents", params={"q": "过热起火"}).json()["items"]
    assert all("过热起火" in item["snippet"] for item in items)
    # 星辰科技 is in d3's text only, but in the other titles: relevance puts title hits first.
    ranked = ids(client.get("/documents", params={"q": "星辰科技", "sort": "relevance"}).json())
    assert ranked[-1] == "d3" and set(ranked) == {"d1", "d2", "d3", "d4"}


def test_search_is_safe_with_like_and_fts_syntax(client):
    for query in ["%", "_", '"', 'a"b', "NEAR(星辰 科技)", "星辰 OR 远航", "*", "\\"]:
        response = client.get("/documents", params={"q": query})
        assert response.status_code == 200, (query, response.text)
    assert client.get("/documents", params={"q": "%"}).json()["total"] == 0


def test_document_detail_has_transcript_highlights_and_story(client):
    detail = client.get("/documents/d4").json()
    segment = detail["transcripts"][0]["segments"][0]
    assert (segment["start"], segment["end"], segment["text"]) == (0.0, 3.5, "新华社记者调查")
    assert detail["analysis"]["sentiment"] == "neutral"
    d1 = client.get("/documents/d1").json()
    quote = "消费者投诉音箱过热起火"
    start = TEXT_1.index(quote)
    assert {
        "start": start,
        "end": start + len(quote),
        "quote": quote,
        "sentiment": "negative",
        "entity_id": None,
    } in d1["highlights"]
    assert all(d1["text"][h["start"] : h["end"]] == h["quote"] for h in d1["highlights"])
    assert [m["id"] for m in client.get("/documents/d2").json()["story"]] == ["d1", "d2"]


def test_errors_use_one_envelope(client):
    missing = client.get("/documents/nope")
    assert missing.status_code == 404 and missing.json() == {
        "error": {"type": "not_found", "message": "no document 'nope'", "code": 404}
    }
    bad = client.get("/documents", params={"sentiment": "angry"})
    assert bad.status_code == 422 and "sentiment" in bad.json()["error"]["message"]
    unknown = client.get("/documents", params={"entity": "不存在"})
    assert unknown.status_code == 404 and "watchlist" in unknown.json()["error"]["message"]
    assert client.get("/nowhere").json()["error"]["type"] == "not_found"
