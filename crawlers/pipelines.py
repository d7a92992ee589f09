"""Item pipelines: media into the object store by content hash, then the document record."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections import defaultdict, deque
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.pipelines.files import FilesPipeline

from crawlers.items import ArticleItem
from yuqing.contracts import MediaAsset, RawDocument
from yuqing.ids import sha256_bytes
from yuqing.storage import ObjectStore

logger = logging.getLogger(__name__)

# Sent (with ``doc_ids``) once a batch of documents and their pages is in the object store.
documents_stored = object()

_KNOWN_MEDIA_EXT = {".mp3", ".m4a", ".aac", ".wav", ".ogg", ".opus", ".flac", ".mp4", ".webm", ".flv", ".mkv", ".mov", ".m3u8"}


def _media_extension(url: str, content_type: str | None) -> str:
    ext = PurePosixPath(urlparse(url).path).suffix.lower()
    if ext in _KNOWN_MEDIA_EXT:
        return ext
    guessed = mimetypes.guess_extension((content_type or "").split(";")[0].strip()) or ""
    return guessed if guessed in _KNOWN_MEDIA_EXT else ".bin"


class MediaPipeline(FilesPipeline):
    """Scrapy's FilesPipeline, storing bytes in our object store under raw/media/<sha256>.<ext>.

    Keyed by content, so the same clip embedded by two outlets is stored (and transcribed) once.
    """

    def __init__(self, store_uri: str, *, crawler: Crawler) -> None:
        super().__init__(store_uri, crawler=crawler)
        self.object_store: ObjectStore = crawler.settings["YQ_OBJECT_STORE"]
        self.max_bytes = crawler.settings.getint("YQ_MAX_MEDIA_BYTES")
        self._sizes: dict[str, int] = {}

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        return [Request(url, meta={"download_maxsize": self.max_bytes}) for url in item.get("file_urls", [])]

    def file_path(self, request: Request, response: Response | None = None, info: Any = None, *, item: Any = None) -> str:
        if response is None:
            # Before download the content hash is unknown; a key that never exists forces the fetch.
            return f"raw/media/_pending/{sha256_bytes(request.url.encode())}"
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        return f"raw/media/{sha256_bytes(response.body)}{_media_extension(request.url, content_type)}"

    async def file_downloaded(self, response: Response, request: Request, info: Any, *, item: Any = None) -> str:
        key = self.file_path(request, response=response, info=info, item=item)
        self._sizes[key] = len(response.body)
        if not await asyncio.to_thread(self.object_store.exists, key):
            content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
            await asyncio.to_thread(self.object_store.put_bytes, key, response.body, content_type)
        return sha256_bytes(response.body)

    def item_completed(self, results: list[tuple[bool, Any]], item: Any, info: Any) -> Any:
        document: RawDocument = item["document"]
        kinds: dict[str, str] = item.get("media_kinds", {})
        stats = info.spider.crawler.stats
        for ok, result in results:
            if not ok:
                stats.inc_value("media/failed")
                logger.warning("media download failed for %s: %s", document.url, result)
                continue
            key = result["path"]
            document.media.append(
                MediaAsset(
                    sha256=result["checksum"],
                    url=result["url"],
                    key=key,
                    kind=kinds.get(result["url"], "video" if key.endswith((".mp4", ".webm", ".flv", ".mkv", ".mov")) else "audio"),
                    content_type=mimetypes.guess_type(key)[0],
                    size_bytes=self._sizes.get(key, 0),
                )
            )
            stats.inc_value("media/stored")
        return item


class RawDocumentPipeline:
    """Stores the page as fetched (``raw/html/<doc id>.html``) and the RawDocument in this run's JSONL shards.

    Shards are ``raw/docs/date=<crawl date>/<run_id>-<source>-<n>.jsonl``. Pages and documents
    are written in batches of ``YQ_DOCS_FLUSH_EVERY`` documents (or ``YQ_DOCS_FLUSH_BYTES`` of
    pages) by a thread off the reactor: the pages first, then the shard whose lines name them, so
    a document line never points at a page that is not stored, and an interrupted crawl keeps
    every batch written before it. A batch is taken whole when it fills (later documents start the
    next one) and written while the crawl goes on; at most ``MAX_BATCHES_IN_FLIGHT`` at a time,
    beyond which items wait. The source is in the shard name because one run crawls several
    sources in parallel. Each written batch is announced with the ``documents_stored`` signal,
    which ObjectStoreDupeFilter waits for before it remembers an article's URL.
    """

    MAX_BATCHES_IN_FLIGHT = 4

    def __init__(
        self, crawler: Crawler, store: ObjectStore, run_id: str, source: str, flush_every: int, flush_bytes: int = 16 << 20
    ) -> None:
        self.crawler = crawler
        self.store = store
        self.run_id = run_id
        self.source = source
        self.flush_every = flush_every
        self.flush_bytes = flush_bytes
        self.pages: list[tuple[str, bytes]] = []
        self.doc_ids: list[str] = []
        self.pending: dict[str, list[str]] = defaultdict(list)
        self.pending_bytes = 0
        self.shard_number = 0
        self.stored = 0
        self.writing: deque[asyncio.Future[None]] = deque()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawDocumentPipeline:
        settings = crawler.settings
        return cls(
            crawler,
            settings["YQ_OBJECT_STORE"],
            settings["YQ_RUN_ID"],
            settings["YQ_SOURCE"],
            settings.getint("YQ_DOCS_FLUSH_EVERY", 200),
            settings.getint("YQ_DOCS_FLUSH_BYTES", 16 << 20),
        )

    async def process_item(self, item: ArticleItem, spider: Spider | None = None) -> ArticleItem:
        document: RawDocument = item["document"]
        document.html_key = f"raw/html/{document.id}.html"
        if len(self.writing) >= self.MAX_BATCHES_IN_FLIGHT:
            await asyncio.wait(self.writing, return_when=asyncio.FIRST_COMPLETED)  # the store is slower than the crawl
        self.pages.append((document.html_key, item["html"]))
        self.doc_ids.append(document.id)
        self.pending[document.crawled_at.date().isoformat()].append(document.model_dump_json())
        self.pending_bytes += len(item["html"])
        self.stored += 1
        if len(self.pages) >= self.flush_every or self.pending_bytes >= self.flush_bytes:
            self._start_batch()
        return item

    def _start_batch(self) -> None:
        doc_ids, pages, shards = self._take_batch()
        if not pages:
            return
        writing = asyncio.ensure_future(asyncio.to_thread(self._write, pages, shards))
        self.writing.append(writing)
        writing.add_done_callback(lambda done: self._batch_done(done, doc_ids))

    def _batch_done(self, writing: asyncio.Future[None], doc_ids: list[str]) -> None:
        self.writing.remove(writing)
        if writing.cancelled() or writing.exception() is not None:
            reason = "cancelled" if writing.cancelled() else writing.exception()
            logger.error("could not store a batch of documents of %s (fetched again next run): %s", self.source, reason)
            return
        self.crawler.signals.send_catch_log(signal=documents_stored, doc_ids=doc_ids)

    def _take_batch(self) -> tuple[list[str], list[tuple[str, bytes]], list[tuple[str, bytes]]]:
        """This batch's ids, pages and shards (numbered now, in order); later documents start a new batch."""
        shards = []
        for day, lines in self.pending.items():
            self.shard_number += 1
            key = f"raw/docs/date={day}/{self.run_id}-{self.source}-{self.shard_number:04d}.jsonl"
            shards.append((key, ("\n".join(lines) + "\n").encode("utf-8")))
        batch = (self.doc_ids, self.pages, shards)
        self.doc_ids, self.pages, self.pending, self.pending_bytes = [], [], defaultdict(list), 0
        return batch

    def _write(self, pages: list[tuple[str, bytes]], shards: list[tuple[str, bytes]]) -> None:
        for key, html in pages:
            self.store.put_bytes(key, html, "text/html")
        for key, data in shards:
            self.store.put_bytes(key, data, "application/x-ndjson")

    async def close_spider(self, spider: Spider | None = None) -> None:
        self._start_batch()
        # Failures were logged by _batch_done; the pipelines must close regardless.
        await asyncio.gather(*self.writing, return_exceptions=True)
