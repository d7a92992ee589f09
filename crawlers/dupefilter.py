"""URL dedup whose seen set lives in the object store, so the next crawl only fetches new articles.

Layout: ``seen/<source>/<run_id>.txt``, one hex fingerprint per line. Each run adds one
shard (rewritten atomically every ``YQ_DEDUP_FLUSH_EVERY`` new fingerprints and on close),
so a crash loses at most one interval and nothing is ever rewritten in bulk.
Only articles that were stored (``item_scraped``) are remembered across runs, so a page that
failed to download or extract is tried again next time; list pages and feeds change, so they
are always fetched again.
"""

from __future__ import annotations

import logging

from scrapy import Request, signals
from scrapy.http import Response
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter

from yuqing.storage import ObjectStore

logger = logging.getLogger(__name__)


class ObjectStoreDupeFilter(BaseDupeFilter):
    def __init__(self, crawler: Crawler, store: ObjectStore, source: str, run_id: str, flush_every: int) -> None:
        self.crawler = crawler
        self.fingerprinter = crawler.request_fingerprinter
        self.store = store
        self.prefix = f"seen/{source}/"
        self.shard_key = f"{self.prefix}{run_id}.txt"
        self.flush_every = flush_every
        self.seen_before: set[str] = set()
        self.seen_now: set[str] = set()
        self.new_persistent: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ObjectStoreDupeFilter:
        settings = crawler.settings
        dupefilter = cls(
            crawler,
            store=settings["YQ_OBJECT_STORE"],
            source=settings["YQ_SOURCE"],
            run_id=settings["YQ_RUN_ID"],
            flush_every=settings.getint("YQ_DEDUP_FLUSH_EVERY", 500),
        )
        crawler.signals.connect(dupefilter.item_stored, signal=signals.item_scraped)
        return dupefilter

    def open(self) -> None:
        for key in self.store.list_keys(self.prefix):
            self.seen_before.update(line for line in self.store.get_bytes(key).decode().splitlines() if line)
        self.crawler.stats.set_value("dedup/loaded", len(self.seen_before))
        logger.info("loaded %d seen article fingerprints from %s", len(self.seen_before), self.prefix)

    def request_seen(self, request: Request) -> bool:
        fingerprint = self.fingerprinter.fingerprint(request).hex()
        if fingerprint in self.seen_now:
            return True
        if fingerprint in self.seen_before:
            self.crawler.stats.inc_value("dedup/skipped_seen_before")
            return True
        self.seen_now.add(fingerprint)
        return False

    def item_stored(self, item: object, response: Response, spider: object) -> None:
        self.new_persistent.append(self.fingerprinter.fingerprint(response.request).hex())
        self.crawler.stats.inc_value("dedup/new")
        if len(self.new_persistent) % self.flush_every == 0:
            self._save()

    def _save(self) -> None:
        if self.new_persistent:
            self.store.put_bytes(self.shard_key, ("\n".join(self.new_persistent) + "\n").encode())

    def close(self, reason: str) -> None:
        self._save()
