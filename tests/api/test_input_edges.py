"""Inputs that used to reach the database as errors: NUL characters, days at the ends of the calendar, huge ids."""

from __future__ import annotations

import pytest

from tests.api.conftest import LiveServer, make_key
from tests.api.seed import WATCH, seed_small
from yuqing.settings import configure


@pytest.fixture
def client(database_url, db_sessions, tmp_path):
    seed_small(db_sessions)
    settings = configure(data_dir=tmp_path / "y", database_url=database_url, watchlist=WATCH)
    with LiveServer(settings, api_key=make_key(db_sessions, "admin")) as http:
        yield http


@pytest.mark.parametrize(
    "url", ["/documents?q=a%00b", "/documents?source=%00", "/entities/%00", "/documents/d1%00", "/stories?entity=x%00"]
)
def test_nul_characters_in_urls_are_a_clear_422(client, url):
    response = client.get(url)
    assert response.status_code == 422 and "NUL" in response.json()["error"]["message"]


def test_nul_characters_in_bodies_are_a_clear_422(client):
    response = client.post(
        "/feedback", json={"doc_id": "d1", "field": "risk", "new_value": "low", "comment": "x\u0000y"}
    )
    assert response.status_code == 422 and response.json()["error"]["message"].startswith("body.comment")
    assert client.get("/feedback").json()["total"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "/documents?since=0001-01-01",
        "/documents?until=9999-12-31",
        "/entities?until=0001-01-01",
        "/entities/xingchen?since=0001-01-01",
        "/reports/daily?date=9999-12-31",
        "/stories?until=9999-12-31",
        "/alerts?since=0001-01-01",
        "/reports/entities/xingchen?until=9999-12-31",
    ],
)
def test_days_outside_1900_2999_are_refused(client, url):
    response = client.get(url)
    assert response.status_code == 422 and response.json()["error"]["type"] == "invalid_request"


def test_huge_ids_and_pages(client):
    assert client.get("/alert-rules/2147483648").status_code == 422
    assert client.get("/alert-rules/2147483647").status_code == 404
    assert client.get("/documents", params={"page": 100000}).json()["items"] == []
