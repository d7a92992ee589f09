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
# Scrapy starts this many asyncio tasks for every response's output; an article yields one item,
# and the default 100 cost ~1 ms CPU a page (a third of Scrapy's own work per page).
CONCURRENT_ITEMS = 16
# Processes that extract articles (crawlers.extract.ExtractionPool), beside the reactor's; 0 = inline.
YQ_EXTRACT_PROCESSES = 1
DOWNLOAD_DELAY = 0.0
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
# 429 is a ban (crawlers.middlewares.BanDetectionMiddleware): retried on another proxy/User-Agent instead.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "WARNING"
DUPEFILTER_CLASS = "crawlers.dupefilter.ObjectStoreDupeFilter"
REQUEST_FINGERPRINTER_CLASS = "crawlers.dupefilter.CanonicalUrlFingerprinter"
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
    "crawlers.middlewares.RandomUserAgentMiddleware": 400,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
    "crawlers.middlewares.RedirectLoopMiddleware": 555,
    # Sees responses after redirects and decompression, before the retry middleware; picks
    # meta["proxy"] (YQ_PROXIES) before Scrapy's HttpProxyMiddleware (750) reads it.
    "crawlers.middlewares.BanDetectionMiddleware": 560,
    # After the UA, retry, redirect and stats middlewares, just before the downloader; off unless render: true.
    "crawlers.rendering.ChromiumRenderMiddleware": 950,
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
        ROBOTSTXT_OBEY=crawl.obey_robots_txt if source.obey_robots_txt is None else source.obey_robots_txt,
        DOWNLOAD_TIMEOUT=crawl.download_timeout_s,
        DOWNLOAD_MAXSIZE=crawl.max_page_bytes,  # media requests carry their own limit (YQ_MAX_MEDIA_BYTES)
        DOWNLOAD_WARNSIZE=crawl.max_page_bytes // 2,
        RETRY_TIMES=crawl.retry_times,
        DEPTH_LIMIT=crawl.depth_limit,
        CLOSESPIDER_PAGECOUNT=crawl.max_pages if source.max_pages is None else source.max_pages,
        JOBDIR=str(crawl.jobdir / source.name) if crawl.jobdir else None,
        YQ_BACKOFF_BASE_S=crawl.backoff_base_s,
        YQ_BACKOFF_MAX_S=crawl.backoff_max_s,
        YQ_PROXIES=crawl.proxies,
        YQ_BAN_HTTP_CODES=crawl.ban_http_codes,
        YQ_BAN_MARKERS=crawl.ban_markers,
        YQ_BAN_MAX_RETRIES=crawl.ban_max_retries,
        YQ_DOCS_FLUSH_EVERY=crawl.flush_every,
        YQ_SEEN_COMPACT_AFTER=crawl.seen_compact_after,
        CONCURRENT_REQUESTS_PER_DOMAIN=min(source.concurrency, crawl.concurrent_requests_per_domain),
        # One crawler per source, so cap the crawler too: with the asyncio reactor Scrapy 2.19 starts every
        # request queued on a slot at once (slot.transferring is filled by tasks that have not run yet), so
        # the per-domain cap alone lets a list page's 20 links hit the site together.
        CONCURRENT_REQUESTS=min(source.concurrency, crawl.concurrent_requests_per_domain),
        DOWNLOAD_DELAY=max(source.delay_s, crawl.download_delay_s),
        AUTOTHROTTLE_ENABLED=source.delay_s > 0 or crawl.download_delay_s > 0,
        # MediaPipeline writes media to our object store itself; Scrapy's FilesPipeline only asks its own
        # store whether a never-existing "_pending" key exists. It knows file:// but not s3a://, so an S3
        # object store gets an (empty) local folder here.
        FILES_STORE=store.uri() if store.uri().startswith("file:") else str(settings.data_dir.resolve() / "media-pending"),
        YQ_OBJECT_STORE=store,
        YQ_SOURCE=source.name,
        YQ_RUN_ID=run_id,
        YQ_USER_AGENTS=crawl.user_agents,
        YQ_MAX_MEDIA_BYTES=crawl.max_media_bytes,
        YQ_RENDER=source.render,
        YQ_RENDER_WAIT_FOR=source.wait_for,
        YQ_RENDER_POOL_SIZE=crawl.render_pool_size,
        YQ_RENDER_WAIT_S=crawl.render_wait_s,
        YQ_RENDER_PAGE_LOAD_TIMEOUT_S=crawl.render_page_load_timeout_s,
        YQ_CHROMIUM_PATH=str(crawl.chromium_path),
        YQ_CHROMEDRIVER_PATH=str(crawl.chromedriver_path),
    )
    return values
