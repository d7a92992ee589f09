"""Crawl throughput on a loopback news site: bare Scrapy vs. Yuqing's spider, in the same run.

    python bench/bench_crawl.py [--articles 2040] [--rounds 3] [--profile] [--baseline DIR]

The site: ``--articles`` Chinese news articles (paragraphs drawn from the demo site's
articles, 3-6 KB of text each, in two portal layouts with navigation, sidebars, related
links, comment boxes, scripts and footers; half carry their date in <meta>, half only in
the visible byline) behind paginated list pages (30 links a page, ``rel=next``). It is
rendered once into memory and served by a small asyncio HTTP/1.1 server with keep-alive in
this process; its own ceiling is measured first and its CPU time is reported per crawl, so
it is known not to be the bottleneck.

The crawls, each in its own process (Scrapy's reactor starts once per process), run in
rotating order for ``--rounds`` rounds so machine noise hits them alike:

    bare      a minimal spider that follows the same list pages and fetches the same
              articles (title only, no extraction), Scrapy's default settings except
              CONCURRENT_REQUESTS_PER_DOMAIN = 8 like ours
    bare+mw   the same spider with Yuqing's RandomUserAgentMiddleware, ObjectStoreDupeFilter
              and its CanonicalUrlFingerprinter switched on (the middleware-only overhead)
    yuqing    crawlers.run.run_crawl: NewsSpider with production settings (robots.txt, UA,
              retries and ban detection, dedup, extraction, media and document pipelines)
              into a fresh local store
    baseline  with ``--baseline DIR``: the yuqing crawl with the code in DIR (a checkout of
              another commit), for before/after figures from one run

Pages/s counts every response (robots.txt, list pages and articles) over the time from
creating the CrawlerProcess to the end of the crawl. Reported: the median of the rounds per
crawl, the median of the per-round ratios, and CPU milliseconds per page in the crawler's
process and in its extraction workers (crawlers.extract.ExtractionPool). On a shared machine
pages/s follows the CPU share the crawls get; the crawler-process CPU ratio is what the
pages/s ratio approaches when a core is free for the extraction worker. ``--profile`` also
runs the yuqing crawl once under cProfile and prints where its main thread spends time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

PER_PAGE = 30  # list pages stay within crawl.depth_limit (100) for the default site size
VARIANTS = ("bare", "bare+mw", "yuqing", "baseline")

# ───────────────────────────── the site ─────────────────────────────

_STYLE = """<style type="text/css">
body{margin:0;font:14px/1.8 "SimSun","宋体",serif;color:#333}a{color:#036;text-decoration:none}
.w1000{width:1000px;margin:0 auto}.fl{float:left}.fr{float:right}#topbar{background:#f2f2f2;height:28px}
#masthead{background:#b30000;height:80px}#nav{background:#8c0000;height:36px}#nav a{color:#fff;margin:0 14px}
.col-left{float:left;width:680px}.col-right{float:right;width:290px}.clearfix{clear:both}
h1{font:bold 28px/1.5 "Microsoft YaHei",sans-serif;text-align:center}.info{color:#999;font-size:12px}
.content p{text-indent:2em;margin:14px 0}.content p.editor{text-align:right;color:#999}
#footer{background:#f2f2f2;padding:16px 0;text-align:center;font-size:12px;color:#777}
ul.list li{border-bottom:1px dashed #ddd;list-style:none;padding:6px 0}.page a{border:1px solid #ccc;padding:2px 8px}
</style>"""
_SCRIPT = (
    "<script>var _hmt=_hmt||[];(function(){var hm=document.createElement('script');hm.src='/stat.js?id=8f2c';"
    "var s=document.getElementsByTagName('script')[0];s.parentNode.insertBefore(hm,s);})();</script>"
)
_CHANNELS = ["首页", "时政", "国际", "财经", "产经", "科技", "汽车", "房产", "社会", "法治", "文化", "教育", "健康", "体育", "评论", "图片", "视频"]


def _chrome_top() -> str:
    nav = "".join(f'<a href="/channel/{i}/">{name}</a>' for i, name in enumerate(_CHANNELS))
    return (
        '<div id="topbar"><div class="w1000"><span class="fl">欢迎访问星海新闻网</span><span class="fr">'
        '<a href="/">网站导航</a> | <a href="/feeds/news.xml">RSS订阅</a> | <a href="/app/">客户端下载</a></span></div></div>'
        '<div id="masthead"><div class="w1000"><a class="logo" href="/">星海新闻网</a><span class="slogan">权威 · 客观 · 及时</span>'
        '<form action="/search/"><input name="q" placeholder="搜索新闻"/><button>搜索</button></form></div></div>'
        f'<div id="nav"><div class="w1000">{nav}</div></div>'
    )


_FOOTER = (
    '<div id="footer"><div class="w1000"><p><a href="/about/">关于我们</a> | <a href="/contact/">联系我们</a> | '
    '<a href="/ads/">广告服务</a> | <a href="/jobs/">招聘信息</a> | <a href="/sitemap/">网站地图</a></p>'
    "<p>星海新闻网版权所有，未经书面授权禁止转载 · 互联网新闻信息服务许可证 10120170000 · 演示用途，内容均为虚构</p>"
    "<p>违法和不良信息举报电话：010-00000000 举报邮箱：jubao@example.cn</p></div></div>"
)


def _paragraph_pool() -> list[str]:
    from yuqing.demo_site.catalog import load_articles

    return [p for a in load_articles() if a.language != "en" for p in a.paragraphs]


def _titles_pool() -> list[str]:
    from yuqing.demo_site.catalog import load_articles

    return [a.title for a in load_articles() if a.language != "en"]


def article_path(i: int) -> str:
    day = datetime(2026, 11, 1) + timedelta(days=i % 28)
    return f"/news/{day:%Y}/{day:%m%d}/{i:06d}.html"


def _article_html(i: int, rng: random.Random, paragraphs: list[str], titles: list[str], related: list[int]) -> str:
    title = f"{rng.choice(titles)}（{i}）"
    published = datetime(2026, 11, 1, 8) + timedelta(days=i % 28, minutes=7 * i % 600)
    author = rng.choice(["本报记者 周晓明", "记者 李娜", "特约评论员 王强", "见习记者 陈晨"])
    body: list[str] = []
    chars = rng.randint(1000, 2000)  # 3-6 KB of UTF-8 text
    while sum(map(len, body)) < chars:
        body.append(rng.choice(paragraphs))
    paras = "".join(f"<p>{escape(p)}</p>\n" for p in body)
    links = "".join(f'<li><a href="{article_path(r)}">{escape(titles[r % len(titles)])}</a></li>' for r in related)
    hot = "".join(f'<li><a href="{article_path(r)}">{escape(titles[(r * 7) % len(titles)])}</a></li>' for r in related[:5])
    if i % 2 == 0:
        # A portal with full metadata in <head>.
        head = (
            f'<meta name="author" content="{author}"/><meta property="og:title" content="{escape(title)}"/>'
            f'<meta property="og:type" content="article"/><meta property="article:published_time" content="{published.isoformat()}+08:00"/>'
            f'<link rel="canonical" href="{article_path(i)}"/>'
        )
        info = f'<div class="info">{published:%Y年%m月%d日 %H:%M}&nbsp;来源：星海新闻网&nbsp;<span class="author">作者：{author}</span></div>'
    else:
        # An older layout: no metadata, the date only in the visible byline.
        head = ""
        info = f'<div class="info"><span class="time">{published:%Y-%m-%d %H:%M:%S}</span> 来源：星海新闻网 编辑：{author}</div>'
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"/>'
        f"<title>{escape(title)}_星海新闻网</title>"
        '<meta name="keywords" content="星海新闻网,新闻"/>'
        f'<meta name="description" content="{escape(body[0][:60])}"/>{head}{_STYLE}{_SCRIPT}</head><body>'
        f'{_chrome_top()}<div class="w1000"><div class="path">当前位置：<a href="/">首页</a>&gt;&gt;<a href="/channel/3/">财经</a>&gt;&gt;正文</div>'
        f'<div class="col-left"><h1>{escape(title)}</h1>{info}'
        f'<div class="content">\n<p class="source">原标题：{escape(title)}</p>\n{paras}<p class="editor">（责任编辑：张三）</p></div>'
        '<div class="share">分享到：<a href="javascript:;">微信</a> <a href="javascript:;">微博</a> <a href="javascript:;">QQ空间</a></div>'
        f'<div class="relate"><h3>相关新闻</h3><ul class="list">{links}</ul></div>'
        '<div class="comment"><h3>网友评论</h3><p>已有0人参与评论</p><textarea></textarea><button>发表评论</button></div></div>'
        f'<div class="col-right"><h3>热点排行</h3><ol>{hot}</ol><h3>图片新闻</h3><p><a href="/photo/1.html">图片新闻</a></p></div>'
        f'<div class="clearfix"></div></div>{_FOOTER}{_SCRIPT}</body></html>'
    )


def _list_html(page: int, pages: int, articles: int, titles: list[str]) -> str:
    items = "".join(
        f'<li><span class="date">[11-{1 + i % 28:02d}]</span><a href="{article_path(i)}" target="_blank">'
        f"{escape(titles[i % len(titles)])}</a></li>"
        for i in range((page - 1) * PER_PAGE, min(articles, page * PER_PAGE))
    )
    prev = f'<a rel="prev" href="/news/list-{page - 1}.html">上一页</a>' if page > 1 else ""
    nums = "".join(f'<a href="/news/list-{n}.html">{n}</a>' for n in range(max(1, page - 4), min(pages, page + 4) + 1))
    nxt = f'<a class="next" rel="next" href="/news/list-{page + 1}.html">下一页</a>' if page < pages else ""
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"/><title>滚动新闻（第{page}页）_星海新闻网</title>{_STYLE}</head>'
        f'<body>{_chrome_top()}<div class="w1000"><div class="col-left"><h2>滚动新闻</h2><ul class="list">{items}</ul>'
        f'<div class="page">{prev}{nums}{nxt}</div></div></div>{_FOOTER}</body></html>'
    )


def build_site(articles: int, seed: int = 7) -> dict[bytes, bytes]:
    """Path -> full HTTP response (headers and body), rendered once."""
    rng = random.Random(seed)
    paragraphs, titles = _paragraph_pool(), _titles_pool()
    pages = (articles + PER_PAGE - 1) // PER_PAGE
    bodies: dict[str, tuple[str, bytes]] = {"/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private/\n")}
    for page in range(1, pages + 1):
        bodies[f"/news/list-{page}.html"] = ("text/html; charset=utf-8", _list_html(page, pages, articles, titles).encode())
    for i in range(articles):
        related = [rng.randrange(articles) for _ in range(8)]
        bodies[article_path(i)] = ("text/html; charset=utf-8", _article_html(i, rng, paragraphs, titles, related).encode())
    return {
        path.encode(): b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n%s"
        % (ctype.encode(), len(body), body)
        for path, (ctype, body) in bodies.items()
    }


_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: keep-alive\r\n\r\nnot found"


class _Http(asyncio.Protocol):
    """Just enough HTTP/1.1 for a crawler: GET/HEAD, keep-alive, responses prebuilt."""

    def __init__(self, responses: dict[bytes, bytes]) -> None:
        self.responses = responses
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            method, target, _ = head.split(b"\r\n", 1)[0].split(b" ", 2)
            response = self.responses.get(target.split(b"?", 1)[0], _NOT_FOUND)
            self.transport.write(response[: response.index(b"\r\n\r\n") + 4] if method == b"HEAD" else response)


class Site:
    """The site on 127.0.0.1:<free port>, served from a thread of this process."""

    def __init__(self, responses: dict[bytes, bytes]) -> None:
        self.responses = responses
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            self.loop.create_server(lambda: _Http(self.responses), "127.0.0.1", 0, backlog=256)
        )
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


# ───────────────────────────── the crawls (run in a child process) ─────────────────────────────


def _bare_spider() -> type:
    import scrapy

    class Bare(scrapy.Spider):
        name = "bare"

        def __init__(self, base: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.start_urls = [f"{base}/news/list-1.html"]

        def parse(self, response: Any) -> Iterator[Any]:
            for href in response.css("ul.list a::attr(href)").getall():
                yield response.follow(href, callback=self.parse_article)
            next_href = response.css("a[rel=next]::attr(href)").get()
            if next_href:
                yield response.follow(next_href, callback=self.parse)

        def parse_article(self, response: Any) -> Iterator[dict[str, str | None]]:
            yield {"title": response.css("h1::text").get()}

    return Bare


def _run_bare(base: str, data: Path, middlewares: bool) -> dict[str, Any]:
    from scrapy.crawler import CrawlerProcess

    settings: dict[str, Any] = {
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    }
    if middlewares:
        from crawlers import settings as ours
        from yuqing.storage import LocalStore

        settings.update(
            DOWNLOADER_MIDDLEWARES={
                "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
                "crawlers.middlewares.RandomUserAgentMiddleware": ours.DOWNLOADER_MIDDLEWARES["crawlers.middlewares.RandomUserAgentMiddleware"],
            },
            DUPEFILTER_CLASS=ours.DUPEFILTER_CLASS,
            REQUEST_FINGERPRINTER_CLASS=ours.REQUEST_FINGERPRINTER_CLASS,
            YQ_OBJECT_STORE=LocalStore(data / "store"),
            YQ_SOURCE="bench",
            YQ_RUN_ID="bench",
        )
    t0 = time.perf_counter()
    process = CrawlerProcess({**settings, "LOG_INSTALL_ROOT_HANDLER": False})
    crawler = process.create_crawler(_bare_spider())
    process.crawl(crawler, base=base)
    process.start()
    stats = crawler.stats.get_stats()
    return {"seconds": time.perf_counter() - t0, "pages": stats.get("response_received_count", 0),
            "articles": stats.get("item_scraped_count", 0), "failed": 0}


def _run_yuqing(base: str, data: Path) -> dict[str, Any]:
    from crawlers.run import run_crawl
    from crawlers.sources import Source
    from yuqing.settings import Settings
    from yuqing.storage import open_store

    settings = Settings(data_dir=data)
    source = Source.model_validate(
        {"name": "bench", "start": [{"url": f"{base}/news/list-1.html"}], "article_patterns": [r"/news/\d{4}/\d{4}/\d+\.html$"],
         "max_list_pages": 10_000}
    )
    report = run_crawl(settings, [source], open_store(settings))
    [s] = report.sources
    stored = sum(1 for path in (data / "store/raw/docs").rglob("*.jsonl") for _ in path.open(encoding="utf-8"))
    return {"seconds": report.seconds, "pages": s.pages, "articles": stored, "failed": s.failed}


def worker(variant: str, base: str, data: Path, profile: Path | None) -> None:
    def crawl() -> dict[str, Any]:
        if variant in ("yuqing", "baseline"):  # the baseline's code comes first on PYTHONPATH
            return _run_yuqing(base, data)
        return _run_bare(base, data, middlewares=variant == "bare+mw")

    before = resource.getrusage(resource.RUSAGE_SELF)
    if profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(crawl)
        profiler.dump_stats(profile)
    else:
        result = crawl()
    after = resource.getrusage(resource.RUSAGE_SELF)
    result["main_cpu_s"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result["process_cpu_s"] = after.ru_utime + after.ru_stime  # with start-up; the rest of cpu_s is extraction workers
    print(json.dumps(result))


# ───────────────────────────── the driver ─────────────────────────────


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_variant(variant: str, base: str, tmp: Path, profile: Path | None = None, baseline: Path | None = None) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(dir=tmp, prefix=variant.replace("+", "-") + "-"))
    cmd = [sys.executable, __file__, "--worker", variant, "--base", base, "--data", str(data)]
    if profile:
        cmd += ["--profile-to", str(profile)]
    env = None
    if variant == "baseline":
        assert baseline is not None
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(baseline), os.environ.get("PYTHONPATH")]))}
    server0, children0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    server_cpu, crawl_cpu = _cpu(resource.RUSAGE_SELF) - server0, _cpu(resource.RUSAGE_CHILDREN) - children0
    if done.returncode != 0:
        raise SystemExit(f"{variant} crawl failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["pages"] or result["failed"]:
        raise SystemExit(f"{variant} crawl fetched {result['pages']} pages, {result['failed']} failed:\n{done.stderr[-3000:]}")
    # This process only serves the site meanwhile; the crawl's process reaps its extraction workers.
    result["server_cpu_s"], result["cpu_s"] = server_cpu, crawl_cpu
    return result


async def _hammer(base: str, paths: list[bytes], connections: int) -> None:
    host, port = base.removeprefix("http://").split(":")
    queue = list(paths)

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while queue:
            writer.write(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % queue.pop())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
        writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))


def server_ceiling(site: Site, requests: int = 4000) -> tuple[float, float]:
    """Requests/s of the server with 8 keep-alive connections, and its CPU ms per request."""
    paths = [p for p in site.responses if p.startswith(b"/news/2")]
    paths = (paths * (requests // len(paths) + 1))[:requests]
    script = (
        "import asyncio, sys, json; sys.path.insert(0, sys.argv[1]); from bench_crawl import _hammer; "
        "asyncio.run(_hammer(sys.argv[2], [p.encode() for p in json.loads(sys.stdin.read())], 8))"
    )
    cpu0, t0 = _cpu(resource.RUSAGE_SELF), time.perf_counter()
    subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent), site.url],
                   input=json.dumps([p.decode() for p in paths]), text=True, check=True)
    seconds, cpu = time.perf_counter() - t0, _cpu(resource.RUSAGE_SELF) - cpu0
    return requests / seconds, 1000 * cpu / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2040)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=VARIANTS, action="append", help="run only these crawls (repeatable)")
    parser.add_argument("--profile", action="store_true", help="also profile one yuqing crawl")
    parser.add_argument("--baseline", type=Path, help="also crawl with the Yuqing code in this directory (a checkout of "
                        "another commit, e.g. from 'git worktree add'), as the 'baseline' crawl: before/after in one run")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.base, args.data, args.profile_to)
        return

    t0 = time.perf_counter()
    responses = build_site(args.articles)
    sizes = [len(r) for p, r in responses.items() if p.startswith(b"/news/2")]
    site = Site(responses)
    variants = args.only or [v for v in VARIANTS if v != "baseline" or args.baseline]
    if "baseline" in variants and not args.baseline:
        parser.error("--only baseline needs --baseline DIR")
    print(f"site: {args.articles} articles + {(args.articles + PER_PAGE - 1) // PER_PAGE} list pages, "
          f"article pages {min(sizes) // 1024}-{max(sizes) // 1024} KB (built in {time.perf_counter() - t0:.1f}s)")
    ceiling, server_ms = server_ceiling(site)
    print(f"server ceiling: {ceiling:.0f} requests/s with 8 keep-alive connections, {server_ms:.2f} ms server CPU per request")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the crawls")
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
        for round_ in range(args.rounds):
            order = variants[round_ % len(variants):] + variants[: round_ % len(variants)]
            for variant in order:
                r = run_variant(variant, site.url, Path(tmp), baseline=args.baseline)
                results[variant].append(r)
                print(f"  round {round_ + 1} {variant:8s} {r['pages'] / r['seconds']:6.1f} pages/s  "
                      f"({r['pages']} pages, {r['articles']} articles, {r['seconds']:.1f}s; CPU ms/page: "
                      f"crawler {1000 * r['main_cpu_s'] / r['pages']:.1f}, extraction workers "
                      f"{1000 * (r['cpu_s'] - r['process_cpu_s']) / r['pages']:.1f}, server {1000 * r['server_cpu_s'] / r['pages']:.2f})",
                      flush=True)
        if args.profile:
            profile = Path(tmp) / "yuqing.prof"
            run_variant("yuqing", site.url, Path(tmp), profile)
            print("\nprofile of one yuqing crawl (main thread), by own time:")
            pstats.Stats(str(profile)).sort_stats("tottime").print_stats(25)
            print("by cumulative time:")
            pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(35)
    site.close()

    def rate(r: dict[str, Any]) -> float:
        return r["pages"] / r["seconds"]

    print(f"\nmedian of {args.rounds} rounds (pages/s counts robots.txt, list pages and articles):")
    for variant in variants:
        rates = [rate(r) for r in results[variant]]
        main = statistics.median(1000 * r["main_cpu_s"] / r["pages"] for r in results[variant])
        workers = statistics.median(1000 * (r["cpu_s"] - r["process_cpu_s"]) / r["pages"] for r in results[variant])
        print(f"  {variant:8s} {statistics.median(rates):6.1f} pages/s  (min {min(rates):.1f}, max {max(rates):.1f}; "
              f"CPU ms/page: crawler process {main:.1f}, extraction workers {workers:.1f})")

    def ratio(a: str, b: str) -> float:
        return statistics.median(rate(x) / rate(y) for x, y in zip(results[a], results[b]))

    def cpu_ratio(a: str, b: str) -> float:
        return statistics.median(y["main_cpu_s"] / y["pages"] for y in results[b]) / statistics.median(
            x["main_cpu_s"] / x["pages"] for x in results[a]
        )

    print(f"load average after the crawls: {os.getloadavg()[0]:.1f}")
    if {"bare", "yuqing"} <= set(variants):
        yuqing = statistics.median(rate(r) for r in results["yuqing"])
        met = ratio("yuqing", "bare") >= 0.85 and yuqing >= 150
        print(f"ratio yuqing / bare:   {ratio('yuqing', 'bare'):.2f}  ({yuqing:.0f} pages/s; target >= 0.85 and >= 150 pages/s: "
              f"{'met' if met else 'not met'}); crawler-process CPU ratio {cpu_ratio('yuqing', 'bare'):.2f}")
    if {"baseline", "yuqing"} <= set(variants):
        print(f"ratio yuqing / baseline: {ratio('yuqing', 'baseline'):.2f}  (this checkout against {args.baseline}); "
              f"crawler-process CPU ratio {cpu_ratio('yuqing', 'baseline'):.2f}")
    if {"bare", "bare+mw"} <= set(variants):
        print(f"ratio bare+mw / bare:  {ratio('bare+mw', 'bare'):.2f}  (UA middleware + dedup filter only); "
              f"crawler-process CPU ratio {cpu_ratio('bare+mw', 'bare'):.2f}")


if __name__ == "__main__":
    main()
