"""The bundled demo news site: its content and ground truth, and the real server on a free port."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
import pytest

from yuqing.demo_site import (
    PER_PAGE,
    SITE_DIR,
    DemoSite,
    articles_by_outlet,
    load_articles,
    load_outlets,
    load_watchlist,
    make_media,
)
from yuqing.settings import WatchEntity

ARTICLE_URL_RE = re.compile(r"/[a-z]+/\d{4}/\d{4}/[\w-]+\.html$")
HREF_RE = re.compile(r'href="([^"]+)"')
SENTIMENTS = {"positive", "negative", "neutral"}
MAGIC = {"audio/mpeg": "mp3", "audio/mp4": "mp4", "video/mp4": "mp4"}
VISIBLE_DATE = {"huaxia": "%Y年%m月%d日 %H:%M", "dongfang": "%Y-%m-%d %H:%M", "nanfeng": "发布时间：%Y/%m/%d %H:%M"}

ARTICLES = load_articles()
BY_KEY = {a.key: a for a in ARTICLES}
WATCHLIST = load_watchlist()


def shingles(text: str, k: int = 5) -> set[str]:
    compact = re.sub(r"\s+", "", text)
    return {compact[i : i + k] for i in range(len(compact) - k + 1)}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def mentioned_entities(text: str) -> set[str]:
    """Watched entities named in ``text``; an ambiguous entity's short (common-word) aliases don't count."""
    found = set()
    for entity in WATCHLIST:
        names = [entity["name"], *entity["aliases"]]
        if entity["ambiguous"]:
            names = [n for n in names if n == entity["name"] or len(n) > 2]
        if any(n in text for n in names):
            found.add(entity["name"])
    return found


def looks_like(kind: str, data: bytes) -> bool:
    if kind == "mp3":
        return data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
    return data[4:8] == b"ftyp"


# ───────────────────────── content and ground truth ─────────────────────────


def test_watchlist_is_fictional_shape_and_valid_for_settings() -> None:
    ids = [e["id"] for e in WATCHLIST]
    assert len(ids) == len(set(ids)) >= 5
    types = Counter(e["type"] for e in WATCHLIST)
    assert types["ORG"] >= 4 and types["PER"] == 1 and types["PRODUCT"] == 1
    for entry in WATCHLIST:
        entity = WatchEntity.model_validate(entry)  # what `yuqing demo` does with it
        assert entity.aliases, entity.id
    assert {e["name"] for e in WATCHLIST if e["ambiguous"]} == {"星辰科技", "蓝海航空"}
    WATCHLIST[0]["aliases"].append("mutated")
    assert "mutated" not in load_watchlist()[0]["aliases"]  # callers get copies


def test_articles_cover_three_outlets_both_languages_and_spread_dates() -> None:
    assert [o.id for o in load_outlets()] == ["huaxia", "dongfang", "nanfeng"]
    assert 30 <= len(ARTICLES) <= 36
    assert Counter(a.language for a in ARTICLES)["en"] == 3
    for outlet in ("huaxia", "dongfang", "nanfeng"):
        assert 2 * PER_PAGE <= len(articles_by_outlet(outlet)) <= 3 * PER_PAGE, outlet  # 2-3 list pages
    days = {a.published_at.date() for a in ARTICLES}
    assert len(days) >= 9 and min(days).isoformat() >= "2026-11-01" and max(days).isoformat() <= "2026-11-30"
    for a in ARTICLES:
        assert ARTICLE_URL_RE.search(a.url_path), a.url_path
        assert a.published_at.utcoffset().total_seconds() == 8 * 3600, a.key
        assert a.title and a.author and all(p.strip() for p in a.paragraphs), a.key
    lengths = sorted(len(a.body_text) for a in ARTICLES if a.language == "zh" and not a.media)
    assert sum(n < 300 for n in lengths) >= 3  # a few short items
    assert sum(400 <= n <= 1200 for n in lengths) >= len(lengths) // 2  # most are full stories
    assert sum(bool(a.boilerplate) for a in ARTICLES) >= 15


def test_ground_truth_labels_are_well_formed_and_balanced() -> None:
    watched = {e["name"] for e in WATCHLIST}
    overall = Counter(a.truth.overall for a in ARTICLES)
    assert set(overall) == SENTIMENTS
    assert min(overall.values()) >= len(ARTICLES) // 4, overall  # roughly a third each
    for a in ARTICLES:
        assert a.truth.risk in {"low", "medium", "high"}, a.key
        assert set(a.truth.targets) <= watched, a.key
        assert set(a.truth.targets.values()) <= SENTIMENTS, a.key
        if a.truth.overall == "negative":
            assert a.truth.risk in {"medium", "high"}, a.key
        else:
            assert a.truth.risk == "low", a.key
    mixed = [a.key for a in ARTICLES if len(set(a.truth.targets.values())) > 1]
    assert len(mixed) >= 3, mixed  # per-target sentiment matters
    assert {e["name"] for e in WATCHLIST} <= {t for a in ARTICLES for t in a.truth.targets}


def test_targets_are_exactly_the_watched_entities_each_article_names() -> None:
    for a in ARTICLES:
        text = a.title + "\n" + a.body_text
        assert mentioned_entities(text) == set(a.truth.targets), a.key
    # the traps: ambiguous aliases used as common words, with no target
    assert "星辰大海" in BY_KEY["huaxia/space-science-week"].title
    assert not BY_KEY["huaxia/space-science-week"].truth.targets
    assert "“蓝海”" in BY_KEY["dongfang/dairy-market-report"].body_text
    assert "蓝海航空" not in BY_KEY["dongfang/dairy-market-report"].truth.targets


def test_reprints_exact_and_edited() -> None:
    reprints = {a.reprint_kind: a for a in ARTICLES if a.reprint_of}
    assert set(reprints) == {"exact", "edited"}
    for copy in reprints.values():
        original = BY_KEY[copy.reprint_of]
        assert original.reprint_of is None
        assert copy.outlet != original.outlet and copy.published_at > original.published_at
        assert copy.boilerplate != original.boilerplate

    exact = reprints["exact"]
    assert exact.body_text == BY_KEY[exact.reprint_of].body_text
    assert exact.title == BY_KEY[exact.reprint_of].title

    edited = reprints["edited"]
    original = BY_KEY[edited.reprint_of]
    similarity = jaccard(edited.body_text, original.body_text)
    assert 0.8 <= similarity < 0.98, similarity
    assert edited.title != original.title
    assert set(edited.paragraphs) != set(original.paragraphs)
    # and unrelated stories are far apart, so the threshold means something
    assert jaccard(original.body_text, BY_KEY["nanfeng/qinghe-smart-ranch"].body_text) < 0.1


def test_special_pages_are_declared_once() -> None:
    assert [a.key for a in ARTICLES if a.encoding == "gbk"] == ["huaxia/qinghe-quality-award"]
    assert [a.key for a in ARTICLES if a.js_body] == ["dongfang/xingchen-ai-chip"]
    assert sorted(a.media.kind for a in ARTICLES if a.media) == ["audio", "video"]


def test_media_scripts_match_the_generator_and_carry_new_information() -> None:
    clips = {c.file: c for c in make_media.CLIPS}
    media_articles = [a for a in ARTICLES if a.media]
    assert {a.media.file for a in media_articles} == set(clips)
    for a in media_articles:
        media, clip = a.media, clips[a.media.file]
        assert (media.kind, media.script_hanzi, media.script_pinyin) == (clip.kind, clip.hanzi, clip.pinyin)
        hanzi = re.findall(r"[\u4e00-\u9fff]", media.script_hanzi)
        syllables = re.findall(r"[a-z]+[1-5]", media.script_pinyin)
        assert len(hanzi) == len(syllables), a.key  # one tone-marked syllable per character
        assert 2 <= len(media.expected_keywords) <= 4
        article_text = a.title + a.body_text
        for keyword in media.expected_keywords:
            assert keyword in media.script_hanzi, keyword  # spoken in the clip …
            assert keyword not in article_text, keyword  # … and not written in the article
            assert keyword in media.measured_transcript, keyword  # … and heard by Whisper base


def test_media_files_are_small_valid_clips() -> None:
    for a in ARTICLES:
        if not a.media:
            continue
        data = a.media.path.read_bytes()
        assert 10_000 < len(data) < 300_000, a.media.file
        assert looks_like(MAGIC[a.media.content_type], data), a.media.file
        if shutil.which("ffprobe"):
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type", "-of", "compact", a.media.path],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            duration = float(re.search(r"duration=([\d.]+)", probe).group(1))
            assert 10 <= duration <= 25, (a.media.file, duration)
            assert ("codec_type=video" in probe) == (a.media.kind == "video"), probe
            assert "codec_type=audio" in probe


# ───────────────────────── the server ─────────────────────────


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(host="127.0.0.1", port=0) as running:
        yield running


@pytest.fixture(scope="module")
def client(site: DemoSite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, timeout=5, follow_redirects=False) as c:
        yield c


@pytest.mark.integration
def test_site_url_and_lifecycle() -> None:
    other = DemoSite(port=0)
    assert not other.running
    with other:
        assert other.port > 0 and other.url == f"http://127.0.0.1:{other.port}"
        assert httpx.get(other.url + "/robots.txt").status_code == 200
    assert not other.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(other.url + "/robots.txt", timeout=2)


@pytest.mark.integration
def test_index_robots_and_errors(client: httpx.Client) -> None:
    index = client.get("/")
    assert index.status_code == 200
    for outlet in load_outlets():
        assert f'href="/{outlet.id}/"' in index.text and outlet.name in index.text
    robots = client.get("/robots.txt")
    assert robots.headers["content-type"].startswith("text/plain")
    assert "User-agent: *" in robots.text and "Disallow: /private/" in robots.text
    for path in ("/nope", "/huaxia/2026/1112/no-such-story.html", "/huaxia/list/99.html", "/media/none.mp3",
                 "/feeds/nobody.xml", "/api/dongfang/articles/nothing.json", "/zzz/"):  # fmt: skip
        assert client.get(path).status_code == 404, path
    assert client.get("/private/admin.html").status_code == 403
    assert client.get("/huaxia").headers["location"] == "/huaxia/"
    assert client.get("/huaxia/list/1.html").headers["location"] == "/huaxia/"


@pytest.mark.integration
@pytest.mark.parametrize("outlet", ["huaxia", "dongfang", "nanfeng"])
def test_list_pagination_reaches_every_article_exactly_once(client: httpx.Client, outlet: str) -> None:
    seen: list[str] = []
    url, pages = f"/{outlet}/", 0
    while url:
        page = client.get(url)
        assert page.status_code == 200, url
        pages += 1
        links = [h for h in HREF_RE.findall(page.text) if ARTICLE_URL_RE.search(h) and h.startswith(f"/{outlet}/")]
        assert 1 <= len(links) <= PER_PAGE, url
        seen += links
        nxt = re.search(r'<a class="next" rel="next" href="([^"]+)">下一页</a>', page.text)
        url = nxt.group(1) if nxt else None
        assert pages < 10
    expected = [a.url_path for a in articles_by_outlet(outlet)]
    assert seen == expected  # each once, newest first
    assert pages == -(-len(expected) // PER_PAGE)


@pytest.mark.integration
def test_every_article_page_has_title_canonical_meta_date_and_body(site: DemoSite, client: httpx.Client) -> None:
    for a in ARTICLES:
        response = client.get(a.url_path)
        assert response.status_code == 200, a.key
        page = html.unescape(response.content.decode(a.encoding))
        canonical = site.url + a.url_path
        assert f'<link rel="canonical" href="{canonical}"' in page, a.key
        assert f'<meta property="og:title" content="{a.title}"' in page, a.key
        assert f">{a.title}</h" in page, a.key  # the headline element
        assert a.published_at.strftime(VISIBLE_DATE[a.outlet]) in page, a.key
        if a.outlet in ("huaxia", "dongfang"):
            assert f'<meta property="article:published_time" content="{a.published_at.isoformat()}"' in page
            assert f'<meta name="author" content="{a.author}"' in page
        else:
            assert f'作者：<span class="author">{a.author}</span>' in page
        if not a.js_body:
            for paragraph in a.paragraphs:
                assert f"<p>{paragraph}</p>" in page, (a.key, paragraph[:20])
            for line in a.boilerplate:
                assert line in page, (a.key, line)
        if a.media:
            assert f'src="{a.media.url_path}"' in page, a.key
    # a tracking query does not change the page or its canonical link
    first = ARTICLES[0]
    tracked = client.get(first.url_path + "?from=rss&utm_source=x")
    assert f'href="{site.url}{first.url_path}"' in tracked.text


@pytest.mark.integration
def test_gbk_page_is_gbk_without_header_charset(client: httpx.Client) -> None:
    (article,) = [a for a in ARTICLES if a.encoding == "gbk"]
    response = client.get(article.url_path)
    assert response.headers["content-type"] == "text/html"  # no charset: sniff the <meta>
    raw = response.content
    assert b'<meta charset="gbk"' in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert article.title in text and article.paragraphs[1] in text
    assert article.title.encode("gbk") in raw
    other = client.get(ARTICLES[0].url_path)
    assert other.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.integration
def test_js_article_shell_lacks_body_which_the_api_serves(client: httpx.Client) -> None:
    (article,) = [a for a in ARTICLES if a.js_body]
    shell = client.get(article.url_path).text
    assert article.title in shell
    for paragraph in article.paragraphs:
        assert paragraph[:20] not in shell
    api = re.search(r'data-api="([^"]+)"', shell).group(1)
    assert "fetch(" in shell and api == f"/api/{article.outlet}/articles/{article.slug}.json"
    data = client.get(api)
    assert data.headers["content-type"].startswith("application/json")
    assert data.json()["data"]["content"] == list(article.paragraphs)


@pytest.mark.integration
def test_rss_feeds_parse_and_their_links_resolve(site: DemoSite, client: httpx.Client) -> None:
    for outlet in ("huaxia", "dongfang", "nanfeng"):
        feed = client.get(f"/feeds/{outlet}.xml")
        assert feed.headers["content-type"].startswith("application/rss+xml")
        root = ET.fromstring(feed.content)
        assert root.tag == "rss" and root.get("version") == "2.0"
        items = root.findall("./channel/item")
        expected = articles_by_outlet(outlet)
        assert len(items) == len(expected)
        for item, article in zip(items, expected):
            link = item.findtext("link")
            assert item.findtext("title") == article.title
            assert link == f"{site.url}{article.url_path}?from=rss"
            assert parsedate_to_datetime(item.findtext("pubDate")) == article.published_at
            page = client.get(urlsplit(link).path + "?" + urlsplit(link).query)
            assert page.status_code == 200
            assert f'<link rel="canonical" href="{site.url}{article.url_path}"' in page.content.decode(article.encoding)


@pytest.mark.integration
def test_media_served_with_type_length_and_ranges(client: httpx.Client) -> None:
    for a in [a for a in ARTICLES if a.media]:
        data = a.media.path.read_bytes()
        response = client.get(a.media.url_path)
        assert response.status_code == 200
        assert response.headers["content-type"] == a.media.content_type
        assert int(response.headers["content-length"]) == len(data) == len(response.content)
        assert response.content == data and looks_like(MAGIC[a.media.content_type], response.content)
        part = client.get(a.media.url_path, headers={"Range": "bytes=4-11"})
        assert part.status_code == 206 and part.content == data[4:12]
        assert part.headers["content-range"] == f"bytes 4-11/{len(data)}"
        head = client.head(a.media.url_path)
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == len(data)
    assert {a.media.content_type for a in ARTICLES if a.media} == {"audio/mpeg", "video/mp4"}
    assert (SITE_DIR / "media").is_dir()
