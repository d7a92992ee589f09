"""A messy news site on 127.0.0.1 for crawl tests, and a tiny forward proxy.

``TestSite`` serves whatever is in ``site.pages`` (path -> ``Page``), plus list pages, an RSS
feed and sitemaps built from lists of article paths, so a test can add articles between two
crawls. Every request is logged in ``site.hits`` (path, status, User-Agent, the proxy it came
through) so tests assert what the crawler fetched, with which UA and proxy, and when.

Pages can misbehave the way real sites do: redirect, answer 404/500, hang (``delay_s``), be
huge, be GBK without a ``<meta>``, or ban the client: ``ban="once"`` answers the first request
with a ban (403, 429 with Retry-After, or a 200 captcha page) and keeps banning that
User-Agent and proxy, serving the page only to a different UA (and a different proxy when the
request came through one); ``ban="always"`` never serves it.

``ForwardProxy`` is a real HTTP forward proxy (absolute-URI GET only) that adds ``X-Via: <name>``
to what it forwards, so the site can tell which proxy a request came through.
"""

from __future__ import annotations

import gzip
import http.client
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal, Self
from urllib.parse import urlsplit

ARTICLE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="{charset}"><title>{title}</title>{head}</head>
<body><div class="nav"><a href="/">首页</a></div>
<h1>{title}</h1><p class="date">{date}</p>
<div class="article">{body}</div></body></html>"""
BODY = (
    "<p>{topic}因电池存在过热隐患宣布召回两万台智能音箱，消费者可前往门店免费更换。</p>"
    "<p>公司表示将加强质量管理，避免类似问题再次发生，并向受影响的用户致歉。</p>"
)
CAPTCHA = """<html><head><meta charset="utf-8"><title>安全验证</title></head>
<body><div id="nc_1_wrapper">请拖动滑块完成验证后继续访问</div></body></html>"""


def article_html(title: str, topic: str | None = None, *, charset: str = "utf-8", head: str = "", extra: str = "",
                 date: str = "2026年11月12日 09:30") -> str:
    return ARTICLE.format(charset=charset, title=title, head=head, date=date, body=BODY.format(topic=topic or title) + extra)


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait before answering (a slow or hanging page)
    ban: Literal["once", "always"] | None = None
    ban_kind: Literal["403", "429", "captcha"] = "403"
    retry_after: int = 1  # for ban_kind 429


def html_page(html: str, charset: str = "utf-8", **kwargs: object) -> Page:
    return Page(body=html.encode(charset), content_type=f"text/html; charset={charset}", **kwargs)  # type: ignore[arg-type]


def redirect(location: str, status: int = 301) -> Page:
    return Page(status=status, headers={"Location": location})


@dataclass(frozen=True)
class Hit:
    time: float
    path: str
    status: int
    user_agent: str
    via: str | None  # name of the ForwardProxy the request came through


class _Served:
    """Serves a handler class on a free port of 127.0.0.1 in a thread (a context manager)."""

    _server: _Server | None = None

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> Self:
        self._server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"


class TestSite(_Served):
    """The site; ``with TestSite() as site:`` serves it on a free port."""

    __test__ = False  # not a pytest test class

    def __init__(self, per_list_page: int = 5) -> None:
        self.pages: dict[str, Page] = {}
        self.lists: dict[str, list[str]] = {}  # list name -> article paths (newest first)
        self.feeds: dict[str, list[str]] = {}  # feed path -> article paths
        self.sitemaps: dict[str, list[str]] = {}  # sitemap path (.xml or .xml.gz) -> article paths
        self.sitemap_indexes: dict[str, list[str]] = {}  # index path -> sitemap paths
        self.robots = "User-agent: *\nDisallow: /private/\n"
        self.per_list_page = per_list_page
        self.article_delay_s = 0.0  # added to every /news/ page (a slow site)
        self.hits: list[Hit] = []
        self._banned: dict[str, tuple[set[str], set[str]]] = {}  # path -> (banned UAs, banned proxies)
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # -- building the site -----------------------------------------------------------------

    def add_article(self, path: str, title: str, topic: str | None = None, *, extra: str = "", **page: object) -> str:
        """An article page at ``path``; ``extra`` is HTML appended to its body, ``page`` are Page fields."""
        self.pages[path] = html_page(article_html(title, topic, extra=extra), **page)
        return path

    def list_paths(self, name: str) -> list[str]:
        """Paths of list ``name``'s pages: /<name>/1.html, /<name>/2.html, ..."""
        count = max(1, -(-len(self.lists[name]) // self.per_list_page))
        return [f"/{name}/{n}.html" for n in range(1, count + 1)]

    # -- serving ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        site = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                site._handle(self)

        return self._serve(Handler)

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # releases slow responses still waiting
        super().__exit__(*exc)

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def fetched(self, prefix: str = "/") -> list[str]:
        """Paths fetched (with repeats), in order, that start with ``prefix``."""
        with self._lock:
            return [h.path for h in self.hits if h.path.startswith(prefix)]

    def clear_hits(self) -> None:
        with self._lock:
            self.hits.clear()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        path = urlsplit(handler.path).path  # a proxied request carries the absolute URL
        user_agent = handler.headers.get("User-Agent", "")
        via = handler.headers.get("X-Via")
        page = self._page(path) or Page(status=404, body=b"<html><body>not found</body></html>")
        delay = page.delay_s + (self.article_delay_s if path.startswith("/news/") else 0.0)
        if page.ban:
            page = self._ban_or_serve(path, page, user_agent, via)
        with self._lock:
            self.hits.append(Hit(arrived, path, page.status, user_agent, via))
        if delay:
            self._stopping.wait(delay)
        handler.send_response(page.status)
        handler.send_header("Content-Type", page.content_type)
        handler.send_header("Content-Length", str(len(page.body)))
        for name, value in page.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        try:
            handler.wfile.write(page.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler gave up (too large, timed out)

    def _ban_or_serve(self, path: str, page: Page, user_agent: str, via: str | None) -> Page:
        with self._lock:
            first = path not in self._banned
            uas, proxies = self._banned.setdefault(path, (set(), set()))
            banned = page.ban == "always" or first or user_agent in uas or (via is not None and via in proxies)
            if banned:
                uas.add(user_agent)
                if via is not None:
                    proxies.add(via)
        if not banned:
            return page
        if page.ban_kind == "429":
            retry_after = {"Retry-After": str(page.retry_after)}
            return Page(status=429, body=b"Too Many Requests", content_type="text/plain", headers=retry_after)
        if page.ban_kind == "captcha":
            return html_page(CAPTCHA)
        return Page(status=403, body=b"<html><body>Forbidden</body></html>")

    def _page(self, path: str) -> Page | None:
        if path == "/robots.txt":
            return Page(body=self.robots.encode(), content_type="text/plain")
        if path in self.pages:
            return self.pages[path]
        name, _, rest = path.strip("/").partition("/")
        if name in self.lists and rest.endswith(".html") and rest[:-5].isdigit():
            return self._list_page(name, int(rest[:-5]))
        if path in self.feeds:
            return Page(body=self._rss(self.feeds[path]).encode(), content_type="application/rss+xml; charset=utf-8")
        if path in self.sitemap_indexes:
            entries = "".join(
                f"<sitemap><loc>{self.url}{p}</loc><lastmod>2026-11-{10 + i:02d}</lastmod></sitemap>"
                for i, p in enumerate(self.sitemap_indexes[path])
            )
            xml = f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="{_SITEMAP_NS}">{entries}</sitemapindex>'
            return Page(body=xml.encode(), content_type="application/xml")
        if path in self.sitemaps:
            urls = "".join(f"<url><loc>{self.url}{p}</loc></url>" for p in self.sitemaps[path])
            xml = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{_SITEMAP_NS}">{urls}</urlset>'
            if path.endswith(".gz"):  # a gzipped file, not a Content-Encoding
                return Page(body=gzip.compress(xml.encode()), content_type="application/octet-stream")
            return Page(body=xml.encode(), content_type="application/xml")
        return None

    def _list_page(self, name: str, n: int) -> Page | None:
        articles = self.lists[name]
        pages = self.list_paths(name)
        if n > len(pages):
            return None
        chunk = articles[(n - 1) * self.per_list_page : n * self.per_list_page]
        links = "".join(f'<li><a href="{p}?from=list">新闻 {p}</a></li>' for p in chunk)
        nav = f'<a rel="next" href="/{name}/{n + 1}.html">下一页</a>' if n < len(pages) else ""
        return html_page(f"<html><body><ul>{links}</ul>{nav}</body></html>")

    def _rss(self, paths: list[str]) -> str:
        items = "".join(f"<item><title>新闻</title><link>{self.url}{p}?from=rss</link></item>" for p in paths)
        return f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>feed</title>{items}</channel></rss>'


class ForwardProxy(_Served):
    """An HTTP forward proxy on a free port that tags what it forwards with ``X-Via: <name>``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requests = 0

    def __enter__(self) -> Self:
        proxy = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                proxy.requests += 1
                target = urlsplit(self.path)
                if not target.hostname:
                    self.send_error(400, "a proxy needs an absolute URL")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["X-Via"] = proxy.name
                conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=60)
                try:
                    conn.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
                    upstream = conn.getresponse()
                    body = upstream.read()
                except OSError:
                    self.send_error(502)
                    return
                finally:
                    conn.close()
                self.send_response(upstream.status)
                for name, value in upstream.getheaders():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return self._serve(Handler)


_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections when several crawlers start at once


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass
