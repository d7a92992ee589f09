"""Item pipelines: media into the object store by content hash, then the document record."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections import defaultdict
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
    """Stores the page as fetched and appends the RawDocument to this run's JSONL shards.

    Shards are ``raw/docs/date=<crawl date>/<run_id>-<source>-<n>.jsonl``, written every
    ``YQ_DOCS_FLUSH_EVERY`` documents, so an interrupted crawl keeps what it stored. The
    source is in the name because one run crawls several sources in parallel.
    """

    def __init__(self, store: ObjectStore, run_id: str, source: str, flush_every: int) -> None:
        self.store = store
        self.run_id = run_id
        self.source = source
        self.flush_every = flush_every
        self.pending: dict[str, list[str]] = defaultdict(list)
        self.shard_number = 0
        self.stored = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawDocumentPipeline:
        settings = crawler.settings
        return cls(
            settings["YQ_OBJECT_STORE"],
            settings["YQ_RUN_ID"],
            settings["YQ_SOURCE"],
            settings.getint("YQ_DOCS_FLUSH_EVERY", 200),
        )

    async def process_item(self, item: ArticleItem, spider: Spider | None = None) -> ArticleItem:
        document: RawDocument = item["document"]
        html_key = f"raw/html/{document.id}.html"
        await asyncio.to_thread(self.store.put_bytes, html_key, item["html"], "text/html")
        document.html_key = html_key
        day = document.crawled_at.date().isoformat()
        self.pending[day].append(document.model_dump_json())
        self.stored += 1
        if self.stored % self.flush_every == 0:
            await asyncio.to_thread(self._flush)
        return item

    def _flush(self) -> None:
        for day, lines in self.pending.items():
            if lines:
                self.shard_number += 1
                key = f"raw/docs/date={day}/{self.run_id}-{self.source}-{self.shard_number:04d}.jsonl"
                self.store.put_bytes(key, ("\n".join(lines) + "\n").encode("utf-8"), "application/x-ndjson")
        self.pending.clear()

    def close_spider(self, spider: Spider | None = None) -> None:
        self._flush()

