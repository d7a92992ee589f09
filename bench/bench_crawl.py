"""Crawl throughput on a loopback site, as a ratio to a bare Scrapy spider fetching the same pages in the same run.

    python bench/bench_crawl.py [--articles 1000]

Each crawl runs in its own process (Scrapy's reactor starts once per process).
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PARAGRAPH = "星辰科技今日发布三季度财报，营收同比增长百分之二十，净利润创下历史新高，海外市场表现亮眼。"

BARE_SPIDER = textwrap.dedent(
    """
    import sys, scrapy
    from scrapy.crawler import CrawlerProcess

    class Bare(scrapy.Spider):
        name = "bare"
        start_urls = [sys.argv[1] + "/news/list-1.html"]
        def parse(self, response):
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)
            if "/2026/" in response.url:
                yield {"title": response.css("h1::text").get()}

    process = CrawlerProcess({"LOG_LEVEL": "ERROR", "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "TELNETCONSOLE_ENABLED": False})
    process.crawl(Bare)
    process.start()
    """
)


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def build_site(root: Path, articles: int, per_page: int = 20) -> None:
    (root / "news/2026/1112").mkdir(parents=True)
    pages = (articles + per_page - 1) // per_page
    for page in range(1, pages + 1):
        links = "".join(
            f'<a href="/news/2026/1112/a{i}.html">a{i}</a>' for i in range((page - 1) * per_page, min(articles, page * per_page))
        )
        nxt = f'<a rel="next" href="/news/list-{page + 1}.html">下一页</a>' if page < pages else ""
        (root / f"news/list-{page}.html").write_text(f"<html><body>{links}{nxt}</body></html>", encoding="utf-8")
    for i in range(articles):
        body = "".join(f"<p>{PARAGRAPH}（{i}-{j}）</p>" for j in range(8))
        html = f"<html><head><title>新闻{i}</title></head><body><h1>新闻{i}</h1><p>2026年11月12日 09:30</p><div>{body}</div></body></html>"
        (root / f"news/2026/1112/a{i}.html").write_text(html, encoding="utf-8")


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        root.mkdir()
        build_site(root, args.articles)
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        sources = Path(tmp) / "sources.yaml"
        sources.write_text(
            'sources:\n  - name: bench\n    start: [{url: "${base_url}/news/list-1.html", kind: list}]\n'
            "    article_patterns: ['/news/2026/']\n    max_list_pages: 10000\n",
            encoding="utf-8",
        )
        bare_script = Path(tmp) / "bare.py"
        bare_script.write_text(BARE_SPIDER, encoding="utf-8")
        bare = timed([sys.executable, str(bare_script), base])
        ours = timed([sys.executable, "-m", "yuqing.cli", "crawl", "--data-dir", str(Path(tmp) / "data"),
                      "--sources", str(sources), "--var", f"base_url={base}"])
        stored = sum(1 for p in (Path(tmp) / "data/store/raw/docs").rglob("*.jsonl") for _ in p.open())
        server.shutdown()
    print(f"articles: {args.articles}, stored: {stored}")
    print(f"bare scrapy: {args.articles / bare:.0f} articles/s (process wall time {bare:.1f}s)")
    print(f"yuqing crawl (extract + html + jsonl + dedup): {args.articles / ours:.0f} articles/s ({ours:.1f}s)")
    print(f"yuqing crawl costs {ours / bare:.2f}x the bare spider")


if __name__ == "__main__":
    main()
