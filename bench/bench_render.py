"""JavaScript rendering: seconds per page after warm-up, and the reactor serving static pages meanwhile.

    python bench/bench_render.py [--js 40] [--static 800] [--pool 2] [--rounds 1]

The site (a threaded HTTP server in this process, on 127.0.0.1): ``--js`` articles whose body a
script fetches from a JSON API and inserts (the source waits for ``#body[data-loaded]``), and
``--static`` plain articles behind paginated list pages (20 links a page).

Each crawl runs ``crawlers.run.run_crawl`` in its own process (Scrapy's reactor starts once per
process) with two sources on the same site, crawled at the same time:

    js       render: true, ``--pool`` headless Chromium drivers
    static   render: false

in two modes:

    threaded   the middleware as shipped: Selenium calls on the pool's threads
    blocking   the same, but each Selenium call made on the reactor thread (what the middleware
               avoids; here only for contrast)

and each source alone (``render-only``: render time without a crawl competing for the two cores;
``static-only``: the static rate undisturbed).

Reported per mode: render seconds per page after warm-up (the pool's throughput once every driver
has rendered its first page; and the per-driver render time from ``render/seconds``), static pages
answered per second while renders are in flight and the longest gap between two static
responses in that window, and the event loop's lag (a 10 ms timer on the reactor's loop).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PER_PAGE = 20
PARAGRAPHS = [
    "星辰科技今日发布新一代端侧人工智能芯片，能效比上一代提升百分之四十，首批产品将于明年一季度交付。",
    "公司表示，新芯片采用自研架构，已与多家手机厂商达成合作意向，市场反应积极，股价盘中上涨逾百分之五。",
    "业内人士认为，端侧算力竞争日趋激烈，国产芯片厂商需要在生态建设和软件工具链方面持续投入。",
]
JS_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/static/site.css"></head><body><h1>{title}</h1><p class="date">2026年11月12日 09:30</p>
<div id="body" data-api="/api/js/{i}.json"><p>正文加载中……</p></div>
<script>
var box = document.getElementById("body");
fetch(box.getAttribute("data-api")).then(function (r) { return r.json(); }).then(function (d) {
  box.innerHTML = "";
  d.paragraphs.forEach(function (t) { var p = document.createElement("p"); p.textContent = t; box.appendChild(p); });
  box.setAttribute("data-loaded", "true");
});
</script></body></html>"""
STATIC_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head><body>
<h1>{title}</h1><p class="date">2026年11月12日 09:30</p><div class="body">{body}</div></body></html>"""
SOURCES = """sources:
  - name: js
    start: [{{url: "{base}/js/index.html", kind: list}}]
    article_patterns: ['/js/\\d+\\.html$']
    render: true
    wait_for: "#body[data-loaded]"
  - name: static
    start: [{{url: "{base}/static/list/1.html", kind: list}}]
    article_patterns: ['/static/\\d+\\.html$']
    max_list_pages: 1000
"""


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, js: int, static: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.js, self.static = js, static

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Site
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body, ctype = self._route(self.path.split("?", 1)[0])
        data = (body or "not found").encode("utf-8")
        self.send_response(HTTPStatus.OK if body is not None else HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, path: str) -> tuple[str | None, str]:
        html = "text/html; charset=utf-8"
        site = self.server
        if path == "/robots.txt":
            return "User-agent: *\nDisallow: /private/\n", "text/plain"
        if path == "/static/site.css":
            return "body{font:14px serif}", "text/css"
        if path == "/js/index.html":
            return "".join(f'<a href="/js/{i}.html">{i}</a>' for i in range(site.js)), html
        if m := re.fullmatch(r"/static/list/(\d+)\.html", path):
            page = int(m[1])
            first = (page - 1) * PER_PAGE
            links = "".join(f'<a href="/static/{i}.html">{i}</a>' for i in range(first, min(first + PER_PAGE, site.static)))
            more = f'<a rel="next" href="/static/list/{page + 1}.html">next</a>' if first + PER_PAGE < site.static else ""
            return f"<html><body>{links}{more}</body></html>", html
        if m := re.fullmatch(r"/(js|static)/(\d+)\.html", path):
            title = f"星辰科技发布端侧AI芯片（{m[1]} {m[2]}）"
            if m[1] == "js":
                return JS_PAGE.replace("{title}", title).replace("{i}", m[2]), html
            return STATIC_PAGE.format(title=title, body="".join(f"<p>{p}</p>" for p in PARAGRAPHS)), html
        if m := re.fullmatch(r"/api/js/(\d+)\.json", path):
            return json.dumps({"paragraphs": [f"（第{m[1]}篇）{p}" for p in PARAGRAPHS]}, ensure_ascii=False), "application/json"
        return None, html


# ───────────────────────────── one crawl, in a child process ─────────────────────────────


def child(mode: str, base: str, pool: int, out: Path) -> None:
    import asyncio
    import time

    from pydispatch import dispatcher
    from scrapy import signals

    from crawlers.rendering import ChromiumRenderMiddleware
    from crawlers.run import run_crawl
    from crawlers.sources import load_sources
    from yuqing.settings import configure
    from yuqing.storage import open_store

    if mode == "blocking":
        async def on_reactor_thread(self: Any, fn: Any, *args: Any) -> Any:
            return fn(*args)

        ChromiumRenderMiddleware._call = on_reactor_thread  # type: ignore[method-assign]

    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    sources_file = work / "sources.yaml"
    sources_file.write_text(SOURCES.format(base=base), encoding="utf-8")
    settings = configure(data_dir=work / "data", crawl={"render_pool_size": pool})
    sources = load_sources(sources_file)
    alone = {"static-only": "static", "render-only": "js"}.get(mode)
    if alone:
        sources = [s for s in sources if s.name == alone]

    t0 = time.perf_counter()
    events: list[tuple[float, str, bool]] = []
    render_started: list[float] = []
    render_seconds: list[float] = []
    lags: list[tuple[float, float]] = []
    stats: dict[str, dict[str, Any]] = {}
    probe: dict[str, Any] = {}

    def received(response: Any, request: Any, spider: Any) -> None:
        events.append((time.perf_counter() - t0, spider.name, "rendered" in response.flags))
        if "rendered" in response.flags:
            render_seconds.append(response.meta["render_seconds"])

    process_request = ChromiumRenderMiddleware.process_request

    async def timed_process_request(self: Any, request: Any, spider: Any = None) -> Any:
        if self.wants_render(request):
            render_started.append(time.perf_counter() - t0)
        return await process_request(self, request, spider)

    ChromiumRenderMiddleware.process_request = timed_process_request  # type: ignore[method-assign]

    async def tick() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - t0, loop.time() - before - 0.01))

    def started() -> None:
        if "task" not in probe:
            probe["task"] = asyncio.ensure_future(tick())

    def closed(spider: Any, reason: str) -> None:
        stats[spider.name] = {k: v for k, v in spider.crawler.stats.get_stats().items() if isinstance(v, (int, float))}

    dispatcher.connect(received, signal=signals.response_received)
    dispatcher.connect(started, signal=signals.engine_started)
    dispatcher.connect(closed, signal=signals.spider_closed)
    report = run_crawl(settings, sources, open_store(settings))
    out.write_text(json.dumps({
        "mode": mode, "seconds": report.seconds, "events": events, "lags": lags, "stats": stats,
        "render_started": render_started, "render_seconds": render_seconds,
        "articles": {s.source: s.articles for s in report.sources},
    }))


# ───────────────────────────── figures ─────────────────────────────


def figures(run: dict[str, Any], pool: int) -> dict[str, Any]:
    rendered = sorted(t for t, _, r in run["events"] if r)
    static = sorted(t for t, name, _ in run["events"] if name == "static")
    result: dict[str, Any] = {"seconds": run["seconds"], "articles": run["articles"]}
    if len(static) > 1:
        result["static_rate"] = len(static) / (static[-1] - static[0])
    if rendered:
        js = run["stats"].get("js", {})
        warm = rendered[pool - 1 :]  # once every driver has finished its first (cold) page
        result["render_s_per_page_warm"] = (warm[-1] - warm[0]) / (len(warm) - 1) if len(warm) > 1 else float("nan")
        per_page = run["render_seconds"][pool:]  # each driver's first page warms its browser up
        result["render_s_per_page_driver"] = statistics.median(per_page) if per_page else float("nan")
        result["render_pages"] = js.get("render/pages", 0)
        result["first_render_at"] = rendered[0]
        # Renders are in flight from the first JS article reaching the downloader to the last rendered response.
        start, end = min(run["render_started"]), rendered[-1]
    elif len(static) > 1:
        start, end = static[0], static[-1]  # static alone: the whole crawl, for the loop-lag baseline
    else:
        return result
    result["window_s"] = end - start
    inside = [t for t in static if start <= t <= end]
    if static and static[-1] >= end:  # the static crawl outlasted the renders: its rate in the window is meaningful
        result["static_in_window"] = len(inside)
        result["static_rate_in_window"] = len(inside) / (end - start) if end > start else float("nan")
        gaps = [b - a for a, b in zip([start, *inside], [*inside, end], strict=True)]
        result["static_max_gap_s"] = max(gaps)
    lag = sorted(v for t, v in run["lags"] if start <= t <= end + 1)
    if lag:
        result["loop_lag_p50_ms"] = 1000 * statistics.median(lag)
        result["loop_lag_p99_ms"] = 1000 * lag[min(len(lag) - 1, int(0.99 * len(lag)))]
        result["loop_lag_max_ms"] = 1000 * lag[-1]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--js", type=int, default=40, help="JavaScript articles")
    parser.add_argument("--static", type=int, default=800, help="static articles")
    parser.add_argument("--pool", type=int, default=2, help="Chromium drivers")
    parser.add_argument("--modes", default="render-only,threaded,blocking,static-only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.base, args.pool, Path(args.out))
        return

    site = Site(args.js, args.static)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            out = Path(tmp) / f"{mode}.json"
            proc = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--base", site.url, "--pool", str(args.pool), "--out", str(out)],
                capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parent.parent,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
            )
            if proc.returncode != 0:
                sys.exit(f"{mode} crawl failed:\n{proc.stderr[-4000:]}")
            results[mode] = figures(json.loads(out.read_text()), args.pool)
    site.shutdown()

    w = sys.stdout.write
    w(f"site: {args.js} JS articles (script-inserted body), {args.static} static articles; {args.pool} Chromium drivers; {os.cpu_count()} CPUs\n\n")
    w(f"{'':36}" + "".join(f"{m:>13}" for m in results) + "\n")
    rows = [
        ("crawl wall time (s)", "seconds", "{:.2f}"),
        ("render s/page, pool after warm-up", "render_s_per_page_warm", "{:.3f}"),
        ("render s/page, one driver (median)", "render_s_per_page_driver", "{:.3f}"),
        ("first rendered page at (s)", "first_render_at", "{:.2f}"),
        ("render window (s)", "window_s", "{:.2f}"),
        ("static pages in render window", "static_in_window", "{}"),
        ("static pages/s in render window", "static_rate_in_window", "{:.1f}"),
        ("static pages/s, whole crawl", "static_rate", "{:.1f}"),
        ("longest static gap in window (s)", "static_max_gap_s", "{:.3f}"),
        ("loop lag p50 (ms)", "loop_lag_p50_ms", "{:.1f}"),
        ("loop lag p99 (ms)", "loop_lag_p99_ms", "{:.1f}"),
        ("loop lag max (ms)", "loop_lag_max_ms", "{:.1f}"),
    ]
    for label, key, fmt in rows:
        cells = "".join(f"{fmt.format(r[key]) if key in r else '-':>13}" for r in results.values())
        w(f"{label:36}{cells}\n")
    t = results.get("threaded", {})
    if "static_rate_in_window" in t and "static_rate" in results.get("static-only", {}):
        w(f"\nstatic pages/s while rendering / static alone: {t['static_rate_in_window'] / results['static-only']['static_rate']:.2f}")
    if "static_max_gap_s" in t and "static_max_gap_s" in results.get("blocking", {}):
        b = results["blocking"]
        w(f"\nlongest wait for a static page while rendering: threaded {t['static_max_gap_s']:.2f} s,"
          f" blocking {b['static_max_gap_s']:.2f} s ({b['static_max_gap_s'] / t['static_max_gap_s']:.0f}x)")
    w("\n")
    w(f"articles stored: { {m: r['articles'] for m, r in results.items()} }\n")


if __name__ == "__main__":
    main()
