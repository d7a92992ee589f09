"""Celery task of the crawl stage: one scheduled (or queued) crawl of one source.

The crawl runs in a child process: Twisted's reactor cannot be restarted, and a worker
runs many crawls in its life.
"""

from __future__ import annotations

import subprocess
import sys

from yuqing.celery_app import app
from yuqing.errors import ConfigError, RetryableError
from yuqing.settings import get_settings

CRAWL_TIMEOUT_S = 6 * 3600


@app.task(
    name="crawlers.crawl_source",
    autoretry_for=(RetryableError,),
    retry_backoff=60,
    retry_jitter=True,
    max_retries=2,
    queue="crawl",
)
def crawl_source(source: str) -> str:
    settings = get_settings()
    if settings.crawl.sources_file is None:
        raise ConfigError("no sources file: set YQ_CRAWL__SOURCES_FILE for the worker")
    # The child reads the same YQ_* environment (store, database, sources file and its variables).
    command = [sys.executable, "-m", "yuqing.cli", "crawl", "--source", source]
    result = subprocess.run(command, capture_output=True, text=True, timeout=CRAWL_TIMEOUT_S, check=False)
    if result.returncode == 2:
        raise ConfigError(f"crawl of {source!r} refused its configuration: {result.stdout[-2000:]}")
    if result.returncode != 0:
        raise RetryableError(f"crawl of {source!r} exited with {result.returncode}: {(result.stdout + result.stderr)[-2000:]}")
    return source
