import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crawlers import extract
from crawlers.extract import ExtractionPool, extract_article, parse_datetime
from crawlers.middlewares import RandomUserAgentMiddleware
from crawlers.sources import Selectors
from yuqing.errors import ExtractionError

CST = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026年11月12日 09:30", datetime(2026, 11, 12, 9, 30, tzinfo=CST)),
        ("发布时间：2026/11/12", datetime(2026, 11, 12, tzinfo=CST)),
        ("2026-11-12 09:30:15 来源：华夏日报", datetime(2026, 11, 12, 9, 30, 15, tzinfo=CST)),
        ("2026-11-12T01:30:00Z", datetime(2026, 11, 12, 9, 30, tzinfo=CST)),
        ("没有日期", None),
    ],
)
def test_parse_datetime(text, expected):
    assert parse_datetime(text) == expected


PAGE = """<html lang="zh-CN"><head><title>站点标题</title>
<meta property="og:title" content="星辰科技召回两万台音箱">
<link rel="canonical" href="/huaxia/2026/1112/recall.html">
<meta property="article:published_time" content="2026-11-12T09:30:00+08:00"><meta name="author" content="王明"></head>
<body><nav>首页 | 财经 | 科技</nav><h1>星辰科技召回两万台音箱</h1>
<div class="content"><p>因电池存在过热隐患，星辰科技11日宣布召回两万台智能音箱。</p>
<p>公司表示，用户可前往门店免费更换电池，相关费用由公司承担。</p>
<audio src="/media/clip.mp3"></audio><video><source src="/media/clip.mp4" type="video/mp4"></video></div>
<footer>版权所有</footer></body></html>"""


def test_extracts_article_fields():
    article = extract_article(PAGE, "http://site/huaxia/2026/1112/recall.html?from=rss")
    assert article.title == "星辰科技召回两万台音箱"
    assert "召回两万台智能音箱" in article.text and "免费更换电池" in article.text
    assert "首页" not in article.text
    assert article.published_at == datetime(2026, 11, 12, 9, 30, tzinfo=CST)
    assert article.author == "王明"
    assert article.canonical_url == "http://site/huaxia/2026/1112/recall.html"
    assert article.language == "zh"
    assert article.media_urls == [("http://site/media/clip.mp3", "audio"), ("http://site/media/clip.mp4", "video")]


def test_selector_overrides_win():
    article = extract_article(PAGE, "http://site/a.html", Selectors(body="div.content p:first-child", title="nav"))
    assert article.text == "因电池存在过热隐患，星辰科技11日宣布召回两万台智能音箱。"
    assert article.title == "首页 | 财经 | 科技"


def test_javascript_shell_is_an_extraction_error_that_says_what_to_do():
    shell = "<html><body><div id='app'></div><script>render({body: '正文'})</script></body></html>"
    with pytest.raises(ExtractionError, match="render: true"):
        extract_article(shell, "http://site/js.html")


def test_visible_byline_date_and_selector_overrides_for_metadata():
    page = PAGE.replace('<meta property="article:published_time" content="2026-11-12T09:30:00+08:00">', "").replace(
        "<h1>", '<p class="byline">2026-11-11 18:05 来源：华夏日报</p><h1>'
    )
    article = extract_article(page, "http://site/a.html")
    assert article.published_at == datetime(2026, 11, 11, 18, 5, tzinfo=CST)
    article = extract_article(page, "http://site/a.html", Selectors(published_at="p.byline", author="nav"))
    assert article.published_at == datetime(2026, 11, 11, 18, 5, tzinfo=CST)
    assert article.author == "首页 | 财经 | 科技"


def test_extraction_pool_gives_what_inline_extraction_gives_and_outlives_its_worker(monkeypatch):
    monkeypatch.setattr(extract, "_START_AFTER", 0)  # start the worker at the first page
    url = "http://site/huaxia/2026/1112/recall.html"
    shell = "<html><body><div id='app'></div><script>load()</script></body></html>"

    async def crawl() -> None:
        pool = ExtractionPool()
        pool.acquire(1)
        try:
            assert await pool.extract(PAGE, url) == extract_article(PAGE, url)  # inline while the worker starts
            [worker] = pool.workers
            for _ in range(600):
                if worker.ready:
                    break
                await asyncio.sleep(0.05)
            assert worker.ready, "the extraction worker did not start"
            results = await asyncio.gather(*(pool.extract(PAGE, url, Selectors(title="nav")) for _ in range(5)))
            assert results == [extract_article(PAGE, url, Selectors(title="nav"))] * 5
            assert pool.offloaded == 5
            with pytest.raises(ExtractionError, match="render: true"):  # raised in the worker, re-raised here
                await pool.extract(shell, url)

            worker.process.kill()
            worker.process.wait()
            assert await pool.extract(PAGE, url) == extract_article(PAGE, url)  # back to extracting inline
        finally:
            pool.release()
        assert worker.process.returncode is not None and not pool.workers

    asyncio.run(crawl())


def test_random_user_agent_is_set_unless_pinned():
    from scrapy import Request

    middleware = RandomUserAgentMiddleware(["UA-1", "UA-2", "UA-3"], seed=1)
    agents = set()
    for _ in range(30):
        request = Request("http://x")
        middleware.process_request(request)
        agents.add(request.headers[b"User-Agent"].decode())
    assert agents == {"UA-1", "UA-2", "UA-3"}
    pinned = Request("http://x", headers={"User-Agent": "Pinned/1.0"})
    middleware.process_request(pinned)
    assert pinned.headers[b"User-Agent"] == b"Pinned/1.0"
