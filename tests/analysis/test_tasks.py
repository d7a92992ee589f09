"""A real Celery worker on a real Redis analyses documents queued by `yuqing analyze --enqueue`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy import func, select

from yuqing.contracts import CleanDocument
from yuqing.db import make_engine, migrate, session_factory
from tests.analysis.scripted_llm import GOOD, ScriptedLLM, scripted_llm
from yuqing.db.models import AnalysisRow, StageFailure
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


def _start_worker(env: dict[str, str], log) -> subprocess.Popen:
    # Its own session, so the main process and its pool children can be killed together.
    return subprocess.Popen([sys.executable, "-m", "yuqing.cli", "worker", "--concurrency", "2"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _counts(sessions) -> tuple[int, int]:
    with sessions() as s:
        rows = s.scalar(select(func.count()).select_from(AnalysisRow))
        distinct = s.scalar(select(func.count(func.distinct(AnalysisRow.doc_id))))
    return rows, distinct


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(tmp_path):
    """200 documents through the LLM path; kill -9 the worker mid-run; a new worker finishes the job."""
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is needed at {REDIS_URL}: {exc}")
    with scripted_llm() as llm_url:
        ScriptedLLM.respond = staticmethod(lambda body: ("sleep", 0.05, GOOD))
        env = {**os.environ, "YQ_DATA_DIR": str(tmp_path / "data"), "YQ_BROKER_URL": REDIS_URL, "YQ_ANALYZER": "llm",
               "YQ_LLM__BASE_URL": llm_url, "YQ_LLM__MODEL": "scripted", "YQ_LLM__MAX_CONCURRENCY": "4",
               "YQ_LLM__BATCH_SIZE": "10", "YQ_BROKER_VISIBILITY_TIMEOUT_S": "5",
               "YQ_WATCHLIST": '[{"id": "xingchen", "name": "星辰科技", "aliases": ["星辰"]}]'}
        engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'yuqing.db'}")
        migrate(engine)
        sessions = session_factory(engine)
        with sessions.begin() as s:
            upsert_documents(s, [_doc(i, f"第{i}号：因电池存在过热隐患，星辰科技宣布召回两万台智能音箱。公司已致歉。") for i in range(200)])

        queued = subprocess.run([sys.executable, "-m", "yuqing.cli", "analyze", "--enqueue", "--no-wait"], env=env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert queued.returncode == 0 and "queued 200 documents" in queued.stdout, queued.stdout + queued.stderr
        log_path = tmp_path / "worker.log"
        with log_path.open("w") as log:
            first = _start_worker(env, log)
            deadline = time.monotonic() + 90
            while _counts(sessions)[1] < 30 and time.monotonic() < deadline:
                time.sleep(0.05)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=20)
            killed_at = _counts(sessions)[1]
            assert 30 <= killed_at < 200, f"the kill came too late to test anything ({killed_at} done); see {log_path}"

            second = _start_worker(env, log)  # re-delivery of the killed worker's tasks waits out the visibility timeout
            try:
                deadline = time.monotonic() + 120
                while _counts(sessions)[1] < 200 and time.monotonic() < deadline:
                    time.sleep(0.3)
            finally:
                os.killpg(second.pid, signal.SIGTERM)
                second.wait(timeout=30)
    rows, distinct = _counts(sessions)
    assert (rows, distinct) == (200, 200), log_path.read_text()[-3000:]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(StageFailure)) == 0
        assert {a.sentiment for a in s.scalars(select(AnalysisRow))} == {"negative"}
