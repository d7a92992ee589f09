"""Render JavaScript article pages with headless Chromium (Selenium + Debian ``chromium``/``chromium-driver``).

``ChromiumRenderMiddleware`` is a downloader middleware that is on only for a crawler whose source
says ``render: true`` (``from_crawler`` raises ``NotConfigured`` otherwise, so other sources never
start a browser). For such a source it renders the requests that lead to an article (callback
``parse_article``); list pages, RSS feeds, sitemaps, robots.txt and media downloads go through
Scrapy's downloader as usual. A request can opt in or out with ``meta={"render": True/False}``.

How a page is rendered:

* A small pool of drivers per source (``render_pool_size``), started lazily on first use, each
  with its own temporary profile; every Selenium call runs on a worker thread of the pool's own
  executor, never on the reactor thread, so Scrapy keeps serving static pages meanwhile.
* The request's User-Agent (chosen by ``RandomUserAgentMiddleware``, which runs earlier) is
  applied with ``Network.setUserAgentOverride`` (and given to a new browser as ``--user-agent``),
  so the page and the requests its scripts make carry it; never ``HeadlessChrome``.
* After the load event, the source's ``wait_for`` CSS selector is awaited for up to
  ``render_wait_s`` by a script in the page (polling every 20 ms, one WebDriver round trip for
  wait, status and DOM together); if it never shows, the page is returned as it is (the
  spider's extraction decides) and ``render/timeouts`` is counted.
* The HTTP status comes from the Navigation Timing entry, so a 404 stays a 404 (and is not
  waited on); a page whose script moves on to another URL is followed and returned under it.
* A page load over ``render_page_load_timeout_s`` raises Twisted's ``TimeoutError``, and a page
  Chromium cannot fetch (``net::ERR_*``) a ``ConnectError``: Scrapy's retry middleware retries
  them like any download error, on the same driver.
* A driver that crashed (chromedriver or Chromium gone) is killed with its whole process group,
  replaced, and the request is tried once more on the new driver (``render/driver_restarts``).

Politeness: rendered requests skip Scrapy's per-domain download slot, so the pool size bounds
their concurrency and the source's download delay is kept between render starts. The browser
goes direct: a ``meta["proxy"]`` is not applied to it (counted as ``render/proxy_ignored``).

Stats: ``render/pages``, ``render/timeouts`` (wait_for never showed), ``render/driver_restarts``,
``render/failed`` (still failing on a fresh driver), ``render/page_load_timeouts``,
``render/network_errors``, ``render/proxy_ignored`` and ``render/seconds`` (time in the browser,
summed over pages; a driver's start-up is not included). Each rendered response has ``"rendered"`` in its flags and
``meta["render_seconds"]``.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import re
import shutil
import signal
import tempfile
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse
from twisted.internet.error import ConnectError
from twisted.internet.error import TimeoutError as DownloadTimeoutError

from yuqing.errors import ConfigError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Callbacks whose requests are rendered when the request does not say (``meta["render"]``).
RENDER_CALLBACKS = frozenset({"parse_article"})

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--blink-settings=imagesEnabled=false",  # text is what we extract; images only cost time
)
INSTALL_HINT = "apt-get install -y chromium chromium-driver"
# Run in the page after it loaded, in one WebDriver round trip (each round trip also costs this
# process the GIL, which the reactor thread wants): wait for the selector, polling every 20 ms in
# the page, then answer the HTTP status (Navigation Timing), whether Chromium shows its own error
# page (net::ERR_*), whether the wait ran out, the DOM and the final URL.
_FINISH_JS = """
const selector = arguments[0], limitMs = arguments[1], done = arguments[arguments.length - 1];
const t0 = performance.now(), nav = performance.getEntriesByType("navigation")[0];
function finish(waitedOut) {
  done([nav && nav.responseStatus ? nav.responseStatus : null, document.URL.startsWith("chrome-error:"),
        waitedOut, document.documentElement.outerHTML, location.href]);
}
(function poll() {
  if (!selector || document.querySelector(selector)) return finish(false);
  if (nav && nav.responseStatus >= 400) return finish(false);  // an error page will not show it
  if (performance.now() - t0 >= limitMs) return finish(true);
  setTimeout(poll, 20);
})();
"""


def _selenium() -> Any:
    """Import Selenium only when a render source actually starts a browser."""
    import selenium.common.exceptions
    import selenium.webdriver
    import selenium.webdriver.chrome.service
    import urllib3.exceptions

    return selenium, urllib3


@dataclass
class _Driver:
    """One Chromium session: the WebDriver, its chromedriver process group, its profile directory."""

    webdriver: Any
    pgid: int | None
    profile: Path
    user_agent: str | None = None  # the UA it sends now


@dataclass
class _Slot:
    """A place in the pool; ``driver`` is None until first used, and again after a crash."""

    index: int
    driver: _Driver | None = None


@dataclass
class RenderResult:
    url: str
    html: str
    status: int
    waited_out: bool  # wait_for never appeared within render_wait_s
    seconds: float = 0.0


class _PageLoadTimeout(Exception):
    pass


class _NetworkError(Exception):
    """Chromium could not fetch the page (refused, reset, empty reply): the site's fault, not the driver's."""


_live_middlewares: weakref.WeakSet[ChromiumRenderMiddleware] = weakref.WeakSet()


@atexit.register
def _reap_at_exit() -> None:
    # A forced shutdown (second Ctrl-C) skips spider_closed; do not leave browsers behind.
    for middleware in list(_live_middlewares):
        middleware.quit_all_now()


class ChromiumRenderMiddleware:
    """Render a render-source's article pages in headless Chromium, off the reactor thread."""

    def __init__(
        self,
        crawler: Crawler,
        *,
        source: str,
        wait_for: str | None,
        pool_size: int,
        wait_s: float,
        page_load_timeout_s: float,
        chromium_path: Path,
        chromedriver_path: Path,
        delay_s: float = 0.0,
    ) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.source = source
        self.wait_for = wait_for
        self.pool_size = pool_size
        self.wait_s = wait_s
        self.page_load_timeout_s = page_load_timeout_s
        self.chromium_path = chromium_path
        self.chromedriver_path = chromedriver_path
        self.delay_s = delay_s
        self._executor: ThreadPoolExecutor | None = None
        self._pool: asyncio.Queue[_Slot] | None = None
        self._slots: list[_Slot] = []
        self._pace = asyncio.Lock()
        self._last_start = 0.0
        self._closed = False
        self._script_timeout_s = wait_s + 10  # the finishing script answers within wait_s

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChromiumRenderMiddleware:
        settings = crawler.settings
        if not settings.getbool("YQ_RENDER"):
            raise NotConfigured  # no message: Scrapy would log one warning per non-render source
        chromium = Path(settings.get("YQ_CHROMIUM_PATH", "/usr/bin/chromium"))
        chromedriver = Path(settings.get("YQ_CHROMEDRIVER_PATH", "/usr/bin/chromedriver"))
        source = settings.get("YQ_SOURCE", "?")
        binaries = ((chromium, "Chromium", "CHROMIUM_PATH"), (chromedriver, "chromedriver", "CHROMEDRIVER_PATH"))
        for path, what, setting in binaries:
            if not (path.is_file() and os.access(path, os.X_OK)):
                # Like the rest of the optional system packages: the crawl goes on without it, loudly
                # (Scrapy logs this as a warning); JavaScript-only articles then fail extraction.
                raise NotConfigured(
                    f"source {source!r} has render: true but {what} is not at {path}, so its pages are fetched "
                    f"without rendering; install it ({INSTALL_HINT}) or set YQ_CRAWL__{setting}"
                )
        middleware = cls(
            crawler,
            source=source,
            wait_for=settings.get("YQ_RENDER_WAIT_FOR") or None,
            pool_size=settings.getint("YQ_RENDER_POOL_SIZE", 2),
            wait_s=settings.getfloat("YQ_RENDER_WAIT_S", 10.0),
            page_load_timeout_s=settings.getfloat("YQ_RENDER_PAGE_LOAD_TIMEOUT_S", 30.0),
            chromium_path=chromium,
            chromedriver_path=chromedriver,
            delay_s=settings.getfloat("DOWNLOAD_DELAY", 0.0),
        )
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    # scrapy hooks
    def wants_render(self, request: Request) -> bool:
        explicit = request.meta.get("render")
        if explicit is not None:
            return bool(explicit)
        return getattr(request.callback, "__name__", None) in RENDER_CALLBACKS

    async def process_request(self, request: Request, spider: Spider | None = None) -> HtmlResponse | None:
        if self._closed or not self.wants_render(request):
            return None
        if request.meta.get("proxy"):
            self.stats.inc_value("render/proxy_ignored")
        user_agent = request.headers.get(b"User-Agent")
        ua = user_agent.decode("latin-1") if user_agent else None
        slot = await self._acquire()
        try:
            await self._keep_delay()
            result = await self._render_on(slot, request.url, ua)
        finally:
            self._pool.put_nowait(slot)  # type: ignore[union-attr]
        self.stats.inc_value("render/pages")
        self.stats.inc_value("render/seconds", result.seconds)
        request.meta["render_seconds"] = result.seconds
        if result.waited_out:
            self.stats.inc_value("render/timeouts")
            logger.warning(
                "%s: %r did not appear within %.1f s on %s; using the page as it is",
                self.source, self.wait_for or "the page's answer", self.wait_s, request.url,
            )
        return HtmlResponse(
            url=result.url,
            status=result.status,
            headers={"Content-Type": "text/html; charset=utf-8"},
            body=result.html.encode("utf-8"),
            encoding="utf-8",
            request=request,
            flags=["rendered"],
        )

    async def spider_closed(self, spider: Spider) -> None:
        self._closed = True
        drivers = [s.driver for s in self._slots if s.driver is not None]
        for slot in self._slots:
            slot.driver = None
        if drivers:
            await asyncio.gather(*(self._call(self._quit, d) for d in drivers))
        if self._executor is not None:
            self._executor.shutdown(wait=False)
        _live_middlewares.discard(self)

    def quit_all_now(self) -> None:
        for slot in self._slots:
            if slot.driver is not None:
                self._quit(slot.driver)
                slot.driver = None

    # the pool
    async def _acquire(self) -> _Slot:
        if self._pool is None:
            self._executor = ThreadPoolExecutor(max_workers=self.pool_size, thread_name_prefix=f"render-{self.source}")
            self._pool = asyncio.Queue()
            self._slots = [_Slot(i) for i in range(self.pool_size)]
            for slot in self._slots:
                self._pool.put_nowait(slot)
            _live_middlewares.add(self)
        return await self._pool.get()

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking Selenium work on the pool's threads; the reactor thread only awaits."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _keep_delay(self) -> None:
        if self.delay_s <= 0:
            return
        async with self._pace:
            wait = self._last_start + self.delay_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_start = time.monotonic()

    async def _render_on(self, slot: _Slot, url: str, ua: str | None) -> RenderResult:
        selenium, urllib3 = _selenium()
        exceptions = selenium.common.exceptions
        crashed = (exceptions.WebDriverException, urllib3.exceptions.HTTPError, ConnectionError)
        for attempt in (1, 2):
            try:
                if slot.driver is None:
                    slot.driver = await self._call(self._start, slot.index, ua)
                return await self._call(self._render, slot.driver, url, ua)
            except _PageLoadTimeout:
                self.stats.inc_value("render/page_load_timeouts")
                raise DownloadTimeoutError(f"{url} did not load in {self.page_load_timeout_s} s") from None
            except _NetworkError as exc:
                # Retried by RetryMiddleware like any connection error; the driver is fine.
                self.stats.inc_value("render/network_errors")
                raise ConnectError(string=f"Chromium could not load {url}: {exc}") from None
            except exceptions.InvalidSelectorException as exc:
                raise ConfigError(
                    f"source {self.source!r}: wait_for {self.wait_for!r} is rejected by Chromium: {exc.msg}"
                ) from exc
            except crashed as exc:
                broken, slot.driver = slot.driver, None
                if broken is not None:
                    await self._call(self._quit, broken)
                if attempt == 2:
                    self.stats.inc_value("render/failed")
                    raise
                self.stats.inc_value("render/driver_restarts")
                logger.warning(
                    "%s: Chromium driver failed on %s (%s); starting a new one", self.source, url, _short(exc)
                )
        raise AssertionError("unreachable")

    # blocking work, on the pool's threads
    def _start(self, index: int, ua: str | None) -> _Driver:
        selenium, _ = _selenium()
        webdriver = selenium.webdriver
        # Paths are given, so Selenium Manager has nothing to find; make sure it never goes online.
        os.environ.setdefault("SE_OFFLINE", "true")
        os.environ.setdefault("SE_AVOID_STATS", "true")
        profile = Path(tempfile.mkdtemp(prefix=f"yuqing-render-{self.source}-{index}-"))
        options = webdriver.ChromeOptions()
        options.binary_location = str(self.chromium_path)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        if ua:
            # Also the browser's own UA, so nothing it sends says HeadlessChrome, even without the override.
            options.add_argument(f"--user-agent={ua}")
        options.page_load_strategy = "normal"
        # Own process group: a crashed driver is reaped with its Chromium children.
        service = webdriver.chrome.service.Service(
            executable_path=str(self.chromedriver_path), popen_kw={"start_new_session": True}
        )
        t0 = time.perf_counter()
        try:
            driver = webdriver.Chrome(options=options, service=service)
        except Exception:
            shutil.rmtree(profile, ignore_errors=True)
            raise
        driver.set_page_load_timeout(self.page_load_timeout_s)
        driver.set_script_timeout(self._script_timeout_s)
        logger.debug("%s: Chromium %d started in %.2f s", self.source, index, time.perf_counter() - t0)
        process = getattr(service, "process", None)
        return _Driver(driver, process.pid if process is not None else None, profile, user_agent=ua)

    def _render(self, driver: _Driver, url: str, ua: str | None) -> RenderResult:
        selenium, _ = _selenium()
        exceptions = selenium.common.exceptions
        t0 = time.perf_counter()
        web = driver.webdriver
        if ua and ua != driver.user_agent:
            web.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": ua})
            driver.user_agent = ua
        try:
            web.get(url)
        except exceptions.TimeoutException as exc:
            raise _PageLoadTimeout(url) from exc
        except exceptions.WebDriverException as exc:
            if "net::ERR_" in (exc.msg or ""):
                raise _NetworkError(re.search(r"net::ERR_\w+", exc.msg).group()) from exc  # type: ignore[union-attr]
            raise
        for _ in range(3):  # the page may move on by itself (a script redirect): then wait on the new one
            started = time.monotonic()
            try:
                answer = web.execute_async_script(_FINISH_JS, self.wait_for, int(self.wait_s * 1000))
                break
            except exceptions.JavascriptException as exc:
                message = exc.msg or ""
                if self.wait_for and "querySelector" in message:
                    raise exceptions.InvalidSelectorException(message) from exc
                if "unloaded" not in message:
                    raise
            except exceptions.TimeoutException:
                # chromedriver answers "script timeout" at once when the document goes away under the
                # script; only a page too busy to run it makes it wait the whole script timeout.
                if time.monotonic() - started >= self._script_timeout_s - 1:
                    answer = None
                    break
        else:
            answer = None
        if answer is None:  # the page never answered: take it as it is
            answer = [None, False, True, web.page_source, web.current_url]
        status, error_page, waited_out, html, final_url = answer
        if error_page:
            raise _NetworkError("Chromium showed its error page")
        return RenderResult(final_url, html, int(status or 200), bool(waited_out), time.perf_counter() - t0)

    @staticmethod
    def _quit(driver: _Driver) -> None:
        process = getattr(getattr(driver.webdriver, "service", None), "process", None)
        if process is not None and process.poll() is None:  # (a dead chromedriver would be retried for seconds)
            try:
                driver.webdriver.quit()
            except Exception as exc:  # noqa: BLE001 - the driver may be half gone; reap below
                logger.debug("quitting a Chromium driver: %s", _short(exc))
        if driver.pgid is not None:
            try:
                os.killpg(driver.pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        shutil.rmtree(driver.profile, ignore_errors=True)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]
