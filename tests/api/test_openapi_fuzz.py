"""Property-based requests over the whole OpenAPI schema (schemathesis): no input makes the server fail (5xx).

Runs on SQLite and PostgreSQL with a seeded database and an admin key, so generated requests reach
the handlers instead of stopping at authentication.
"""

from __future__ import annotations

import os

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from api.main import create_app
from tests.api.conftest import make_key
from tests.api.seed import WATCH, seed_small
from yuqing.settings import configure

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def fuzz_key(db_sessions):
    seed_small(db_sessions)
    return make_key(db_sessions, "admin", "fuzzer")


EXAMPLES_PER_OPERATION = 40
# Real services behind every route, so a 503 would mean something is really down (never expected here).
BROKER_URL = os.environ.get("YQ_TEST_FUZZ_REDIS_URL", "redis://127.0.0.1:6379/12")
SOURCES = """sources:
  - name: huaxia
    start: [{url: "http://news.example/huaxia/", kind: list}]
    article_patterns: ['/huaxia/.+\\.html$']
"""


def test_no_request_makes_the_server_fail(database_url, fuzz_key, tmp_path):
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    app = create_app(
        configure(
            data_dir=tmp_path / "y",
            database_url=database_url,
            watchlist=WATCH,
            broker_url=BROKER_URL,
            crawl={"sources_file": sources},
            api={"rate_limit": "100000/minute"},
        )
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    server_errors: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        # Valid requests reach the handlers' logic; invalid ones (negative mode) probe validation.
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def call(case):  # type: ignore[no-untyped-def]
            response = case.call(headers={"X-API-Key": fuzz_key})
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r}: "
                    f"{response.status_code} {response.text[:200]}"
                )

        call()
    app.state.engine.dispose()
    broker.flushdb()
    assert operations >= 15
    assert not server_errors, "\n".join(server_errors[:10])
