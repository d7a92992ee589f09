"""URL dedup whose seen set lives in the object store, so the next crawl only fetches new articles.

Layout: ``seen/<source>/<name>.txt``, one hex request fingerprint (Scrapy's request
fingerprinter) per line. ``open()`` loads every shard of the source (in parallel). A run adds
small shards ``<run_id>-<part>.txt``, each written once and atomically, one per stored batch of
documents, so a crash loses at most one batch
and nothing is ever rewritten in bulk. Once a source has ``YQ_SEEN_COMPACT_AFTER`` shards, the
close merges them into one ``<run_id>-compact.txt`` (written first, then the merged shards are
deleted, so a crash in between only leaves duplicates).

A URL is remembered only once its article is durably stored: when RawDocumentPipeline announces
(``documents_stored``) the batch of ``YQ_DOCS_FLUSH_EVERY`` documents that holds it, the batch's
fingerprints become one new shard. So a crash never marks as seen an article whose document was lost, and a page that
failed to download or extract is tried again next time. The URLs an article was redirected
from are remembered with it. List pages and feeds are requested with ``dont_filter`` and so are
always fetched again.

Stats: ``dedup/seen_before`` (fingerprints loaded), ``dedup/new`` (requests no earlier run
stored), ``dedup/skipped`` (requests dropped because an earlier run stored them),
``dedup/duplicate`` (requested twice in this run), ``dedup/remembered`` (fingerprints saved).

With ``JOBDIR`` the fingerprints requested in this run are also kept in ``<jobdir>/yuqing-seen.txt``
so a crawl stopped with Ctrl-C and resumed does not schedule them again; a crawl that finishes
removes the file.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any
from weakref import WeakKeyDictionary

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter
from scrapy.http import Response
from scrapy.utils.asyncio import run_in_thread
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.job import job_dir
from scrapy.utils.request import fingerprint
from twisted.internet.defer import Deferred

from crawlers.pipelines import documents_stored
from yuqing.errors import ObjectNotFound
from yuqing.ids import canonical_url
from yuqing.storage import ObjectStore

logger = logging.getLogger(__name__)

_LOAD_THREADS = 8


class CanonicalUrlFingerprinter:
    """Scrapy's request fingerprint (REQUEST_FINGERPRINTER_CLASS) taken over the URL without tracking
    parameters (``yuqing.ids.canonical_url``): an article linked as ``?from=list`` on a list page and
    ``?from=rss`` in a feed is one request, fetched once and remembered once."""

    def __init__(self) -> None:
        self._cache: WeakKeyDictionary[Request, bytes] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CanonicalUrlFingerprinter:
        return cls()

    def fingerprint(self, request: Request) -> bytes:
        if request not in self._cache:
            self._cache[request] = fingerprint(request.replace(url=canonical_url(request.url)))
        return self._cache[request]


def url_fingerprint(url: str) -> bytes:
    """The fingerprint a GET of ``url`` has in the seen-URL shards."""
    return CanonicalUrlFingerprinter().fingerprint(Request(url))


def parse_shard(data: bytes) -> set[bytes]:
    """Fingerprints in a shard (hex lines); lines that are not hex are skipped."""
    fingerprints = set()
    for line in data.split(b"\n"):
        line = line.strip()
        if line:
            try:
                fingerprints.add(bytes.fromhex(line.decode("ascii")))
            except (ValueError, UnicodeDecodeError):
                logger.warning("skipping a malformed line in a seen-URL shard: %r", line[:80])
    return fingerprints


def format_shard(fingerprints: Any) -> bytes:
    return "".join(f"{fp.hex()}\n" for fp in fingerprints).encode("ascii")


class ObjectStoreDupeFilter(BaseDupeFilter):
    def __init__(
        self,
        crawler: Crawler,
        store: ObjectStore,
        source: str,
        run_id: str,
        *,
        compact_after: int = 64,
        jobdir: str | None = None,
    ) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.fingerprinter = crawler.request_fingerprinter
        self.store = store
        self.source = source
        self.run_id = run_id
        self.prefix = f"seen/{source}/"
        self.compact_after = compact_after
        self.seen_before: set[bytes] = set()
        self.seen_now: set[bytes] = set()
        self.loaded_keys: list[str] = []
        self.written_keys: list[str] = []
        self.remembered: set[bytes] = set()
        # Scraped articles whose document batch is not in the store yet: doc id -> fingerprints.
        self.pending: dict[str, list[bytes]] = defaultdict(list)
        # Documents announced as stored before their item_scraped arrived (the two may cross).
        self.stored_early: set[str] = set()
        self.saving: set[asyncio.Future[None]] = set()
        self._parts = 0
        self._jobdir_path = Path(jobdir, "yuqing-seen.txt") if jobdir else None
        self._jobdir_file: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ObjectStoreDupeFilter:
        settings = crawler.settings
        dupefilter = cls(
            crawler,
            store=settings["YQ_OBJECT_STORE"],
            source=settings["YQ_SOURCE"],
            run_id=settings["YQ_RUN_ID"],
            compact_after=settings.getint("YQ_SEEN_COMPACT_AFTER", 64),
            jobdir=job_dir(settings),
        )
        crawler.signals.connect(dupefilter.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(dupefilter.documents_stored, signal=documents_stored)
        return dupefilter

    # -- open: load what earlier runs stored -----------------------------------------------

    def open(self) -> Deferred[None]:
        return deferred_from_coro(self._open())

    async def _open(self) -> None:
        self.seen_before, self.loaded_keys = await run_in_thread(self._load)
        self.stats.set_value("dedup/seen_before", len(self.seen_before))
        self.stats.set_value("dedup/shards_loaded", len(self.loaded_keys))
        logger.info(
            "loaded %d seen URL fingerprints from %d shards under %s", len(self.seen_before), len(self.loaded_keys), self.prefix
        )
        if self._jobdir_path is not None:
            self._jobdir_path.parent.mkdir(parents=True, exist_ok=True)
            if self._jobdir_path.exists():
                self.seen_now = parse_shard(self._jobdir_path.read_bytes())
            self._jobdir_file = self._jobdir_path.open("a", encoding="ascii")

    def _load(self) -> tuple[set[bytes], list[str]]:
        keys = [k for k in self.store.list_keys(self.prefix) if k.endswith(".txt")]
        seen: set[bytes] = set()
        with ThreadPoolExecutor(max_workers=_LOAD_THREADS) as pool:
            for fingerprints in pool.map(self._read_shard, keys):
                seen |= fingerprints
        return seen, keys

    def _read_shard(self, key: str) -> set[bytes]:
        try:
            return parse_shard(self.store.get_bytes(key))
        except ObjectNotFound:  # compacted away by a crawl that closed meanwhile; its merge holds these
            return set()

    # -- the filter ------------------------------------------------------------------------

    def request_seen(self, request: Request) -> bool:
        fingerprint = self.fingerprinter.fingerprint(request)
        if fingerprint in self.seen_now:
            self.stats.inc_value("dedup/duplicate")
            return True
        if fingerprint in self.seen_before:
            self.seen_now.add(fingerprint)  # counted once; a second link to it is a duplicate
            self.stats.inc_value("dedup/skipped")
            return True
        self.seen_now.add(fingerprint)
        self.stats.inc_value("dedup/new")
        if self._jobdir_file is not None:
            self._jobdir_file.write(f"{fingerprint.hex()}\n")
        return False

    def log(self, request: Request, spider: Spider) -> None:
        self.stats.inc_value("dupefilter/filtered")

    # -- remembering stored articles -------------------------------------------------------

    def item_scraped(self, item: Any, response: Response, spider: Spider) -> None:
        document = item.get("document") if hasattr(item, "get") else None
        if document is None:
            return
        request = response.request
        assert request is not None
        fingerprints = [self.fingerprinter.fingerprint(request)]
        # An article reached through redirects is also known by the addresses it was linked at.
        fingerprints += [self.fingerprinter.fingerprint(Request(url)) for url in request.meta.get("redirect_urls", ())]
        if document.id in self.stored_early:
            self.stored_early.discard(document.id)
            self._save(fingerprints)
        else:
            self.pending[document.id].extend(fingerprints)

    def documents_stored(self, doc_ids: list[str]) -> None:
        fingerprints = []
        for doc_id in doc_ids:
            if doc_id in self.pending:
                fingerprints += self.pending.pop(doc_id)
            else:
                self.stored_early.add(doc_id)
        self._save(fingerprints)

    def _save(self, fingerprints: list[bytes]) -> None:
        """Write these fingerprints as one new shard, off the reactor."""
        if not fingerprints:
            return
        self._parts += 1
        key = f"{self.prefix}{self.run_id}-{self._parts:04d}.txt"
        saving = asyncio.ensure_future(asyncio.to_thread(self.store.put_bytes, key, format_shard(fingerprints), "text/plain"))
        self.saving.add(saving)
        saving.add_done_callback(lambda done: self._saved(done, key, fingerprints))

    def _saved(self, saving: asyncio.Future[None], key: str, fingerprints: list[bytes]) -> None:
        self.saving.discard(saving)
        if saving.cancelled() or saving.exception() is not None:
            logger.error("could not save seen URLs of %s to %s (fetched again next run): %s",
                         self.source, key, "cancelled" if saving.cancelled() else saving.exception())
            return
        self.written_keys.append(key)
        self.remembered.update(fingerprints)
        self.stats.set_value("dedup/remembered", len(self.remembered))

    # -- close -----------------------------------------------------------------------------

    def close(self, reason: str) -> Deferred[None]:
        return deferred_from_coro(self._close(reason))

    async def _close(self, reason: str) -> None:
        if self._jobdir_file is not None:
            self._jobdir_file.close()
            if reason == "finished" and self._jobdir_path is not None:
                self._jobdir_path.unlink()  # the job is done; the next run starts a new one in the same JOBDIR
        # The pipelines are closed by now, so every document batch has been announced.
        await asyncio.gather(*self.saving, return_exceptions=True)
        if self.pending:
            logger.warning("%d scraped articles of %s were never stored; they will be fetched again", len(self.pending), self.source)
        if len(self.loaded_keys) + len(self.written_keys) >= self.compact_after:
            await run_in_thread(self._compact)

    def _compact(self) -> None:
        merged = self.seen_before | self.remembered
        key = f"{self.prefix}{self.run_id}-compact.txt"
        self.store.put_bytes(key, format_shard(merged), "text/plain")
        for old in self.loaded_keys + self.written_keys:
            if old != key:
                self.store.delete(old)
        merged_shards = len(self.loaded_keys) + len(self.written_keys)
        self.stats.set_value("dedup/compacted_shards", merged_shards)
        logger.info("merged %d seen-URL shards of %s into %s", merged_shards, self.source, key)
