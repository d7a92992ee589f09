"""Crawl stage: config-driven Scrapy spiders that write RawDocument records to the object store."""
