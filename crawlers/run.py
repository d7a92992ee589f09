"""Run one crawl over a list of sources in this process (Scrapy's reactor starts once per process)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from scrapy import signals
from scrapy.crawler import CrawlerProcess

from crawlers.settings import scrapy_settings
from crawlers.sources import Source
from crawlers.spiders.news import NewsSpider
from yuqing.errors import CrawlError
from yuqing.settings import Settings
from yuqing.storage import ObjectStore


class SourceCrawlReport(BaseModel):
    source: str
    articles: int = 0
    failed: int = 0
    skipped_seen: int = 0
    media: int = 0
    pages: int = 0


class CrawlReport(BaseModel):
    run_id: str
    started_at: datetime
    seconds: float
    sources: list[SourceCrawlReport] = Field(default_factory=list)

    @property
    def articles(self) -> int:
        return sum(s.articles for s in self.sources)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def run_crawl(
    settings: Settings,
    sources: list[Source],
    store: ObjectStore,
    *,
    run_id: str | None = None,
    on_article: Callable[[str], None] | None = None,
) -> CrawlReport:
    run_id = run_id or new_run_id()
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    process = CrawlerProcess(
        {
            "LOG_LEVEL": "WARNING",
            "LOG_INSTALL_ROOT_HANDLER": False,
            "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        }
    )
    # CrawlerProcess resets the "scrapy" logger to DEBUG; keep crawls quiet unless asked.
    logging.getLogger("scrapy").setLevel(max(logging.WARNING, logging.getLogger().level))
    crawlers = []
    broken: dict[str, str] = {}
    for source in sources:
        crawler = process.create_crawler(NewsSpider)
        crawler.settings.frozen = False
        crawler.settings.setdict(scrapy_settings(settings, source, store, run_id), priority="spider")
        if on_article is not None:
            crawler.signals.connect(lambda item, response, spider: on_article(spider.name), signal=signals.item_scraped, weak=False)
        crawling = process.crawl(crawler, source=source)
        # A source whose crawler cannot start (bad component, unreachable store) must not pass as "0 articles".
        crawling.addErrback(lambda failure, name=source.name: broken.setdefault(name, failure.getErrorMessage()))
        crawlers.append((source, crawler))
    process.start()
    if broken:
        raise CrawlError("; ".join(f"source {name!r} could not crawl: {why}" for name, why in broken.items()))
    reports = []
    for source, crawler in crawlers:
        stats = crawler.stats.get_stats()
        reports.append(
            SourceCrawlReport(
                source=source.name,
                articles=stats.get("item_scraped_count", 0),
                failed=stats.get("articles/failed", 0),
                skipped_seen=stats.get("dedup/skipped", 0),
                media=stats.get("media/stored", 0),
                pages=stats.get("response_received_count", 0),
            )
        )
    return CrawlReport(run_id=run_id, started_at=started, seconds=time.perf_counter() - t0, sources=reports)
