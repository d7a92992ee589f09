"""Article extraction from HTML: trafilatura for the body, page metadata for the rest.

Extraction costs about as much CPU as everything Scrapy does with a page (lxml parsing and
trafilatura, ~3 ms for a 10 KB news page here), so spiders call it through ``ExtractionPool``,
which runs it in worker processes, on other cores, off the reactor's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import pickle
import re
import signal
import subprocess
import sys
import weakref
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import trafilatura
from lxml import etree
from parsel import Selector
from parsel.csstranslator import css2xpath

from crawlers.sources import Selectors
from yuqing.errors import ExtractionError

logger = logging.getLogger(__name__)

CHINA_TZ = ZoneInfo("Asia/Shanghai")
MIN_BODY_CHARS = 20

_DATE_PATTERNS = [
    re.compile(r"(?P<y>20\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日(?:\s*(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：](?P<S>\d{2}))?)?"),
    re.compile(r"(?P<y>20\d{2})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[\sT]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"),
]
_VISIBLE_TEXT = etree.XPath("//body//text()[not(ancestor::script)]", smart_strings=False)
_META_DATE = [
    "meta[property='article:published_time']::attr(content)",
    "meta[name='publishdate']::attr(content)",
    "meta[name='pubdate']::attr(content)",
    "time[datetime]::attr(datetime)",
]


@dataclass
class Extracted:
    title: str
    text: str
    published_at: datetime | None
    author: str | None
    canonical_url: str | None
    language: str | None
    media_urls: list[tuple[str, str]] = field(default_factory=list)  # (url, "audio"|"video")


def parse_datetime(value: str) -> datetime | None:
    """Parse the date formats Chinese portals use; naive times are Asia/Shanghai."""
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11 reads a trailing "Z"
    except ValueError:
        parsed = None
    if parsed is None:
        for pattern in _DATE_PATTERNS:
            match = pattern.search(value)
            if match:
                parts = {k: int(v) for k, v in match.groupdict().items() if v}
                try:
                    parsed = datetime(parts["y"], parts["m"], parts["d"], parts.get("H", 0), parts.get("M", 0), parts.get("S", 0))
                except ValueError:
                    continue
                break
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA_TZ)


@functools.lru_cache(maxsize=512)
def _compiled(css: str) -> etree.XPath:
    """A CSS query (with parsel's ::text and ::attr()) as compiled XPath: the same results as ``Selector.css``
    without a Selector object per match."""
    return etree.XPath(css2xpath(css), smart_strings=False)


def _first(sel: Selector, queries: list[str]) -> str | None:
    for query in queries:
        values = _compiled(query)(sel.root)
        value = values[0] if values else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _css_text(sel: Selector, query: str) -> str:
    nodes = sel.css(query)
    if not nodes:
        return ""
    return "\n".join(t.strip() for t in nodes.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall() if t.strip())


def extract_article(html: str, url: str, overrides: Selectors | None = None) -> Extracted:
    """Title, body, date, author, canonical URL, language and media of an article page."""
    overrides = overrides or Selectors()
    sel = Selector(text=html)
    text = _css_text(sel, overrides.body) if overrides.body else ""
    if not text:
        # Metadata is read from the page below: trafilatura's own (htmldate) costs 4x the extraction.
        # fast: no second opinion from readability and justext, which cost more than the extraction
        # itself and, in precision mode, changed nothing on the demo site or the benchmark's pages.
        result = trafilatura.bare_extraction(
            html, url=url, with_metadata=False, include_comments=False, include_tables=False, favor_precision=True, fast=True
        )
        if result is not None:
            text = (result.text or "").strip()
    if len(text) < MIN_BODY_CHARS:
        raise ExtractionError(
            f"no article text in {url} ({len(text)} chars); if its body is drawn by JavaScript, set render: true for its source"
        )

    title = (
        (sel.css(overrides.title + "::text").get() if overrides.title else None)
        or _first(sel, ["meta[property='og:title']::attr(content)", "h1::text", "title::text"])
        or ""
    )
    date_text = (
        _css_text(sel, overrides.published_at) if overrides.published_at else None
    ) or _first(sel, _META_DATE)
    published = parse_datetime(date_text) if date_text else None
    if published is None:
        # Portals print the date near the headline; search the visible text outside the body.
        visible = " ".join(_VISIBLE_TEXT(sel.root))
        published = parse_datetime(visible)
    author = (
        (_css_text(sel, overrides.author) if overrides.author else None)
        or _first(sel, ["meta[name='author']::attr(content)", "[rel='author']::text", ".author::text"])
    )
    canonical = _first(sel, ["link[rel='canonical']::attr(href)", "meta[property='og:url']::attr(content)"])
    language = _first(sel, ["html::attr(lang)"])
    media: list[tuple[str, str]] = []
    for kind in ("audio", "video"):
        for src in _compiled(f"{kind}::attr(src), {kind} source::attr(src)")(sel.root):
            absolute = urljoin(url, src.strip())
            if (absolute, kind) not in media:
                media.append((absolute, kind))
    return Extracted(
        title=title.strip(),
        text=text,
        published_at=published,
        author=author.strip() if author else None,
        canonical_url=urljoin(url, canonical) if canonical else None,
        language=language.split("-")[0].lower() if language else None,
        media_urls=media,
    )


# ── extraction off the reactor's thread ─────────────────────────────────────────────

_SPILL_BACKLOG = 8  # pages queued at every worker before the crawler's process extracts some itself
_START_AFTER = 32  # pages extracted in the crawler's process before workers are started (most crawls are small)


def serve() -> None:
    """A worker's loop: length-prefixed pickles of (html, url, overrides) on stdin, (ok, value) back on stdout."""
    logging.basicConfig(level=logging.WARNING)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the crawl, which then closes our stdin
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the protocol
    source = sys.stdin.buffer

    def send(value: object) -> None:
        try:
            frame = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an exception that does not pickle
            frame = pickle.dumps((False, RuntimeError(repr(exc))), pickle.HIGHEST_PROTOCOL)
        out.write(len(frame).to_bytes(4, "little") + frame)
        out.flush()

    send(None)  # imported and ready
    while (header := source.read(4)) and len(header) == 4:
        html, url, overrides = pickle.loads(source.read(int.from_bytes(header, "little")))
        try:
            send((True, extract_article(html, url, overrides)))
        except Exception as exc:  # noqa: BLE001 - raised again in the crawler's process
            send((False, exc))


class _WorkerGone(Exception):
    pass


class _Worker:
    """One ``serve()`` process, read and written by the event loop without blocking it (no threads)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        code = f"import sys; sys.path[:0] = {[p for p in sys.path if p]!r}; from crawlers.extract import serve; serve()"
        self.loop = loop
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.write_fd, self.read_fd = self.process.stdin.fileno(), self.process.stdout.fileno()
        os.set_blocking(self.write_fd, False)
        os.set_blocking(self.read_fd, False)
        self.ready = self.gone = False
        self.waiting: deque[asyncio.Future[Extracted]] = deque()  # the worker answers in order
        self.inbox = bytearray()
        self.outbox = bytearray()
        loop.add_reader(self.read_fd, self._readable)

    def submit(self, html: str, url: str, overrides: Selectors | None) -> asyncio.Future[Extracted]:
        future: asyncio.Future[Extracted] = self.loop.create_future()
        frame = pickle.dumps((html, url, overrides), pickle.HIGHEST_PROTOCOL)
        self.waiting.append(future)
        had_backlog = bool(self.outbox)
        self.outbox += len(frame).to_bytes(4, "little") + frame
        if not had_backlog:
            self._writable()
        return future

    def _writable(self) -> None:
        try:
            written = os.write(self.write_fd, self.outbox)
        except BlockingIOError:
            written = 0
        except OSError:
            self._gone()
            return
        del self.outbox[:written]
        if self.outbox:
            self.loop.add_writer(self.write_fd, self._writable)
        else:
            self.loop.remove_writer(self.write_fd)

    def _readable(self) -> None:
        try:
            chunk = os.read(self.read_fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._gone()
            return
        self.inbox += chunk
        while len(self.inbox) >= 4 and len(self.inbox) >= 4 + (size := int.from_bytes(self.inbox[:4], "little")):
            message = pickle.loads(self.inbox[4 : 4 + size])
            del self.inbox[: 4 + size]
            if message is None:
                self.ready = True
                continue
            ok, value = message
            future = self.waiting.popleft()
            if future.done():  # cancelled
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _gone(self, closing: bool = False) -> None:
        if self.gone:
            return
        self.gone = True
        self.loop.remove_reader(self.read_fd)
        self.loop.remove_writer(self.write_fd)
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(_WorkerGone())
        if self.ready and not closing:
            logger.warning("an extraction worker exited (code %s); extracting in the crawler's process instead", self.process.poll())

    def close(self) -> None:
        ready = self.ready
        self._gone(closing=True)
        with contextlib.suppress(OSError):
            self.process.stdin.close()  # type: ignore[union-attr]
        if not ready:
            self.process.kill()  # still importing: nothing to finish
        try:
            self.process.wait(timeout=5)  # a ready worker exits as soon as it reads the end of its input
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()  # type: ignore[union-attr]


class ExtractionPool:
    """``extract_article`` in worker processes, shared by the crawlers of this process.

    Extraction is CPU-bound Python (a thread would hold the GIL the reactor needs), so it runs
    in ``processes`` workers that the event loop feeds through pipes. The workers are started
    once ``_START_AFTER`` pages have been extracted (most scheduled crawls find a few new articles
    and are done before a worker has imported trafilatura). Until a worker is ready, when every
    worker has ``_SPILL_BACKLOG`` pages queued, and with ``processes=0``, a page is extracted in
    the crawler's own process instead, so a crawl never waits for a worker and a slow worker never
    holds it up. A worker that dies is not replaced: its pages, and the rest, are extracted in
    the crawler's process.
    """

    def __init__(self) -> None:
        self.workers: list[_Worker] = []
        self.processes = 0
        self.users = 0
        self.offloaded = self.inline = 0

    def acquire(self, processes: int) -> None:
        self.users += 1
        self.processes = max(self.processes, processes)

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0:
            self.processes = 0
            workers, self.workers = self.workers, []
            for worker in workers:
                worker.close()
            if workers:
                logger.info("extracted %d pages in %d worker processes, %d in the crawler's", self.offloaded, len(workers), self.inline)
            self.offloaded = self.inline = 0

    def _start_workers(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            for _ in range(self.processes):
                self.workers.append(_Worker(loop))
        except OSError as exc:
            logger.warning("cannot start an extraction worker (%s); extracting in the crawler's process", exc)
            self.processes = len(self.workers)

    async def extract(self, html: str, url: str, overrides: Selectors | None = None) -> Extracted:
        if self.processes and not self.workers and self.inline >= _START_AFTER:
            self._start_workers()
        ready = [w for w in self.workers if w.ready and not w.gone]
        worker = min(ready, key=lambda w: len(w.waiting), default=None)
        if worker is not None and len(worker.waiting) < _SPILL_BACKLOG:
            try:
                extracted = await worker.submit(html, url, overrides)
            except _WorkerGone:
                pass
            else:
                self.offloaded += 1
                return extracted
        self.inline += 1
        return extract_article(html, url, overrides)


_POOL = ExtractionPool()
_POOL_USERS: weakref.WeakSet[Any] = weakref.WeakSet()


def extraction_pool(crawler: Any) -> ExtractionPool:
    """This process's extraction pool, started with ``YQ_EXTRACT_PROCESSES`` workers and held until the spider closes."""
    if crawler not in _POOL_USERS:
        from scrapy import signals

        _POOL_USERS.add(crawler)
        _POOL.acquire(crawler.settings.getint("YQ_EXTRACT_PROCESSES", 0))
        crawler.signals.connect(lambda **_: _POOL.release(), signal=signals.spider_closed, weak=False)
    return _POOL
