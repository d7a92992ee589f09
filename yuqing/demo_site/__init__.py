"""A small, realistic, fictional Chinese news site that ships with Yuqing, for ``yuqing demo`` and the tests.

Three outlets (华夏日报 ``huaxia``, 东方财经网 ``dongfang``, 南风新闻 ``nanfeng``) with their own markup,
paginated list pages, an RSS feed, reprints, a GBK page, a JavaScript-rendered article, an audio and a video
clip; every article carries ground-truth sentiment labels (content/articles.yaml) for the watchlist in
content/watchlist.yaml.

    from yuqing.demo_site import DemoSite, load_articles, load_watchlist
    with DemoSite(port=0) as site:
        crawl(f"{site.url}/huaxia/")
"""

from yuqing.demo_site.catalog import (
    MEDIA_DIR,
    SITE_DIR,
    Article,
    ContentError,
    Media,
    Outlet,
    Truth,
    articles_by_outlet,
    load_articles,
    load_outlets,
    load_watchlist,
)
from yuqing.demo_site.server import PER_PAGE, DemoSite

__all__ = [
    "MEDIA_DIR",
    "PER_PAGE",
    "SITE_DIR",
    "Article",
    "ContentError",
    "DemoSite",
    "Media",
    "Outlet",
    "Truth",
    "articles_by_outlet",
    "load_articles",
    "load_outlets",
    "load_watchlist",
]
