"""One generic spider driven by a Source from sources.yaml."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import Response, TextResponse, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from twisted.internet.defer import CancelledError
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from crawlers.extract import extraction_pool
from crawlers.items import ArticleItem
from crawlers.sources import Source
from yuqing.contracts import RawDocument
from yuqing.errors import ExtractionError
from yuqing.ids import canonical_url, doc_id

_MAX_SITEMAP_NESTING = 3  # robots.txt -> sitemap index -> sitemap


class NewsSpider(scrapy.Spider):
    """Lists (followed page by page), RSS/Atom feeds and sitemaps lead to articles.

    Every request has an errback, so a page that cannot be fetched (HTTP error after retries,
    timeout, too large, redirect loop, ban) is recorded in ``raw/failures/<run_id>-<source>.jsonl``.
    """

    name = "news"

    def __init__(self, source: Source, **kwargs: Any) -> None:
        super().__init__(name=source.name, **kwargs)
        self.source = source
        self.allowed_domains = source.allowed_domains or None  # type: ignore[assignment]
        self.article_patterns = [re.compile(p) for p in source.article_patterns]
        self.failures: list[dict[str, str]] = []
        self._list_urls: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._write_failures, signal=scrapy.signals.spider_closed)
        crawler.signals.connect(spider._request_dropped, signal=scrapy.signals.request_dropped)
        return spider

    async def start(self) -> Any:
        for start in self.source.start:
            callback = {"list": self.parse_list, "rss": self.parse_feed, "sitemap": self.parse_sitemap}[start.kind]
            if start.kind == "list":
                self._list_urls.add(start.url)
            # List pages, feeds and sitemaps change, so they skip the dedup filter (dont_filter).
            yield scrapy.Request(
                start.url, callback=callback, errback=self._on_error, dont_filter=True, cb_kwargs={"page": 1},
                meta={"yq_kind": start.kind},
            )

    def _is_article(self, url: str) -> bool:
        # Patterns are written for the article's address; tracking queries must not hide it.
        bare = url.split("#", 1)[0].split("?", 1)[0]
        return any(p.search(url) or p.search(bare) for p in self.article_patterns)

    def _article_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_article, errback=self._on_error, meta={"yq_kind": "article"})

    def parse_list(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if self._is_article(url):
                yield self._article_request(url)
        next_href = response.css(self.source.next_page).get()
        if not next_href:
            return
        next_url = response.urljoin(next_href.strip())
        if page >= self.source.max_list_pages:
            self.crawler.stats.inc_value("lists/max_list_pages_reached")
        elif next_url in self._list_urls or next_url == response.url:
            self.crawler.stats.inc_value("lists/pagination_loop")  # "next" points back: the last page
        else:
            self._list_urls.add(next_url)
            yield scrapy.Request(
                next_url, callback=self.parse_list, errback=self._on_error, dont_filter=True,
                cb_kwargs={"page": page + 1}, meta={"yq_kind": "list"},
            )

    def parse_feed(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        if not isinstance(response, TextResponse):
            self._fail(response.url, "feed is not text", kind="rss")
            return
        # A feed served as text/html would be parsed as HTML, where <link> is an empty element.
        is_xml = isinstance(response, XmlResponse)
        selector = response.selector if is_xml else scrapy.Selector(text=response.text, type="xml")
        selector.remove_namespaces()
        links = selector.xpath("//item/link/text() | //entry/link[not(@rel) or @rel='alternate']/@href").getall()
        for link in links:
            url = response.urljoin(link.strip())
            if self._is_article(url):
                yield self._article_request(url)

    def parse_sitemap(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        """A sitemap, a sitemap index (newest max_list_pages sitemaps followed), or robots.txt's Sitemap: lines."""
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                if request := self._sitemap_request(url, page):
                    yield request
            return
        body = self._sitemap_body(response)
        sitemap = Sitemap(body) if body else None
        if sitemap is None or sitemap.type not in ("urlset", "sitemapindex"):
            self._fail(response.url, "not a sitemap (no <urlset> or <sitemapindex>)", kind="sitemap")
            return
        if sitemap.type == "sitemapindex":
            entries = sorted(sitemap, key=lambda e: e.get("lastmod", ""), reverse=True)
            for entry in entries[: self.source.max_list_pages]:
                if request := self._sitemap_request(response.urljoin(entry["loc"]), page):
                    yield request
            return
        for entry in sitemap:
            loc = response.urljoin(entry["loc"])
            if self._is_article(loc):
                yield self._article_request(loc)

    def _sitemap_request(self, url: str, page: int) -> scrapy.Request | None:
        if page >= _MAX_SITEMAP_NESTING:
            self._fail(url, f"sitemaps nested deeper than {_MAX_SITEMAP_NESTING} levels", kind="sitemap")
            return None
        return scrapy.Request(
            url, callback=self.parse_sitemap, errback=self._on_error, dont_filter=True, cb_kwargs={"page": page + 1},
            meta={"yq_kind": "sitemap"},
        )

    def _sitemap_body(self, response: Response) -> bytes | None:
        if isinstance(response, XmlResponse):
            return response.body
        if response.body[:2] == b"\x1f\x8b":  # a .xml.gz file (not Content-Encoding, which Scrapy undoes)
            try:
                return gunzip(response.body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
            except (OSError, ValueError):
                return None
        head = response.body[:2048]
        return response.body if b"<urlset" in head or b"<sitemapindex" in head else None

    async def parse_article(self, response: Response) -> AsyncIterator[ArticleItem]:
        if not isinstance(response, TextResponse):
            self._fail(response.url, f"not an HTML page ({response.headers.get('Content-Type', b'?').decode()})")
            return
        try:
            # In a worker process: extraction is most of the CPU time, and the reactor's thread has the rest.
            extracted = await extraction_pool(self.crawler).extract(response.text, response.url, self.source.selectors)
        except ExtractionError as exc:
            self._fail(response.url, str(exc))
            return
        canonical = canonical_url(extracted.canonical_url or response.url)
        document = RawDocument(
            id=doc_id(canonical),
            url=response.url,
            canonical_url=canonical,
            source=self.source.name,
            title=extracted.title,
            text=extracted.text,
            published_at=extracted.published_at,
            crawled_at=datetime.now(UTC),
            language=extracted.language,
            author=extracted.author,
        )
        self.crawler.stats.inc_value("articles/extracted")
        yield ArticleItem(
            document=document,
            html=response.body,
            file_urls=[url for url, _ in extracted.media_urls],
            media_kinds=dict(extracted.media_urls),
        )

    def _fail(self, url: str, reason: str, kind: str = "article") -> None:
        self.crawler.stats.inc_value("articles/failed")
        self.crawler.stats.inc_value(f"failures/{kind}")
        self.logger.warning("skipped %s: %s", url, reason)
        self.failures.append({"url": url, "reason": reason, "kind": kind})

    def _on_error(self, failure: Failure) -> None:
        """Record why a request failed for good (retries and ban retries are over by now)."""
        request: scrapy.Request = failure.request  # type: ignore[attr-defined]
        exc = failure.value
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        kind = request.meta.get("yq_kind", "article")
        tries = request.meta.get("retry_times", 0) + 1
        after = f" after {tries} tries" if tries > 1 else ""
        if isinstance(exc, HttpError):
            reason = f"HTTP {exc.response.status}{after}"
        elif isinstance(exc, IgnoreRequest):
            message = str(exc)
            if "robots.txt" in message or "offsite" in message:
                return  # a rule, not a failure (Scrapy counts these in its stats)
            if message == "max redirections reached":
                chain = [*request.meta.get("redirect_urls", ()), request.url]
                message = f"too many redirects (a loop?): {' -> '.join(chain[:6])}{' ...' if len(chain) > 6 else ''}"
            reason = message
        elif isinstance(exc, (DownloadTimeoutError, TwistedTimeoutError)):
            timeout = request.meta.get("download_timeout", self.crawler.settings.getfloat("DOWNLOAD_TIMEOUT"))
            reason = f"timed out ({timeout:g}s){after}"
        elif isinstance(exc, (DownloadCancelledError, CancelledError)):
            limit = request.meta.get("download_maxsize", self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
            reason = f"larger than the {limit} byte page limit (YQ_CRAWL__MAX_PAGE_BYTES); not downloaded"
        else:
            reason = f"{type(exc).__name__}: {exc}{after}"
        self._fail(url, reason, kind=kind)

    def _request_dropped(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        # The dedup filter drops a redirect back to an address this crawl already requested.
        chain = request.meta.get("redirect_urls")
        if chain and canonical_url(request.url) in {canonical_url(u) for u in chain}:
            kind = request.meta.get("yq_kind", "article")
            self._fail(chain[0], f"redirect loop: {' -> '.join([*chain, request.url])}", kind=kind)

    def _write_failures(self, spider: scrapy.Spider, reason: str) -> None:
        if not self.failures:
            return
        store = self.crawler.settings["YQ_OBJECT_STORE"]
        run_id = self.crawler.settings["YQ_RUN_ID"]
        lines = "\n".join(json.dumps(f, ensure_ascii=False) for f in self.failures) + "\n"
        store.put_bytes(f"raw/failures/{run_id}-{self.source.name}.jsonl", lines.encode("utf-8"), "application/x-ndjson")
