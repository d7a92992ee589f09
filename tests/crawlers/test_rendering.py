"""Render JavaScript articles with real headless Chromium against a real site on 127.0.0.1.

One crawl (in a subprocess: Scrapy's reactor starts once per process) covers three sources:
``jsnews`` (render: true; its bodies are inserted by a script; the server kills the crawl's
chromedriver while one of its pages loads), ``slow`` (render: true with a ``wait_for`` that never
matches) and ``plain`` (render: false, with the same kind of JavaScript page). The tests below
read what that crawl stored, what the server saw and the crawlers' stats.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawlers.rendering import ChromiumRenderMiddleware
from crawlers.sources import Source
from yuqing.contracts import RawDocument
from yuqing.ids import doc_id

USER_AGENTS = ["YuqingTest/1.0 (render-a)", "YuqingTest/1.0 (render-b)", "YuqingTest/1.0 (render-c)"]
WAIT_S = 1.5
JS_SLUGS = ["chip-a", "chip-b", "kill-me"]
# Also linked from jsnews: a page whose script moves on to another article, and a page that is gone.
EXTRA_SLUGS = {"moved": "landed", "gone": None}

SOURCES = """sources:
  - name: jsnews
    start: [{url: "${base_url}/jsnews/index.html", kind: list}]
    article_patterns: ['/jsnews/\\d{4}/\\d{4}/[\\w-]+\\.html$']
    render: true
    wait_for: "#body[data-loaded]"
  - name: slow
    start: [{url: "${base_url}/slow/index.html", kind: list}]
    article_patterns: ['/slow/\\d{4}/\\d{4}/[\\w-]+\\.html$']
    render: true
    wait_for: "#never-there"
  - name: plain
    start: [{url: "${base_url}/plain/index.html", kind: list}]
    article_patterns: ['/plain/\\d{4}/\\d{4}/[\\w-]+\\.html$']
"""

JS_ARTICLE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>
<link rel="canonical" href="/{outlet}/2026/1112/{slug}.html"></head><body>
<div id="body" data-api="/api/{outlet}/{slug}.json"></div>
<script>
var box = document.getElementById("body");
fetch(box.getAttribute("data-api")).then(function (r) { return r.json(); }).then(function (data) {
  box.innerHTML = "";
  data.paragraphs.forEach(function (t) { var p = document.createElement("p"); p.textContent = t; box.appendChild(p); });
  box.setAttribute("data-loaded", "true");
});
</script></body></html>"""
STATIC_ARTICLE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head><body>
<h1>{title}</h1><p class="date">2026年11月12日 09:30</p><div class="body">{paragraphs}</div></body></html>"""


def paragraphs(slug: str) -> list[str]:
    return [
        f"星辰科技（{slug}）今日发布新一代端侧人工智能芯片，能效比上一代提升百分之四十，首批产品将于明年一季度交付。",
        "公司表示，新芯片采用自研架构，已与多家手机厂商达成合作意向，市场反应积极。",
    ]


class FixtureSite(ThreadingHTTPServer):
    """A small news site that records every request's path and User-Agent."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.profiles_dir: Path | None = None  # the crawl's TMPDIR, where its Chromium profiles live
        self.killed: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def kill_chromedriver(self, source: str) -> None:
        """SIGKILL the chromedriver that drives ``source``'s Chromium (found by its profile directory)."""
        marker = f"--user-data-dir={self.profiles_dir}/yuqing-render-{source}-"
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if marker not in cmdline:
                    continue
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if Path(f"/proc/{parent}/comm").read_text().strip() != "chromedriver":
                    continue
            except (OSError, ValueError, IndexError):
                continue
            os.kill(parent, signal.SIGKILL)
            self.killed.append(parent)
            return
        raise AssertionError(f"no chromedriver found for {source}")


class _Handler(BaseHTTPRequestHandler):
    server: FixtureSite

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.seen.append((path, self.headers.get("User-Agent", "")))
            first_time = sum(p == path for p, _ in self.server.seen) == 1
        if path == "/jsnews/2026/1112/kill-me.html" and first_time:
            self.server.kill_chromedriver("jsnews")  # while the browser waits for this page
        body, ctype = self.route(path)
        if body is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        data = body.encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def route(self, path: str) -> tuple[str | None, str]:
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            return "User-agent: *\nDisallow: /private/\n", "text/plain"
        if m := re.fullmatch(r"/(jsnews|slow|plain)/index\.html", path):
            slugs = {"jsnews": [*JS_SLUGS, *EXTRA_SLUGS], "slow": ["static-one"], "plain": ["static-two", "js-shell"]}[m[1]]
            links = "".join(f'<a href="/{m[1]}/2026/1112/{s}.html">{s}</a>' for s in slugs)
            return f"<html><body>{links}</body></html>", html
        if m := re.fullmatch(r"/(jsnews|slow|plain)/2026/1112/([\w-]+)\.html", path):
            outlet, slug = m[1], m[2]
            if slug == "gone":
                return None, html
            if slug == "moved":
                return '<html><body><script>setTimeout(function () { location.replace("landed.html"); }, 50);</script></body></html>', html
            title = f"星辰科技发布端侧AI芯片 {slug}"
            if slug.startswith("static"):
                body = "".join(f"<p>{p}</p>" for p in paragraphs(slug))
                return STATIC_ARTICLE.format(title=title, paragraphs=body), html
            return JS_ARTICLE.replace("{title}", title).replace("{outlet}", outlet).replace("{slug}", slug), html
        if m := re.fullmatch(r"/api/(\w+)/([\w-]+)\.json", path):
            return json.dumps({"paragraphs": paragraphs(m[2])}, ensure_ascii=False), "application/json"
        return None, html


CRAWL_SCRIPT = """
import json, logging, sys
from pathlib import Path
from pydispatch import dispatcher
from scrapy import signals
from crawlers.run import run_crawl
from crawlers.sources import load_sources
from yuqing.settings import configure
from yuqing.storage import open_store

logging.basicConfig(level=logging.WARNING)
cfg = json.loads(Path(sys.argv[1]).read_text())
settings = configure(data_dir=cfg["data_dir"], crawl=cfg["crawl"])
sources = load_sources(Path(cfg["sources"]), {"base_url": cfg["base_url"]})
seen = {"stats": {}, "middlewares": {}, "chosen_ua": {}}

def closed(spider, reason):
    stats = spider.crawler.stats.get_stats()
    seen["stats"][spider.name] = {k: v for k, v in stats.items() if isinstance(v, (int, float, str))}
    seen["middlewares"][spider.name] = [type(m).__name__ for m in spider.crawler.engine.downloader.middleware.middlewares]

def received(response, request, spider):
    if "rendered" in response.flags:
        seen["chosen_ua"][request.url] = request.headers.get(b"User-Agent", b"").decode()

dispatcher.connect(closed, signal=signals.spider_closed)
dispatcher.connect(received, signal=signals.response_received)
run_crawl(settings, sources, open_store(settings))
print("RESULT " + json.dumps(seen))
"""


def _leftover_processes(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append(cmdline[:120])
    return found


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    root = tmp_path_factory.mktemp("render")
    profiles = root / "tmp"
    profiles.mkdir()
    site = FixtureSite()
    site.profiles_dir = profiles
    threading.Thread(target=site.serve_forever, daemon=True).start()
    sources = root / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    config = root / "crawl.json"
    config.write_text(json.dumps({
        "data_dir": str(root / "data"),
        "sources": str(sources),
        "base_url": site.url,
        "crawl": {"user_agents": USER_AGENTS, "render_pool_size": 1, "render_wait_s": WAIT_S},
    }))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CRAWL_SCRIPT, str(config)],
        capture_output=True, text=True, timeout=180, check=False, env={**os.environ, "TMPDIR": str(profiles)},
    )
    seconds = time.perf_counter() - t0
    site.shutdown()
    site.server_close()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    [line] = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    store = root / "data" / "store"
    documents = [
        RawDocument.model_validate_json(row)
        for path in sorted(store.glob("raw/docs/date=*/*.jsonl"))
        for row in path.read_text(encoding="utf-8").splitlines()
    ]
    failures = [json.loads(row) for p in store.glob("raw/failures/*.jsonl") for row in p.read_text().splitlines()]
    return {
        "site": site, "result": result, "documents": documents, "failures": failures, "store": store,
        "profiles": profiles, "seconds": seconds, "stderr": proc.stderr,
    }


def _docs(crawl: dict[str, Any], source: str) -> dict[str, RawDocument]:
    return {d.url.rsplit("/", 1)[1].removesuffix(".html"): d for d in crawl["documents"] if d.source == source}


@pytest.mark.integration
@pytest.mark.browser
def test_javascript_bodies_are_rendered_extracted_and_stored(crawl):
    docs = _docs(crawl, "jsnews")
    assert set(docs) == {*JS_SLUGS, "landed"}  # a script's redirect is followed; a 404 stays a 404
    for slug, doc in docs.items():
        assert doc.title == f"星辰科技发布端侧AI芯片 {slug}"
        assert paragraphs(slug)[0] in doc.text and paragraphs(slug)[1] in doc.text
        assert doc.id == doc_id(f"{crawl['site'].url}/jsnews/2026/1112/{slug}.html")
        stored_html = (crawl["store"] / doc.html_key).read_text(encoding="utf-8")
        assert 'data-loaded="true"' in stored_html  # the rendered DOM is what is kept, not the shell
    stats = crawl["result"]["stats"]["jsnews"]
    assert stats["render/pages"] == len(JS_SLUGS) + len(EXTRA_SLUGS)
    assert stats["downloader/response_status_count/404"] == 1  # the page's own status, not Chromium's 200
    assert "render/timeouts" not in stats  # an error page is not waited on
    # Only articles go through the browser: list pages and robots.txt are Scrapy downloads.
    rendered = crawl["result"]["chosen_ua"]
    assert all("/2026/1112/" in url for url in rendered)
    assert stats["downloader/response_count"] > stats["render/pages"]


@pytest.mark.integration
@pytest.mark.browser
def test_the_user_agent_chosen_for_a_request_is_the_one_the_server_sees(crawl):
    seen = crawl["site"].seen
    chosen = {url.split("/", 3)[3]: ua for url, ua in crawl["result"]["chosen_ua"].items() if "/jsnews/" in url}
    assert len(chosen) == len(JS_SLUGS) + len(EXTRA_SLUGS)
    for path, ua in chosen.items():
        assert ua in USER_AGENTS
        # The page itself and the request its script makes both carry the chosen UA.
        assert {u for p, u in seen if p == f"/{path}"} == {ua}
        slug = path.rsplit("/", 1)[1].removesuffix(".html")
        slug = EXTRA_SLUGS.get(slug, slug)  # where the page's script went on to
        if slug is not None and slug != "kill-me":  # (the killed driver's orphaned browser ran kill-me's script)
            assert {u for p, u in seen if p == f"/api/jsnews/{slug}.json"} == {ua}
    # Chromium is started with a chosen UA too, so even a browser that lost its driver never says Headless.
    assert not any("Headless" in ua for _, ua in seen)
    assert {ua for p, ua in seen if p.startswith(("/jsnews/", "/api/jsnews/"))} <= set(USER_AGENTS)


@pytest.mark.integration
@pytest.mark.browser
def test_a_killed_driver_is_replaced_and_the_crawl_goes_on(crawl):
    assert len(crawl["site"].killed) == 1
    stats = crawl["result"]["stats"]["jsnews"]
    assert stats["render/driver_restarts"] == 1
    assert "render/failed" not in stats
    assert "kill-me" in _docs(crawl, "jsnews")  # retried on the new driver
    # Every Chromium and chromedriver, the killed one's orphans included, is gone, with its profile.
    assert _leftover_processes(str(crawl["profiles"])) == []
    assert list(crawl["profiles"].glob("yuqing-render-*")) == []


@pytest.mark.integration
@pytest.mark.browser
def test_a_source_without_render_never_starts_the_browser(crawl):
    result = crawl["result"]
    assert "ChromiumRenderMiddleware" not in result["middlewares"]["plain"]
    assert "ChromiumRenderMiddleware" in result["middlewares"]["jsnews"]
    assert not [k for k in result["stats"]["plain"] if k.startswith("render/")]
    assert not [url for url in result["chosen_ua"] if "/plain/" in url]
    assert not [p for p, _ in crawl["site"].seen if p.startswith("/api/plain/")]  # no script ever ran
    assert set(_docs(crawl, "plain")) == {"static-two"}
    [failure] = [f for f in crawl["failures"] if "/plain/" in f["url"]]
    assert failure["url"].endswith("/js-shell.html") and "render: true" in failure["reason"]


@pytest.mark.integration
@pytest.mark.browser
def test_a_wait_for_that_never_matches_gives_the_page_after_the_wait_and_is_counted(crawl):
    stats = crawl["result"]["stats"]["slow"]
    assert stats["render/pages"] == 1 and stats["render/timeouts"] == 1
    assert WAIT_S <= stats["render/seconds"] < WAIT_S + 15  # the wait, not a hang; slack for a loaded machine
    assert set(_docs(crawl, "slow")) == {"static-one"}  # the page was still read and extracted
    assert "did not appear" in crawl["stderr"]


def test_render_is_off_for_sources_that_do_not_ask_for_it():
    with pytest.raises(NotConfigured):
        ChromiumRenderMiddleware.from_crawler(get_crawler(settings_dict={"YQ_RENDER": False}))


def test_a_missing_browser_turns_rendering_off_with_the_install_command(tmp_path):
    crawler = get_crawler(settings_dict={"YQ_RENDER": True, "YQ_SOURCE": "js", "YQ_CHROMIUM_PATH": str(tmp_path / "nope")})
    with pytest.raises(NotConfigured, match="apt-get install -y chromium chromium-driver"):
        ChromiumRenderMiddleware.from_crawler(crawler)


def test_wait_for_is_checked_when_sources_load():
    base = {"name": "x", "start": [{"url": "http://x/"}], "article_patterns": ["/a/"]}
    assert Source.model_validate({**base, "render": True, "wait_for": "#main[data-loaded]"}).wait_for
    with pytest.raises(ValueError, match="set render: true"):
        Source.model_validate({**base, "wait_for": "#main"})
    with pytest.raises(ValueError, match="not a valid CSS selector"):
        Source.model_validate({**base, "render": True, "wait_for": "#main[["})
