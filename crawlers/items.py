"""What spiders yield: the RawDocument contract plus what pipelines need to finish it."""

from __future__ import annotations

import scrapy


class ArticleItem(scrapy.Item):
    document = scrapy.Field()  # yuqing.contracts.RawDocument, media filled in by MediaPipeline
    html = scrapy.Field()  # bytes as fetched, stored under raw/html/<doc_id>.html
    file_urls = scrapy.Field()  # media URLs for Scrapy's FilesPipeline
    media_kinds = scrapy.Field()  # url -> "audio" | "video"
    files = scrapy.Field()  # FilesPipeline results
