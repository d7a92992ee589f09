"""One generic spider driven by a Source from sources.yaml."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from crawlers.extract import extract_article
from crawlers.items import ArticleItem
from crawlers.sources import Source
from yuqing.contracts import RawDocument
from yuqing.errors import ExtractionError
from yuqing.ids import canonical_url, doc_id


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(self, source: Source, **kwargs: Any) -> None:
        super().__init__(name=source.name, **kwargs)
        self.source = source
        self.allowed_domains = source.allowed_domains or None  # type: ignore[assignment]
        self.article_patterns = [re.compile(p) for p in source.article_patterns]
        self.failures: list[dict[str, str]] = []

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._write_failures, signal=scrapy.signals.spider_closed)
        return spider

    async def start(self) -> Any:
        for start in self.source.start:
            callback = {"list": self.parse_list, "rss": self.parse_feed, "sitemap": self.parse_sitemap}[start.kind]
            yield scrapy.Request(start.url, callback=callback, dont_filter=True, cb_kwargs={"page": 1})

    def _is_article(self, url: str) -> bool:
        # Patterns are written for the article's address; tracking queries must not hide it.
        bare = url.split("#", 1)[0].split("?", 1)[0]
        return any(p.search(url) or p.search(bare) for p in self.article_patterns)

    def _article_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_article)

    def parse_list(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if self._is_article(url):
                yield self._article_request(url)
        next_href = response.css(self.source.next_page).get()
        if next_href and page < self.source.max_list_pages:
            yield scrapy.Request(response.urljoin(next_href), callback=self.parse_list, dont_filter=True, cb_kwargs={"page": page + 1})

    def parse_feed(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        response.selector.remove_namespaces()
        links = response.xpath("//item/link/text() | //entry/link/@href").getall()
        for link in links:
            url = response.urljoin(link.strip())
            if self._is_article(url):
                yield self._article_request(url)

    def parse_sitemap(self, response: Response, page: int) -> Iterator[scrapy.Request]:
        response.selector.remove_namespaces()
        for loc in response.xpath("//url/loc/text()").getall():
            if self._is_article(loc.strip()):
                yield self._article_request(loc.strip())

    def parse_article(self, response: Response) -> Iterator[ArticleItem]:
        if not isinstance(response, TextResponse):
            self._fail(response.url, f"not an HTML page ({response.headers.get('Content-Type', b'?').decode()})")
            return
        try:
            extracted = extract_article(response.text, response.url, self.source.selectors)
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

    def _fail(self, url: str, reason: str) -> None:
        self.crawler.stats.inc_value("articles/failed")
        self.logger.warning("skipped %s: %s", url, reason)
        self.failures.append({"url": url, "reason": reason})

    def _write_failures(self, spider: scrapy.Spider, reason: str) -> None:
        if not self.failures:
            return
        store = self.crawler.settings["YQ_OBJECT_STORE"]
        run_id = self.crawler.settings["YQ_RUN_ID"]
        lines = "\n".join(json.dumps(f, ensure_ascii=False) for f in self.failures) + "\n"
        store.put_bytes(f"raw/failures/{run_id}-{self.source.name}.jsonl", lines.encode("utf-8"), "application/x-ndjson")
