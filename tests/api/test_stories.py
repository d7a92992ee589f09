"""GET /stories: reprint clusters kept current as documents and analyses are written."""

from __future__ import annotations

import pytest

from tests.api.conftest import LiveServer, make_key
from tests.api.seed import WATCH, analysis, clean_doc, seed_small
from yuqing.db.repository import upsert_analysis, upsert_documents
from yuqing.settings import configure


@pytest.fixture
def setup(database_url, db_sessions, tmp_path):
    seed_small(db_sessions)
    settings = configure(data_dir=tmp_path / "y", database_url=database_url, watchlist=WATCH)
    return settings, db_sessions


def test_reprinted_story_has_first_publisher_outlets_span_and_sentiment(setup):
    settings, sessions = setup
    with LiveServer(settings, api_key=make_key(sessions, "read")) as api:
        page = api.get("/stories", params={"min_documents": 2}).json()
        assert page["total"] == 1
        (story,) = page["items"]
        assert story == {
            "id": "d1",
            "title": "星辰科技召回音箱",
            "first_source": "huaxia",
            "first_published_at": "2026-11-10T09:00:00Z",
            "last_published_at": "2026-11-11T09:00:00Z",
            "documents": 2,
            "reprints": 1,
            "outlets": ["dongfang", "huaxia"],
            "sentiment": "negative",
            "by_sentiment": {"positive": 0, "negative": 2, "neutral": 0},
        }
        assert api.get("/stories").json()["total"] == 4
        assert [s["id"] for s in api.get("/stories", params={"entity": "远航"}).json()["items"]] == ["d3"]
        assert [s["id"] for s in api.get("/stories", params={"sort": "recent", "page_size": 2}).json()["items"]] == [
            "d4",
            "d5",
        ]


def test_a_new_reprint_and_its_analysis_update_the_story(setup):
    settings, sessions = setup
    with sessions.begin() as s:
        upsert_documents(
            s,
            [
                clean_doc(
                    6, "星辰科技召回音箱", "星辰科技宣布召回两万台音箱。", 13, source="nanfeng", story="d1", dup="d1"
                )
            ],
        )
    with sessions.begin() as s:
        upsert_analysis(s, analysis("d6", "neutral", [("xingchen", "星辰科技", "neutral")]))
    with LiveServer(settings, api_key=make_key(sessions, "read")) as api:
        (story,) = api.get("/stories", params={"min_documents": 2}).json()["items"]
    assert story["documents"] == 3 and story["outlets"] == ["dongfang", "huaxia", "nanfeng"]
    assert story["last_published_at"] == "2026-11-13T09:00:00Z"
    assert story["by_sentiment"] == {"positive": 0, "negative": 2, "neutral": 1}
