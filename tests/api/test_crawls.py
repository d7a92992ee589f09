"""`POST /crawls` queues a configured source on a real Redis broker; `GET /crawls` lists run history."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
import redis

from tests.api.conftest import LiveServer, make_key
from yuqing.db import make_engine, migrate, session_factory
from yuqing.db.models import CrawlRun
from yuqing.settings import configure

pytestmark = pytest.mark.integration
REDIS_URL = os.environ.get("YQ_TEST_CRAWLS_REDIS_URL", "redis://127.0.0.1:6379/10")
SOURCES = """sources:
  - name: huaxia
    start: [{url: "${base_url}/huaxia/", kind: list}]
    article_patterns: ['/huaxia/.+\\.html$']
"""


@pytest.fixture
def broker():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is needed at {REDIS_URL}: {exc}")
    return client


def _settings(tmp_path, broker_url=REDIS_URL):
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    settings = configure(
        data_dir=tmp_path / "y",
        broker_url=broker_url,
        crawl={"sources_file": sources, "variables": {"base_url": "http://news.example"}},
    )
    engine = make_engine(settings.db_url)
    migrate(engine)
    return settings, session_factory(engine)


def test_a_configured_source_is_queued_for_a_crawl_worker(tmp_path, broker):
    settings, sessions = _settings(tmp_path)
    with LiveServer(settings, api_key=make_key(sessions, "write")) as api:
        response = api.post("/crawls", json={"source": "huaxia"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["source"] == "huaxia" and body["queue"] == "crawl"
    (message,) = [json.loads(m) for m in broker.lrange("crawl", 0, -1)]
    assert message["headers"]["task"] == "crawlers.crawl_source"
    assert message["headers"]["id"] == body["task_id"]
    assert "huaxia" in message["headers"]["argsrepr"]


def test_unknown_sources_and_raw_urls_are_refused(tmp_path, broker):
    settings, sessions = _settings(tmp_path)
    with LiveServer(settings, api_key=make_key(sessions, "write")) as api:
        unknown = api.post("/crawls", json={"source": "weibo"})
        raw_url = api.post("/crawls", json={"source": "huaxia", "url": "http://evil.example/"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "no source 'weibo'; configured: huaxia"
    assert raw_url.status_code == 422 and raw_url.json()["error"]["type"] == "invalid_request"
    assert broker.llen("crawl") == 0


def test_an_unreachable_broker_is_a_clear_503(tmp_path):
    settings, sessions = _settings(tmp_path, broker_url="redis://127.0.0.1:1/0")
    with LiveServer(settings, api_key=make_key(sessions, "write")) as api:
        response = api.post("/crawls", json={"source": "huaxia"})
    assert response.status_code == 503
    assert "redis://127.0.0.1:1/0 is unreachable" in response.json()["error"]["message"]


def test_crawl_history_is_newest_first_and_filters_by_source(tmp_path):
    settings, sessions = _settings(tmp_path)
    start = datetime(2026, 11, 26, 8, tzinfo=UTC)
    with sessions.begin() as session:
        for i, source in enumerate(["huaxia", "dongfang", "huaxia"]):
            session.add(
                CrawlRun(
                    id=f"run{i}-{source}",
                    source=source,
                    started_at=start + timedelta(hours=i),
                    finished_at=start + timedelta(hours=i, minutes=3),
                    stats={"articles": i, "failed": 0},
                )
            )
    with LiveServer(settings, api_key=make_key(sessions, "read")) as api:
        everything = api.get("/crawls").json()
        huaxia = api.get("/crawls", params={"source": "huaxia", "page_size": 1}).json()
    assert [r["id"] for r in everything["items"]] == ["run2-huaxia", "run1-dongfang", "run0-huaxia"]
    assert huaxia["total"] == 2 and [r["id"] for r in huaxia["items"]] == ["run2-huaxia"]
    assert huaxia["items"][0]["stats"] == {"articles": 2, "failed": 0}


def test_starting_a_crawl_needs_the_write_scope(tmp_path, broker):
    settings, sessions = _settings(tmp_path)
    with LiveServer(settings, api_key=make_key(sessions, "read")) as api:
        assert api.get("/crawls").status_code == 200
        response = api.post("/crawls", json={"source": "huaxia"})
    assert response.status_code == 403 and response.json()["error"]["type"] == "forbidden"
    assert broker.llen("crawl") == 0
