"""Scrapy settings: polite defaults, and the mapping from Yuqing's settings onto Scrapy's names."""

from __future__ import annotations

from typing import Any

from crawlers.sources import Source
from yuqing.settings import Settings
from yuqing.storage import ObjectStore

BOT_NAME = "yuqing"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0.0
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "WARNING"
DUPEFILTER_CLASS = "crawlers.dupefilter.ObjectStoreDupeFilter"
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
    "crawlers.middlewares.RandomUserAgentMiddleware": 400,
}
ITEM_PIPELINES = {
    "crawlers.pipelines.MediaPipeline": 100,
    "crawlers.pipelines.RawDocumentPipeline": 300,
}
MEDIA_ALLOW_REDIRECTS = True
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024


def scrapy_settings(settings: Settings, source: Source, store: ObjectStore, run_id: str) -> dict[str, Any]:
    """Settings for one source's crawler, on top of this module's defaults."""
    values = {k: v for k, v in globals().items() if k.isupper()}
    crawl = settings.crawl
    values.update(
        ROBOTSTXT_OBEY=crawl.obey_robots_txt,
        CONCURRENT_REQUESTS_PER_DOMAIN=min(source.concurrency, crawl.concurrent_requests_per_domain),
        DOWNLOAD_DELAY=max(source.delay_s, crawl.download_delay_s),
        AUTOTHROTTLE_ENABLED=source.delay_s > 0 or crawl.download_delay_s > 0,
        FILES_STORE=store.uri(),
        YQ_OBJECT_STORE=store,
        YQ_SOURCE=source.name,
        YQ_RUN_ID=run_id,
        YQ_USER_AGENTS=crawl.user_agents,
        YQ_MAX_MEDIA_BYTES=crawl.max_media_bytes,
    )
    return values
