"""Downloader middlewares: random User-Agent, retries with backoff, ban detection with proxy rotation.

Waits never block the reactor: a request waiting out its backoff is an ``await`` inside an
``async def process_response`` (``scrapy.utils.asyncio.sleep``), so other requests go on.
"""

from __future__ import annotations

import logging
import random
import re
import time
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import sleep

from yuqing.ids import canonical_url

logger = logging.getLogger(__name__)

# Current desktop and mobile browsers (late 2026); override with YQ_CRAWL__USER_AGENTS.
DEFAULT_USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/155.0.0.0 Safari/537.36 Edg/155.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 15_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/19.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:146.0) Gecko/20100101 Firefox/146.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 19_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/19.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 16; Pixel 10) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 15; SM-S9380) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/155.0.0.0 Mobile Safari/537.36",
]

# Request.meta keys this module uses.
RANDOM_UA = "yq_random_ua"  # the User-Agent was picked here, so a ban retry may pick another
BANNED_UAS = "yq_banned_user_agents"  # User-Agents that were banned for this request
ROTATED_PROXY = "yq_rotated_proxy"  # meta["proxy"] was picked here from YQ_PROXIES
BANNED_PROXIES = "yq_banned_proxies"  # proxies that were banned for this request
BAN_TRIES = "yq_ban_tries"
DONT_BAN_RETRY = "yq_dont_ban_retry"  # set on a request to take bans as they come

_SCAN_CHARS = 64 * 1024  # captcha markers are looked for at the start of a page


def backoff_delay(
    attempt: int, base_s: float, max_s: float, retry_after_s: float | None = None, rng: random.Random | None = None
) -> float:
    """Exponential backoff for the ``attempt``-th retry (1-based): ``base * 2**(attempt-1)``, up to 25 % jitter
    on top, at least the server's Retry-After, never more than ``max_s``."""
    delay = base_s * 2 ** (attempt - 1) * (1 + 0.25 * (rng or random).random())
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return min(delay, max_s)


def retry_after_seconds(response: Response) -> float | None:
    """The Retry-After header as seconds (it is either a number or an HTTP date)."""
    value = response.headers.get(b"Retry-After")
    if not value:
        return None
    text = value.decode("latin-1").strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class RandomUserAgentMiddleware:
    """Pick a User-Agent per request unless the request (or its source) pinned one.

    A request retried after a ban carries the User-Agents that were banned; the next pick avoids them.
    """

    def __init__(self, user_agents: list[str], seed: int | None = None) -> None:
        self.user_agents = user_agents
        self._random = random.Random(seed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RandomUserAgentMiddleware:
        agents = crawler.settings.getlist("YQ_USER_AGENTS") or DEFAULT_USER_AGENTS
        return cls(agents)

    def process_request(self, request: Request) -> None:
        if b"User-Agent" in request.headers:
            return
        banned = set(request.meta.get(BANNED_UAS, ()))
        choices = [ua for ua in self.user_agents if ua not in banned] or self.user_agents
        request.headers[b"User-Agent"] = self._random.choice(choices)
        request.meta[RANDOM_UA] = True


class RedirectLoopMiddleware:
    """Stop a redirect chain that comes back to an address it already went through.

    The dedup filter only catches loops of requests it filters; a retried request (dont_filter)
    would otherwise bounce until REDIRECT_MAX_TIMES.
    """

    def process_request(self, request: Request) -> None:
        chain = request.meta.get("redirect_urls")
        if chain and canonical_url(request.url) in {canonical_url(u) for u in chain}:
            raise IgnoreRequest(f"redirect loop: {' -> '.join([*chain, request.url])}")


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware (5xx, timeouts, dropped connections) with exponential backoff between tries.

    The wait honours Retry-After (503) and is capped by ``YQ_BACKOFF_MAX_S``.
    """

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.base_s = settings.getfloat("YQ_BACKOFF_BASE_S", 1.0)
        self.max_s = settings.getfloat("YQ_BACKOFF_MAX_S", 60.0)

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await self._wait(result, f"HTTP {response.status}", retry_after_seconds(response))
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._wait(result, f"{type(exception).__name__}: {exception}", None)
        return result

    async def _wait(self, retry: Request, reason: str, retry_after_s: float | None) -> None:
        delay = backoff_delay(retry.meta["retry_times"], self.base_s, self.max_s, retry_after_s)
        self.crawler.stats.inc_value("retry/backoff_seconds", delay)
        logger.debug("retrying %s (%s) in %.2fs", retry.url, reason, delay)
        await sleep(delay)


class BanDetectionMiddleware:
    """Recognise a ban (403/429, or a 200 captcha page) and retry on another proxy and User-Agent.

    With ``YQ_PROXIES`` set, every request goes through one of them (round robin, skipping
    proxies that were banned for that request and proxies benched after a recent ban); Scrapy's
    HttpProxyMiddleware does the rest. A banned request waits out an exponential backoff (at
    least the Retry-After of a 429), then goes again with a fresh User-Agent and another proxy.
    After ``YQ_BAN_MAX_RETRIES`` retries it is dropped with IgnoreRequest, which the spider's
    errback records as a failure. Stats: ``ban/detected/<why>``, ``ban/retried``, ``ban/gave_up``,
    ``proxy/<proxy>/requests``, ``proxy/<proxy>/banned``.
    """

    def __init__(
        self,
        crawler: Crawler,
        *,
        proxies: list[str],
        ban_codes: set[int],
        markers: list[str],
        max_retries: int,
        base_s: float,
        max_s: float,
        seed: int | None = None,
    ) -> None:
        self.crawler = crawler
        self.proxies = proxies
        self.ban_codes = ban_codes
        self.markers = re.compile("|".join(f"(?:{m})" for m in markers), re.IGNORECASE) if markers else None
        self.max_retries = max_retries
        self.base_s = base_s
        self.max_s = max_s
        self._random = random.Random(seed)
        self._turn = 0
        self._benched_until: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BanDetectionMiddleware:
        s = crawler.settings
        return cls(
            crawler,
            proxies=s.getlist("YQ_PROXIES"),
            ban_codes={int(c) for c in s.getlist("YQ_BAN_HTTP_CODES", [403, 429])},
            markers=s.getlist("YQ_BAN_MARKERS"),
            max_retries=s.getint("YQ_BAN_MAX_RETRIES", 3),
            base_s=s.getfloat("YQ_BACKOFF_BASE_S", 1.0),
            max_s=s.getfloat("YQ_BACKOFF_MAX_S", 60.0),
        )

    # -- proxy rotation ---------------------------------------------------------------------

    def process_request(self, request: Request) -> None:
        if not self.proxies or "proxy" in request.meta:  # no pool, or pinned by the request
            return
        proxy = self._pick_proxy(set(request.meta.get(BANNED_PROXIES, ())))
        request.meta["proxy"] = proxy
        request.meta[ROTATED_PROXY] = True
        self.crawler.stats.inc_value(f"proxy/{proxy}/requests")

    def _pick_proxy(self, banned_here: set[str]) -> str:
        now = time.monotonic()
        fresh = [p for p in self.proxies if p not in banned_here]
        rested = [p for p in fresh if self._benched_until.get(p, 0.0) <= now]
        candidates = rested or fresh or self.proxies
        self._turn += 1
        return candidates[self._turn % len(candidates)]

    # -- ban detection ----------------------------------------------------------------------

    def ban_reason(self, request: Request, response: Response) -> str | None:
        if response.status in request.meta.get("handle_httpstatus_list", ()):
            return None
        if response.status in self.ban_codes:
            return f"HTTP {response.status}"
        if response.status == 200 and self.markers is not None and isinstance(response, TextResponse):
            match = self.markers.search(response.text[:_SCAN_CHARS])
            if match:
                return f"captcha page ({match.group(0)[:40]!r})"
        return None

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get(DONT_BAN_RETRY):
            return response
        reason = self.ban_reason(request, response)
        if reason is None:
            return response
        stats = self.crawler.stats
        stats.inc_value(f"ban/detected/{'captcha' if reason.startswith('captcha') else response.status}")
        tries = request.meta.get(BAN_TRIES, 0) + 1
        proxy = request.meta.get("proxy")
        user_agent = request.headers.get(b"User-Agent", b"").decode("latin-1")
        if proxy:
            stats.inc_value(f"proxy/{proxy}/banned")
        if tries > self.max_retries:
            stats.inc_value("ban/gave_up")
            raise IgnoreRequest(f"banned: {reason} on {tries} tries (last proxy {proxy or 'none'})")

        retry = request.copy()
        retry.dont_filter = True
        retry.meta[BAN_TRIES] = tries
        if request.meta.get(RANDOM_UA):
            retry.meta[BANNED_UAS] = [*request.meta.get(BANNED_UAS, ()), user_agent]
            del retry.headers[b"User-Agent"]
            retry.meta.pop(RANDOM_UA, None)
        retry_after = retry_after_seconds(response)
        delay = backoff_delay(tries, self.base_s, self.max_s, retry_after, self._random)
        if request.meta.get(ROTATED_PROXY) and proxy:
            retry.meta[BANNED_PROXIES] = [*request.meta.get(BANNED_PROXIES, ()), proxy]
            del retry.meta["proxy"]
            retry.meta.pop(ROTATED_PROXY, None)
            self._benched_until[proxy] = time.monotonic() + max(delay, retry_after or 0.0)
        stats.inc_value("ban/retried")
        logger.info("%s for %s (proxy %s); retry %d in %.2fs", reason, request.url, proxy or "none", tries, delay)
        await sleep(delay)
        return retry
