"""POST /feedback: corrections stored with the label they replace, who and when."""

from __future__ import annotations

import pytest

from tests.api.conftest import LiveServer, make_key
from tests.api.seed import WATCH, seed_small
from yuqing.settings import configure


@pytest.fixture
def setup(database_url, db_sessions, tmp_path):
    seed_small(db_sessions)
    settings = configure(data_dir=tmp_path / "y", database_url=database_url, watchlist=WATCH)
    return settings, make_key(db_sessions, "write", "王分析师"), make_key(db_sessions, "read", "viewer")


def test_corrections_are_stored_with_who_when_and_the_old_label(setup):
    settings, writer, reader = setup
    with LiveServer(settings, api_key=writer) as api:
        sentiment = api.post(
            "/feedback", json={"doc_id": "d1", "field": "sentiment", "new_value": "neutral", "comment": "只是召回通知"}
        )
        assert sentiment.status_code == 201
        body = sentiment.json()
        assert (body["old_value"], body["new_value"], body["created_by"]) == ("negative", "neutral", "王分析师")
        missing = {"doc_id": "d5", "field": "entity_missing", "entity": "星辰", "new_value": "negative"}
        entity = api.post("/feedback", json=missing).json()
        assert (entity["entity_id"], entity["old_value"]) == ("xingchen", "not_mentioned")
        wrong = {"doc_id": "d3", "field": "entity_wrong", "entity": "xingchen", "new_value": "not_mentioned"}
        assert api.post("/feedback", json=wrong).json()["old_value"] == "neutral"
        risk = api.post("/feedback", json={"doc_id": "d1", "field": "risk", "new_value": "medium"}).json()
        assert risk["old_value"] == "high"
        detail = api.get("/documents/d1").json()
        assert [f["field"] for f in detail["feedback"]] == ["risk", "sentiment"]
        assert detail["analysis"]["sentiment"] == "negative"  # the analysis is kept as the analyzer wrote it
        assert api.get("/feedback", params={"doc_id": "d5"}).json()["total"] == 1
        assert (
            api.post(
                "/feedback",
                json={"doc_id": "d1", "field": "risk", "new_value": "low"},
                headers={"Authorization": f"Bearer {reader}"},
            ).status_code
            == 403
        )


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"doc_id": "nope", "field": "sentiment", "new_value": "neutral"}, 404, "no document 'nope'"),
        (
            {"doc_id": "d1", "field": "sentiment", "new_value": "angry"},
            422,
            "sentiment takes one of positive, negative, neutral",
        ),
        ({"doc_id": "d1", "field": "entity_sentiment", "new_value": "negative"}, 422, "body.entity: needed"),
        (
            {"doc_id": "d1", "field": "entity_missing", "entity": "nobody", "new_value": "negative"},
            404,
            "not on the watchlist",
        ),
        (
            {"doc_id": "d1", "field": "entity_wrong", "entity": "xingchen", "new_value": "negative"},
            422,
            "not_mentioned",
        ),
        ({"doc_id": "d1", "field": "mood", "new_value": "x"}, 422, "body.field"),
        ({"doc_id": "d1", "field": "risk", "new_value": "low", "url": "http://x"}, 422, "body.url"),
    ],
)
def test_bad_feedback_is_refused_with_a_reason(setup, body, status, says):
    settings, writer, _ = setup
    with LiveServer(settings, api_key=writer) as api:
        response = api.post("/feedback", json=body)
        assert response.status_code == status and says in response.json()["error"]["message"]
        assert api.get("/feedback").json()["total"] == 0
