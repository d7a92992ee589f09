"""The crawler against a messy real site on 127.0.0.1 (tests/crawlers/site.py), run as the CLI.

One crawl of six sources covers most cases (module fixture); proxies get a crawl of their own.
Everything is asserted from what a user can see: the documents, media and failure records in
the store, and the site's own log of what was requested, when, with which User-Agent and proxy.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.crawlers.site import BODY, ForwardProxy, Page, TestSite, article_html, redirect
from yuqing.contracts import RawDocument
from yuqing.ids import sha256_bytes

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SOURCES = r"""sources:
  - name: main
    start: [{url: "${base}/main/1.html", kind: list}]
    article_patterns: ['/news/[\w/-]+\.html']
  - name: capped
    start: [{url: "${base}/capped/1.html", kind: list}]
    article_patterns: ['/capped-news/']
    max_list_pages: 2
  - name: feed
    start: [{url: "${base}/feed.xml", kind: rss}]
    article_patterns: ['/feed-news/']
  - name: sitemap
    start: [{url: "${base}/robots.txt", kind: sitemap}]
    article_patterns: ['/sm-news/']
  - name: robots-obeyed
    start: [{url: "${base}/robots-a/1.html", kind: list}]
    article_patterns: ['/(private|open)/']
  - name: robots-ignored
    start: [{url: "${base}/robots-b/1.html", kind: list}]
    article_patterns: ['/private/']
    obey_robots_txt: false
"""
# Small waits so the test is quick; the defaults are seconds.
FAST = {
    "YQ_CRAWL__DOWNLOAD_TIMEOUT_S": "1",
    "YQ_CRAWL__BACKOFF_BASE_S": "0.2",
    "YQ_CRAWL__BACKOFF_MAX_S": "3",
    "YQ_CRAWL__RETRY_TIMES": "2",
    "YQ_CRAWL__BAN_MAX_RETRIES": "2",
}
GBK_TOPIC = "朱镕基纪念馆"  # 镕 is in GBK but not in GB2312
MP3 = b"ID3" + bytes(range(256)) * 10
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 12
MALFORMED = (
    "<html><head><title>破损的页面</title><body><div class=article><p>某市自来水厂因设备故障导致三个小区停水十二小时，居民反映强烈。"
    "<p>水务部门表示已连夜抢修并承诺赔偿<b>受影响用户</i></div></div></span><table><tr><td>广告 &nbsp &copy"
)


def paragraphs(topic: str) -> list[str]:
    """The two body paragraphs article_html() writes for ``topic``, as text."""
    return [p.removeprefix("<p>") for p in BODY.format(topic=topic).split("</p>") if p]


def build_site(site: TestSite) -> None:
    main = [site.add_article(f"/news/plain-{i}.html", f"普通新闻{i}") for i in (1, 2)]
    # GBK declared only in the HTTP header (as gb2312, which real servers say for GBK pages) ...
    site.pages["/news/gbk-header.html"] = Page(
        body=article_html("国企改革回顾", GBK_TOPIC, charset="gbk").replace('<meta charset="gbk">', "").encode("gbk"),
        content_type="text/html; charset=gb2312",
    )
    # ... and only in an old-style http-equiv <meta>.
    site.pages["/news/gbk-meta.html"] = Page(
        body=article_html("镕城新闻", GBK_TOPIC, charset="gbk")
        .replace('<meta charset="gbk">', '<meta http-equiv="Content-Type" content="text/html; charset=gbk">')
        .encode("gbk"),
        content_type="text/html",
    )
    site.pages["/news/moved.html"] = redirect("/news/moved-2.html", 301)
    site.pages["/news/moved-2.html"] = redirect("/news/2026/final.html", 302)
    site.add_article("/news/2026/final.html", "跳转后的文章")
    site.pages["/news/loop-a.html"] = redirect("/news/loop-b.html", 302)
    site.pages["/news/loop-b.html"] = redirect("/news/loop-a.html", 302)
    site.pages["/news/error.html"] = Page(status=500, body=b"oops")
    site.add_article("/news/slow.html", "慢新闻", delay_s=5)
    site.pages["/news/huge.html"] = Page(body=b"<html><body><p>" + b"x" * (20 * 1024 * 1024) + b"</p></body></html>")
    site.pages["/news/malformed.html"] = Page(body=MALFORMED.encode())
    site.add_article("/news/media.html", "音视频新闻", extra='<audio src="/media/clip.mp3"></audio>'
                     '<video controls><source src="/media/clip.mp4" type="video/mp4"></video>')
    site.pages["/media/clip.mp3"] = Page(body=MP3, content_type="audio/mpeg")
    site.pages["/media/clip.mp4"] = Page(body=MP4, content_type="video/mp4")
    for kind in ("403", "429", "captcha"):
        site.add_article(f"/news/ban-{kind}.html", f"封禁后放行{kind}", ban="once", ban_kind=kind)
    site.add_article("/news/ban-forever.html", "永久封禁", ban="always")
    main += ["/news/gbk-header.html", "/news/gbk-meta.html", "/news/moved.html", "/news/loop-a.html", "/news/missing.html",
             "/news/error.html", "/news/slow.html", "/news/huge.html", "/news/malformed.html", "/news/media.html",
             "/news/ban-403.html", "/news/ban-429.html", "/news/ban-captcha.html", "/news/ban-forever.html"]
    site.lists["main"] = main  # 16 links, 5 a page: 4 list pages
    site.lists["capped"] = [site.add_article(f"/capped-news/{i}.html", f"分页新闻{i}") for i in range(20)]
    site.feeds["/feed.xml"] = [site.add_article(f"/feed-news/{i}.html", f"订阅新闻{i}") for i in range(3)]
    site.robots += f"Sitemap: {site.url}/sitemap_index.xml\n"
    site.sitemap_indexes["/sitemap_index.xml"] = ["/sitemaps/a.xml", "/sitemaps/b.xml.gz"]
    site.sitemaps["/sitemaps/a.xml"] = [site.add_article(f"/sm-news/a{i}.html", f"地图新闻a{i}") for i in range(2)]
    site.sitemaps["/sitemaps/b.xml.gz"] = [site.add_article(f"/sm-news/b{i}.html", f"地图新闻b{i}") for i in range(2)]
    site.lists["robots-a"] = [site.add_article("/private/a.html", "不许抓的文章"), site.add_article("/open/a.html", "公开文章")]
    site.lists["robots-b"] = [site.add_article("/private/b.html", "来源允许抓的文章")]


def crawl(tmp: Path, base_url: str, sources: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp / "sources.yaml").write_text(sources, encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("YQ_")}
    return subprocess.run(
        [sys.executable, "-m", "yuqing.cli", "crawl", "--data-dir", str(tmp / "data"), "--sources", str(tmp / "sources.yaml"),
         "--var", f"base={base_url}"],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO, env={**clean, **env},
    )


@dataclass
class Crawl:
    site: TestSite
    store: Path
    docs: dict[str, RawDocument]  # by path of the stored URL
    failures: dict[str, dict[str, str]]  # by path of the failed URL

    def path(self, url: str) -> str:
        return url.removeprefix(self.site.url).split("?")[0]


def read_crawl(site: TestSite, store: Path) -> Crawl:
    result = Crawl(site, store, {}, {})
    for shard in sorted(store.glob("raw/docs/date=*/*.jsonl")):
        for line in shard.read_text(encoding="utf-8").splitlines():
            doc = RawDocument.model_validate_json(line)
            result.docs[result.path(doc.url)] = doc
    for shard in store.glob("raw/failures/*.jsonl"):
        for line in shard.read_text(encoding="utf-8").splitlines():
            failure = json.loads(line)
            result.failures[result.path(failure["url"])] = failure
    return result


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("robustness")
    with TestSite() as site:
        build_site(site)
        done = crawl(tmp, site.url, SOURCES, FAST)
        assert done.returncode == 0, done.stdout + done.stderr
        yield read_crawl(site, tmp / "data" / "store")


def test_paginated_list_is_followed_to_the_end_and_max_list_pages_is_respected(crawled: Crawl) -> None:
    assert sorted(set(crawled.site.fetched("/main/"))) == ["/main/1.html", "/main/2.html", "/main/3.html", "/main/4.html"]
    assert crawled.site.hits_for("/main/5.html") == []  # page 4 has no "next"
    assert sorted(set(crawled.site.fetched("/capped/"))) == ["/capped/1.html", "/capped/2.html"]  # max_list_pages: 2
    assert sorted(p for p in crawled.docs if p.startswith("/capped-news/")) == sorted(f"/capped-news/{i}.html" for i in range(10))


def test_rss_feed_sitemap_index_and_gzipped_sitemap_lead_to_articles(crawled: Crawl) -> None:
    assert {p for p, d in crawled.docs.items() if d.source == "feed"} == {f"/feed-news/{i}.html" for i in range(3)}
    # robots.txt's Sitemap: line -> sitemap index -> a.xml and b.xml.gz (a gzip file, not Content-Encoding)
    assert crawled.site.hits_for("/sitemap_index.xml") and crawled.site.hits_for("/sitemaps/b.xml.gz")
    from_sitemaps = {p for p, d in crawled.docs.items() if d.source == "sitemap"}
    assert from_sitemaps == {"/sm-news/a0.html", "/sm-news/a1.html", "/sm-news/b0.html", "/sm-news/b1.html"}
    assert crawled.docs["/feed-news/0.html"].title == "订阅新闻0"


def test_gbk_pages_are_decoded_exactly(crawled: Crawl) -> None:
    by_header, by_meta = crawled.docs["/news/gbk-header.html"], crawled.docs["/news/gbk-meta.html"]
    assert by_header.title == "国企改革回顾"
    assert by_meta.title == "镕城新闻"
    for doc in (by_header, by_meta):
        assert doc.text.splitlines()[-2:] == paragraphs(GBK_TOPIC)
        assert (crawled.store / doc.html_key).read_bytes().decode("gbk").count(GBK_TOPIC) == 1  # stored as fetched


def test_redirect_chain_is_followed_and_the_final_url_stored(crawled: Crawl) -> None:
    doc = crawled.docs["/news/2026/final.html"]
    assert doc.url == f"{crawled.site.url}/news/2026/final.html" == doc.canonical_url
    assert doc.title == "跳转后的文章"
    assert [len(crawled.site.hits_for(p)) for p in ("/news/moved.html", "/news/moved-2.html", "/news/2026/final.html")] == [1, 1, 1]
    assert "/news/moved.html" not in crawled.docs and "/news/moved.html" not in crawled.failures


def test_redirect_loop_stops_with_a_recorded_failure(crawled: Crawl) -> None:
    assert crawled.failures["/news/loop-a.html"]["reason"].startswith("redirect loop: ")
    assert len(crawled.site.hits_for("/news/loop-a.html")) <= 3 and len(crawled.site.hits_for("/news/loop-b.html")) <= 2


def test_404_is_recorded_without_retrying(crawled: Crawl) -> None:
    assert crawled.failures["/news/missing.html"]["reason"] == "HTTP 404"
    assert len(crawled.site.hits_for("/news/missing.html")) == 1


def test_500_is_retried_with_growing_backoff_then_recorded(crawled: Crawl) -> None:
    assert crawled.failures["/news/error.html"]["reason"] == "HTTP 500 after 3 tries"
    hits = crawled.site.hits_for("/news/error.html")
    assert [h.status for h in hits] == [500, 500, 500]
    gaps = [b.time - a.time for a, b in itertools.pairwise(hits)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # 0.2 s, then 0.4 s (YQ_CRAWL__BACKOFF_BASE_S=0.2, doubling)


def test_timeout_is_retried_then_recorded(crawled: Crawl) -> None:
    assert crawled.failures["/news/slow.html"]["reason"] == "timed out (1s) after 3 tries"
    hits = crawled.site.hits_for("/news/slow.html")
    assert len(hits) == 3
    assert all(b.time - a.time >= 1.1 for a, b in itertools.pairwise(hits))  # the 1 s timeout, then a backoff (0.2 s, 0.4 s)


def test_20mb_page_is_refused_by_the_size_limit_and_the_crawl_goes_on(crawled: Crawl) -> None:
    assert "larger than the 10485760 byte page limit" in crawled.failures["/news/huge.html"]["reason"]
    assert "/news/huge.html" not in crawled.docs
    assert {"/news/plain-1.html", "/news/plain-2.html", "/news/malformed.html"} <= set(crawled.docs)


def test_malformed_html_is_still_extracted(crawled: Crawl) -> None:
    doc = crawled.docs["/news/malformed.html"]
    assert doc.title == "破损的页面"
    assert "某市自来水厂因设备故障导致三个小区停水十二小时，居民反映强烈。" in doc.text
    assert "水务部门表示已连夜抢修并承诺赔偿受影响用户" in doc.text


def test_article_audio_and_video_are_stored_and_referenced(crawled: Crawl) -> None:
    media = {m.kind: m for m in crawled.docs["/news/media.html"].media}
    assert set(media) == {"audio", "video"}
    for kind, data, ext in (("audio", MP3, ".mp3"), ("video", MP4, ".mp4")):
        assert media[kind].sha256 == sha256_bytes(data) and media[kind].size_bytes == len(data)
        assert media[kind].key.endswith(ext) and (crawled.store / media[kind].key).read_bytes() == data


@pytest.mark.parametrize(("kind", "first_status"), [("403", 403), ("429", 429), ("captcha", 200)])
def test_ban_is_retried_with_another_user_agent_and_the_article_stored(crawled: Crawl, kind: str, first_status: int) -> None:
    banned, served = crawled.site.hits_for(f"/news/ban-{kind}.html")
    assert (banned.status, served.status) == (first_status, 200)
    assert banned.user_agent != served.user_agent
    assert served.time - banned.time >= (1.0 if kind == "429" else 0.2)  # Retry-After: 1, else the backoff
    assert crawled.docs[f"/news/ban-{kind}.html"].title == f"封禁后放行{kind}"  # the article, not the captcha page


def test_permanent_ban_ends_as_a_recorded_failure(crawled: Crawl) -> None:
    hits = crawled.site.hits_for("/news/ban-forever.html")
    assert [h.status for h in hits] == [403, 403, 403]  # YQ_CRAWL__BAN_MAX_RETRIES=2
    assert len({h.user_agent for h in hits}) == 3
    assert crawled.failures["/news/ban-forever.html"]["reason"] == "banned: HTTP 403 on 3 tries (last proxy none)"


def test_only_the_pages_that_failed_are_recorded_as_failures(crawled: Crawl) -> None:
    assert set(crawled.failures) == {"/news/loop-a.html", "/news/missing.html", "/news/error.html", "/news/slow.html",
                                     "/news/huge.html", "/news/ban-forever.html"}


def test_robots_txt_disallow_is_obeyed_unless_the_source_overrides(crawled: Crawl) -> None:
    assert crawled.site.hits_for("/private/a.html") == []
    assert "/open/a.html" in crawled.docs
    assert crawled.docs["/private/b.html"].source == "robots-ignored"  # obey_robots_txt: false


def test_ban_is_retried_through_another_proxy(tmp_path: Path) -> None:
    sources = """sources:
  - name: proxied
    start: [{url: "${base}/proxied/1.html", kind: list}]
    article_patterns: ['/news/']
"""
    with TestSite() as site, ForwardProxy("p1") as p1, ForwardProxy("p2") as p2:
        site.lists["proxied"] = [site.add_article(f"/news/{i}.html", f"代理新闻{i}") for i in range(4)]
        site.lists["proxied"].append(site.add_article("/news/banned.html", "换代理后放行", ban="once", ban_kind="403"))
        done = crawl(tmp_path, site.url, sources, {**FAST, "YQ_CRAWL__PROXIES": json.dumps([p1.url, p2.url])})
        assert done.returncode == 0, done.stdout + done.stderr
        result = read_crawl(site, tmp_path / "data" / "store")

    assert {h.via for h in site.hits} == {"p1", "p2"}  # every request went through a proxy, both were used
    banned, served = site.hits_for("/news/banned.html")
    assert (banned.status, served.status) == (403, 200)
    assert banned.via != served.via and banned.user_agent != served.user_agent
    assert set(result.docs) == {f"/news/{i}.html" for i in range(4)} | {"/news/banned.html"}
    assert result.failures == {}
