"""Crawl a real site on 127.0.0.1 with the real Scrapy process (run as the CLI, one reactor per process)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from yuqing.contracts import RawDocument
from yuqing.ids import doc_id, sha256_bytes

pytestmark = pytest.mark.integration

ARTICLE = """<html><head><meta charset="{charset}"><title>{title}</title>
<link rel="canonical" href="/news/2026/1112/{slug}.html"></head><body>
<h1>{title}</h1><p class="date">2026年11月12日 09:30</p><div class="body">{body}</div></body></html>"""
BODY = "<p>{0}因电池存在过热隐患宣布召回两万台智能音箱，消费者可前往门店免费更换。</p><p>公司表示将加强质量管理，避免类似问题再次发生。</p>"
SOURCES = """sources:
  - name: news
    start: [{url: "${base_url}/news/index.html", kind: list}]
    article_patterns: ['/news/\\d{4}/\\d{4}/[\\w-]+\\.html$']
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _write_site(root: Path, slugs: list[str]) -> None:
    (root / "news/2026/1112").mkdir(parents=True, exist_ok=True)
    links = "".join(f'<a href="/news/2026/1112/{s}.html?from=list">{s}</a>' for s in slugs + ["js-shell"])
    (root / "news/index.html").write_text(f"<html><body>{links}</body></html>", encoding="utf-8")
    for slug in slugs:
        charset = "gbk" if slug == "gbk-page" else "utf-8"
        body = BODY.format(f"星辰科技（{slug}）")
        if slug == "with-audio":
            body += '<audio src="/media/clip.mp3"></audio>'
        html = ARTICLE.format(charset=charset, title=f"星辰科技召回音箱 {slug}", slug=slug, body=body)
        (root / f"news/2026/1112/{slug}.html").write_bytes(html.encode(charset))
    (root / "news/2026/1112/js-shell.html").write_text("<html><body><div id=app></div><script>load()</script></body></html>")
    (root / "media").mkdir(exist_ok=True)
    (root / "media/clip.mp3").write_bytes(b"ID3" + bytes(range(256)) * 20)
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _crawl(tmp_path: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "yuqing.cli", "crawl", "--data-dir", str(tmp_path / "data"), "--sources", str(sources),
         "--var", f"base_url={base_url}"],
        capture_output=True, text=True, timeout=120, check=False,
    )


def _documents(store: Path) -> list[RawDocument]:
    return [
        RawDocument.model_validate_json(line)
        for path in sorted(store.glob("raw/docs/date=*/*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_crawl_stores_documents_html_media_and_failures_then_only_new_articles(site, tmp_path):
    root, base = site
    _write_site(root, ["plain", "gbk-page", "with-audio"])
    first = _crawl(tmp_path, base)
    assert first.returncode == 0, first.stdout + first.stderr
    store = tmp_path / "data" / "store"
    docs = {d.url.rsplit("/", 1)[1].split(".")[0]: d for d in _documents(store)}
    assert set(docs) == {"plain", "gbk-page", "with-audio"}

    gbk = docs["gbk-page"]
    assert gbk.title == "星辰科技召回音箱 gbk-page" and "召回两万台智能音箱" in gbk.text  # decoded from GBK by <meta charset>
    assert gbk.id == doc_id(f"{base}/news/2026/1112/gbk-page.html")  # tracking query dropped via the canonical link
    assert gbk.published_at.isoformat() == "2026-11-12T09:30:00+08:00"
    assert (store / gbk.html_key).read_bytes().decode("gbk").count("星辰科技") >= 2

    [media] = docs["with-audio"].media
    clip = (root / "media/clip.mp3").read_bytes()
    assert media.sha256 == sha256_bytes(clip) and media.kind == "audio" and media.size_bytes == len(clip)
    assert (store / media.key).read_bytes() == clip

    failures = [json.loads(line) for p in store.glob("raw/failures/*.jsonl") for line in p.read_text().splitlines()]
    assert [f["url"].rsplit("/", 1)[1] for f in failures] == ["js-shell.html?from=list"]
    assert "render: true" in failures[0]["reason"]

    # The next run fetches only the new article; the failed JS page is tried again.
    _write_site(root, ["plain", "gbk-page", "with-audio", "new-one"])
    second = _crawl(tmp_path, base)
    assert second.returncode == 0, second.stdout + second.stderr
    after = [d.url.rsplit("/", 1)[1].split(".")[0] for d in _documents(store)]
    assert sorted(after) == ["gbk-page", "new-one", "plain", "with-audio"]
    assert len(list(store.glob("seen/news/*.txt"))) == 2
