"""A real Celery worker on a real Redis analyses documents queued by `yuqing analyze --enqueue`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy import select

from yuqing.contracts import CleanDocument
from yuqing.db import make_engine, migrate, session_factory
from yuqing.db.models import AnalysisRow
from yuqing.db.repository import upsert_documents

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REDIS_URL = os.environ.get("YQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


def _doc(i: int, text: str) -> CleanDocument:
    return CleanDocument(
        id=f"d{i}", url=f"http://x/{i}", canonical_url=f"http://x/{i}", source="s", title="", text=text,
        crawled_at=datetime.now(UTC), content_hash=str(i) * 64, story_id=f"d{i}",
    )


def test_worker_analyses_queued_documents(tmp_path):
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is needed at {REDIS_URL}: {exc}")
    env = {**os.environ, "YQ_DATA_DIR": str(tmp_path / "data"), "YQ_BROKER_URL": REDIS_URL,
           "YQ_WATCHLIST": '[{"id": "xingchen", "name": "星辰科技"}]'}
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'yuqing.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        upsert_documents(s, [_doc(1, "星辰科技宣布召回两万台音箱，消费者投诉不断。"), _doc(2, "星辰科技利润创新高，获得市场好评。")])

    worker = subprocess.Popen([sys.executable, "-m", "yuqing.cli", "worker", "--concurrency", "1"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        queued = subprocess.run([sys.executable, "-m", "yuqing.cli", "analyze", "--enqueue"], env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert queued.returncode == 0, queued.stdout + queued.stderr
        assert "queued 2 documents" in queued.stdout
        deadline = time.monotonic() + 60
        rows: list[AnalysisRow] = []
        while time.monotonic() < deadline and len(rows) < 2:
            time.sleep(0.3)
            with sessions() as s:
                rows = list(s.scalars(select(AnalysisRow).order_by(AnalysisRow.doc_id)))
        assert [(r.doc_id, r.sentiment) for r in rows] == [("d1", "negative"), ("d2", "positive")]
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0]
    assert '"level"' in output  # the worker logs JSON
