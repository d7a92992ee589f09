"""The demo news site's HTTP server: stdlib ``ThreadingHTTPServer`` in a daemon thread, Jinja2 templates.

Run it with ``python -m yuqing.demo_site --port 8080`` (or ``yuqing demo-site``).

URL scheme:
    /                                          index of the three outlets
    /{outlet}/  and  /{outlet}/list/{n}.html   list pages (n >= 2), 5 articles each, newest first
    /{outlet}/{yyyy}/{mmdd}/{slug}.html        articles (any query string is ignored)
    /api/{outlet}/articles/{slug}.json         article JSON (the JavaScript-rendered article loads its body here)
    /feeds/{outlet}.xml                        RSS 2.0; item links carry ?from=rss
    /media/{file}                              audio/video clips (Range requests supported)
    /robots.txt                                everything allowed except /private/
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import AF_INET6
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from yuqing.demo_site.catalog import (
    MEDIA_DIR,
    MEDIA_TYPES,
    TEMPLATES_DIR,
    Article,
    Outlet,
    articles_by_outlet,
    load_articles,
    load_outlets,
)
from yuqing.logs import setup_logging

logger = logging.getLogger(__name__)

PER_PAGE = 5
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")

_ARTICLE_RE = re.compile(r"^/(?P<outlet>[a-z]+)/(?P<yyyy>\d{4})/(?P<mmdd>\d{4})/(?P<slug>[\w-]+)\.html$")
_LIST_RE = re.compile(r"^/(?P<outlet>[a-z]+)/(?:list/(?P<page>\d+)\.html)?$")
_FEED_RE = re.compile(r"^/feeds/(?P<outlet>[a-z]+)\.xml$")
_API_RE = re.compile(r"^/api/(?P<outlet>[a-z]+)/articles/(?P<slug>[\w-]+)\.json$")
_MEDIA_RE = re.compile(r"^/media/(?P<file>[\w-]+\.[a-z0-9]+)$")
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Response(Exception):
    """Raised by a route to answer with a status other than 200."""

    def __init__(self, status: HTTPStatus, location: str | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.location = location


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: DemoSite


class _Server6(_Server):
    address_family = AF_INET6


class DemoSite:
    """The demo news site on ``host:port`` (port 0 picks a free one); ``start()``/``stop()`` or ``with``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.outlets: dict[str, Outlet] = {o.id: o for o in load_outlets()}
        self.articles: list[Article] = load_articles()
        self._by_path = {a.url_path: a for a in self.articles}
        self._by_outlet = {o: articles_by_outlet(o) for o in self.outlets}
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(["html", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["rfc822"] = lambda d: format_datetime(d)

    # lifecycle
    def start(self) -> DemoSite:
        if self._server is not None:
            return self
        server_cls = _Server6 if ":" in self.host else _Server
        self._server = server_cls((self.host, self.port), _Handler)
        self._server.site = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"demo-site:{self.port}", daemon=True
        )
        self._thread.start()
        logger.info("demo site serving at %s", self.url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` without a trailing slash (a wildcard bind is reported as 127.0.0.1)."""
        host = "127.0.0.1" if self.host in _WILDCARD_HOSTS else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def base_url(self, host_header: str | None) -> str:
        """Absolute URLs in pages: the server's address, or the Host header when bound to all interfaces."""
        if self.host in _WILDCARD_HOSTS and host_header and re.fullmatch(r"[\w.\-:\[\]]+", host_header):
            return f"http://{host_header}"
        return self.url

    # pages
    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(outlets=list(self.outlets.values()), **context)

    def outlet(self, outlet_id: str) -> Outlet:
        if outlet_id not in self.outlets:
            raise _Response(HTTPStatus.NOT_FOUND)
        return self.outlets[outlet_id]

    def list_page(self, outlet_id: str, page: int, base: str) -> str:
        outlet = self.outlet(outlet_id)
        articles = self._by_outlet[outlet_id]
        pages = max(1, -(-len(articles) // PER_PAGE))
        if page < 1 or page > pages:
            raise _Response(HTTPStatus.NOT_FOUND)
        return self.render(
            f"{outlet_id}/list.html",
            outlet=outlet,
            items=articles[(page - 1) * PER_PAGE : page * PER_PAGE],
            page=page,
            pages=pages,
            page_url=lambda n: f"/{outlet_id}/" if n == 1 else f"/{outlet_id}/list/{n}.html",
            canonical=base + (f"/{outlet_id}/" if page == 1 else f"/{outlet_id}/list/{page}.html"),
        )

    def article_page(self, article: Article, base: str) -> str:
        listing = self._by_outlet[article.outlet]
        at = listing.index(article)
        siblings = listing[at + 1 :] + listing[:at]  # the next older articles first, wrapping around
        return self.render(
            f"{article.outlet}/article.html",
            outlet=self.outlets[article.outlet],
            article=article,
            base=base,
            canonical=base + article.url_path,
            charset="gbk" if article.encoding == "gbk" else "utf-8",
            related=siblings[:4],
            api_url=f"/api/{article.outlet}/articles/{article.slug}.json",
        )

    def feed(self, outlet_id: str, base: str) -> str:
        outlet = self.outlet(outlet_id)
        items = self._by_outlet[outlet_id]
        return self.render(
            "rss.xml",
            outlet=outlet,
            items=items,
            base=base,
            build_date=max(a.published_at for a in items) if items else datetime.now(UTC),
        )

    def article_json(self, outlet_id: str, slug: str) -> str:
        article = next((a for a in self._by_outlet.get(outlet_id, ()) if a.slug == slug), None)
        if article is None:
            raise _Response(HTTPStatus.NOT_FOUND)
        data = {
            "id": f"{outlet_id}-{slug}",
            "title": article.title,
            "author": article.author,
            "publishTime": article.published_at.isoformat(),
            "content": list(article.paragraphs),
            "editor": list(article.boilerplate_bottom),
        }
        return json.dumps({"code": 0, "msg": "ok", "data": data}, ensure_ascii=False)

    def find_article(self, path: str) -> Article | None:
        return self._by_path.get(path)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "YuqingDemo/1.0"
    protocol_version = "HTTP/1.1"
    timeout = 15  # drop idle keep-alive connections
    disable_nagle_algorithm = True  # headers and body go out in separate writes; don't wait for delayed ACKs

    def do_GET(self) -> None:
        self._handle(head=False)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    # dispatch
    def _handle(self, head: bool) -> None:
        site = self.server.site
        path = unquote(urlsplit(self.path).path)
        base = site.base_url(self.headers.get("Host"))
        try:
            self._route(site, path, base, head)
        except _Response as r:
            if r.location:
                self._send(r.status, b"", "text/html; charset=utf-8", head, {"Location": r.location})
            else:
                body = site.render("404.html", status=int(r.status), phrase=r.status.phrase).encode("utf-8")
                self._send(r.status, body, "text/html; charset=utf-8", head)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            logger.exception("demo site: error serving %s", self.path)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"internal error", "text/plain; charset=utf-8", head)

    def _route(self, site: DemoSite, path: str, base: str, head: bool) -> None:
        html = "text/html; charset=utf-8"
        if path == "/":
            return self._send(HTTPStatus.OK, site.render("index.html", base=base).encode(), html, head)
        if path == "/robots.txt":
            return self._send(HTTPStatus.OK, ROBOTS_TXT.encode(), "text/plain; charset=utf-8", head)
        if path.startswith("/private/"):
            raise _Response(HTTPStatus.FORBIDDEN)
        if m := _MEDIA_RE.match(path):
            return self._media(m["file"], head)
        if m := _FEED_RE.match(path):
            xml = site.feed(m["outlet"], base).encode("utf-8")
            return self._send(HTTPStatus.OK, xml, "application/rss+xml; charset=utf-8", head)
        if m := _API_RE.match(path):
            data = site.article_json(m["outlet"], m["slug"]).encode("utf-8")
            return self._send(HTTPStatus.OK, data, "application/json; charset=utf-8", head)
        if m := _ARTICLE_RE.match(path):
            article = site.find_article(path)
            if article is None:
                raise _Response(HTTPStatus.NOT_FOUND)
            page = site.article_page(article, base)
            headers = {"Last-Modified": format_datetime(article.published_at.astimezone(UTC), usegmt=True)}
            if article.encoding == "gbk":
                # Like many older Chinese portals: GBK bytes, the charset only in <meta>, none in the header.
                return self._send(HTTPStatus.OK, page.encode("gbk", "xmlcharrefreplace"), "text/html", head, headers)
            return self._send(HTTPStatus.OK, page.encode("utf-8"), html, head, headers)
        if path in (f"/{o}" for o in site.outlets):
            raise _Response(HTTPStatus.MOVED_PERMANENTLY, location=path + "/")
        if m := _LIST_RE.match(path):
            page = int(m["page"] or 1)
            if m["page"] is not None and page == 1:
                raise _Response(HTTPStatus.MOVED_PERMANENTLY, location=f"/{m['outlet']}/")
            return self._send(HTTPStatus.OK, site.list_page(m["outlet"], page, base).encode(), html, head)
        raise _Response(HTTPStatus.NOT_FOUND)

    def _media(self, name: str, head: bool) -> None:
        file = MEDIA_DIR / name
        content_type = MEDIA_TYPES.get(file.suffix)
        if content_type is None or not file.is_file():
            raise _Response(HTTPStatus.NOT_FOUND)
        data = file.read_bytes()
        headers = {"Accept-Ranges": "bytes"}
        spec = self.headers.get("Range")
        if spec and (m := _RANGE_RE.match(spec.strip())) and (m[1] or m[2]):
            size = len(data)
            if m[1]:
                start, end = int(m[1]), min(int(m[2]) if m[2] else size - 1, size - 1)
            else:  # suffix range: the last N bytes
                start, end = max(0, size - int(m[2])), size - 1
            if start >= size or start > end:
                headers["Content-Range"] = f"bytes */{size}"
                return self._send(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", content_type, head, headers)
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            return self._send(HTTPStatus.PARTIAL_CONTENT, data[start : end + 1], content_type, head, headers)
        self._send(HTTPStatus.OK, data, content_type, head, headers)

    def _send(
        self, status: HTTPStatus, body: bytes, content_type: str, head: bool, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)


def main(argv: list[str] | None = None) -> None:
    """Serve the demo site until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="yuqing demo-site", description="Serve the bundled demo news site.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    setup_logging("DEBUG" if args.verbose else "INFO")
    site = DemoSite(host=args.host, port=args.port).start()
    logger.info("outlets (Ctrl-C to stop):")
    for outlet in site.outlets.values():
        logger.info("  %-6s %s/%s/   feed: %s/feeds/%s.xml", outlet.name, site.url, outlet.id, site.url, outlet.id)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        logger.info("stopping")
    finally:
        site.stop()


if __name__ == "__main__":
    main()
