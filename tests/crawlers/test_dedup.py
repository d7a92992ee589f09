"""URL dedup across crawls, on a real S3-compatible server (rclone serve s3) and a real site.

The crawls run as the CLI in a subprocess; what was fetched is read from the site's hit log,
what was stored from the bucket.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawlers.dupefilter import parse_shard, url_fingerprint
from tests.crawlers.site import TestSite, redirect
from yuqing.contracts import RawDocument
from yuqing.settings import Settings
from yuqing.storage import ObjectStore, open_store

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SOURCES = r"""sources:
  - name: news
    start:
      - {url: "${base}/list/1.html", kind: list}
      - {url: "${base}/feed.xml", kind: rss}
    article_patterns: ['/news/[\w-]+\.html']
"""


def cli(tmp: Path, base_url: str) -> list[str]:
    (tmp / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    return [sys.executable, "-m", "yuqing.cli", "crawl", "--data-dir", str(tmp / "data"), "--sources", str(tmp / "sources.yaml"),
            "--var", f"base={base_url}"]


def s3_env(settings: Settings, **extra: str) -> dict[str, str]:
    s3 = settings.s3
    assert settings.object_store_url and s3.endpoint_url and s3.access_key_id and s3.secret_access_key
    clean = {k: v for k, v in os.environ.items() if not k.startswith("YQ_")}
    return {
        **clean,
        "YQ_OBJECT_STORE_URL": settings.object_store_url,
        "YQ_S3__ENDPOINT_URL": s3.endpoint_url,
        "YQ_S3__ACCESS_KEY_ID": s3.access_key_id.get_secret_value(),
        "YQ_S3__SECRET_ACCESS_KEY": s3.secret_access_key.get_secret_value(),
        **{f"YQ_CRAWL__{k.upper()}": v for k, v in extra.items()},
    }


def run(tmp: Path, site: TestSite, settings: Settings, **extra: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cli(tmp, site.url), capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
                          env=s3_env(settings, **extra))
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def stored(store: ObjectStore, base_url: str) -> list[str]:
    """Paths of the stored documents' URLs, one per document line in the bucket (repeats kept)."""
    return [
        RawDocument.model_validate_json(line).url.removeprefix(base_url).split("?")[0]
        for key in store.list_keys("raw/docs/")
        for line in store.get_bytes(key).decode("utf-8").splitlines()
    ]


def seen_fingerprints(store: ObjectStore) -> set[bytes]:
    return set().union(*(parse_shard(store.get_bytes(k)) for k in store.list_keys("seen/news/")))


def test_second_run_fetches_only_new_articles_and_lists_again(s3_settings: Settings, tmp_path: Path) -> None:
    store = open_store(s3_settings)
    with TestSite(per_list_page=4) as site:
        first = [site.add_article(f"/news/first-{i}.html", f"第一批新闻{i}") for i in range(6)]
        site.pages["/news/old-address.html"] = redirect("/news/new-address.html")
        site.add_article("/news/new-address.html", "搬了家的文章")
        site.lists["list"] = [*first, "/news/old-address.html", "/news/gone.html"]  # gone: 404
        site.feeds["/feed.xml"] = first[:3]  # the same articles, linked as ?from=rss

        run(tmp_path, site, s3_settings)
        fetched = site.fetched("/news/")
        assert sorted(fetched) == sorted([*first, "/news/old-address.html", "/news/new-address.html", "/news/gone.html"])  # each once
        assert sorted(stored(store, site.url)) == sorted([*first, "/news/new-address.html"])

        second = [site.add_article(f"/news/second-{i}.html", f"第二批新闻{i}") for i in range(3)]
        site.lists["list"] = [*second, *site.lists["list"]]
        site.feeds["/feed.xml"] = [*second, *first[:3]]
        site.clear_hits()
        done = run(tmp_path, site, s3_settings, seen_compact_after="2")

        # Only the new articles, and the page that failed last time; list pages and the feed again.
        assert sorted(site.fetched("/news/")) == sorted([*second, "/news/gone.html"])
        assert sorted(set(site.fetched("/list/"))) == ["/list/1.html", "/list/2.html", "/list/3.html"]
        assert site.fetched("/feed.xml") == ["/feed.xml"]
        [row] = [line for line in done.stdout.splitlines() if "│ news " in line]
        # source, articles, failed (gone.html), seen before (6 + the old address), media
        assert [cell.strip() for cell in row.split("│")[1:-1]] == ["news", "3", "1", "7", "0"]

    docs = stored(store, site.url)
    assert sorted(docs) == sorted([*first, "/news/new-address.html", *second])  # nothing stored twice
    # The second run merged the two runs' shards into one (YQ_CRAWL__SEEN_COMPACT_AFTER=2).
    [compacted] = list(store.list_keys("seen/news/"))
    assert compacted.endswith("-compact.txt")
    expected = [*first, *second, "/news/new-address.html", "/news/old-address.html"]
    assert seen_fingerprints(store) == {url_fingerprint(site.url + p) for p in expected}


FLUSH = 4
CONCURRENCY = 2


def test_killed_crawl_restarts_without_losing_or_refetching_more_than_a_flush_interval(s3_settings: Settings, tmp_path: Path) -> None:
    store = open_store(s3_settings)
    settings = {"flush_every": str(FLUSH), "concurrent_requests_per_domain": str(CONCURRENCY)}
    with TestSite(per_list_page=10) as site:
        articles = [site.add_article(f"/news/k{i:02d}.html", f"新闻{i}") for i in range(40)]
        site.lists["list"] = articles
        site.feeds["/feed.xml"] = []
        site.article_delay_s = 0.15  # a slow site: 40 articles take about 3 s

        log = tmp_path / "first-run.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(cli(tmp_path, site.url), cwd=REPO, env=s3_env(s3_settings, **settings), stdout=out, stderr=out)
            try:
                deadline = time.monotonic() + 60
                while len(seen_fingerprints(store)) < 2 * FLUSH:  # killed just after a flush
                    assert proc.poll() is None, f"the crawl ended before it could be killed:\n{log.read_text()[-2000:]}"
                    assert time.monotonic() < deadline, log.read_text()[-2000:]
                    time.sleep(0.05)
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.kill()
                proc.wait()
        first_fetched = set(site.fetched("/news/"))
        first_stored = set(stored(store, site.url))
        remembered = {p for p in articles if url_fingerprint(site.url + p) in seen_fingerprints(store)}
        assert len(remembered) >= 2 * FLUSH and len(first_fetched) < len(articles) - FLUSH  # killed mid-run

        site.clear_hits()
        site.article_delay_s = 0.0
        run(tmp_path, site, s3_settings, **settings)
        second_fetched = site.fetched("/news/")

    # Only articles whose documents are in the bucket are remembered, and none of them is fetched again.
    assert remembered <= first_stored
    assert not remembered & set(second_fetched)
    # Fetched twice: at most the articles stored since the last flush, plus the requests in flight at the kill.
    twice = first_fetched & set(second_fetched)
    assert len(twice) <= FLUSH + CONCURRENCY, sorted(twice)
    assert len(first_stored & set(second_fetched)) <= FLUSH, "stored articles fetched again beyond one flush interval"
    # Nothing is lost: every article is in the bucket, and the second run fetched each missing one once.
    assert set(stored(store, site.url)) == set(articles)
    assert sorted(second_fetched) == sorted(set(articles) - remembered)
