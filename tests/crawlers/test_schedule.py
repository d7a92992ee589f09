"""Scheduled crawls: cron strings from sources.yaml drive Celery beat, and a real worker runs the crawl."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from crawlers.schedule import beat_schedule, next_runs, parse_cron
from crawlers.sources import load_sources
from yuqing.db import make_engine, migrate, session_factory
from yuqing.db.models import CrawlRun
from yuqing.demo_site import DemoSite, load_articles
from yuqing.errors import ConfigError

REDIS_URL = os.environ.get("YQ_TEST_SCHEDULE_REDIS_URL", "redis://127.0.0.1:6379/8")
HUAXIA_ONLY = """sources:
  - name: huaxia
    start: [{{url: "${{base_url}}/huaxia/", kind: list}}]
    article_patterns: ['/huaxia/\\d{{4}}/\\d{{4}}/[\\w-]+\\.html$']
    schedule: "{schedule}"
"""


def _huaxia_articles() -> int:
    return sum(1 for a in load_articles() if a.outlet == "huaxia" and not a.js_body)


def _sources_file(tmp_path: Path, schedule: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(HUAXIA_ONLY.format(schedule=schedule), encoding="utf-8")
    return path


def test_cron_fields_are_read_in_cron_order():
    cron = parse_cron("15 9 1 12 1-5")
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        {15}, {9}, {1}, {12}, {1, 2, 3, 4, 5},
    )


@pytest.mark.parametrize("bad", ["*/30 * * *", "61 * * * *", "0 25 * * *", "every hour"])
def test_a_bad_schedule_is_refused_when_the_file_loads_naming_the_source(tmp_path, bad):
    with pytest.raises(ConfigError) as error:
        load_sources(_sources_file(tmp_path, bad), {"base_url": "http://x"})
    assert "source 'huaxia', field schedule" in str(error.value)


def test_next_runs_are_in_newsroom_time(tmp_path):
    weekday_mornings = load_sources(_sources_file(tmp_path, "0 9 * * 1-5"), {"base_url": "http://x"})
    # Friday 2026-11-27 09:10 in Shanghai: the next weekday 09:00 is Monday.
    (run,) = next_runs(weekday_mornings, datetime(2026, 11, 27, 1, 10, tzinfo=UTC))
    assert run.at.isoformat() == "2026-11-30T09:00:00+08:00"


def test_each_source_becomes_a_beat_entry_on_the_crawl_queue(tmp_path):
    sources = load_sources(_sources_file(tmp_path, "*/10 * * * *"), {"base_url": "http://x"})
    (name, entry), = beat_schedule(sources).items()
    assert name == "crawl:huaxia"
    assert entry["task"] == "crawlers.crawl_source" and entry["args"] == ("huaxia",)
    assert entry["options"] == {"queue": "crawl"}
    assert entry["schedule"].minute == {0, 10, 20, 30, 40, 50}


@pytest.fixture
def broker():
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is needed at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def site():
    with DemoSite(host="127.0.0.1", port=0) as demo:
        yield demo


def _environment(tmp_path: Path, site: DemoSite, broker: str, schedule: str) -> dict[str, str]:
    return {
        **os.environ,
        "YQ_DATA_DIR": str(tmp_path / "data"),
        "YQ_BROKER_URL": broker,
        "YQ_CRAWL__SOURCES_FILE": str(_sources_file(tmp_path, schedule)),
        "YQ_CRAWL__VARIABLES": f'{{"base_url": "{site.url}"}}',
    }


def _wait_for_crawl_runs(tmp_path: Path, timeout_s: float) -> list[CrawlRun]:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'yuqing.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sessions() as session:
            runs = list(session.scalars(select(CrawlRun)))
        if runs:
            return runs
        time.sleep(0.5)
    return []


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "yuqing.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(*processes: subprocess.Popen[str]) -> str:
    output = ""
    for process in processes:
        process.terminate()
        try:
            output += process.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output += process.communicate()[0]
    return output


@pytest.mark.integration
@pytest.mark.slow
def test_a_queued_crawl_runs_on_a_worker_and_is_recorded(tmp_path, site, broker):
    env = _environment(tmp_path, site, broker, "0 3 * * *")
    worker = _start(["worker", "--queues", "crawl", "--concurrency", "1"], env)
    try:
        queued = subprocess.run([sys.executable, "-m", "yuqing.cli", "crawl", "--enqueue", "--source", "huaxia"],
                                env=env, capture_output=True, text=True, timeout=60, check=False)
        assert queued.returncode == 0, queued.stdout + queued.stderr
        assert "queued 1 crawls" in queued.stdout
        runs = _wait_for_crawl_runs(tmp_path, 90)
    finally:
        output = _stop(worker)
    assert len(runs) == 1, output[-3000:]
    run = runs[0]
    assert run.source == "huaxia" and run.finished_at is not None
    assert run.stats["articles"] == _huaxia_articles() and run.stats["failed"] == 0
    stored = list((tmp_path / "data" / "store" / "raw" / "docs").rglob("*-huaxia-*.jsonl"))
    assert sum(len(p.read_text(encoding="utf-8").splitlines()) for p in stored) == _huaxia_articles()


@pytest.mark.integration
@pytest.mark.slow
def test_beat_fires_a_source_on_its_schedule(tmp_path, site, broker):
    env = _environment(tmp_path, site, broker, "* * * * *")  # every minute: the test waits for the next one
    worker = _start(["worker", "--queues", "crawl", "--concurrency", "1"], env)
    beat = _start(["schedule"], env)
    try:
        runs = _wait_for_crawl_runs(tmp_path, 100)
    finally:
        output = _stop(beat, worker)
    assert [r.source for r in runs] == ["huaxia"], output[-3000:]
    assert runs[0].stats["articles"] == _huaxia_articles()
