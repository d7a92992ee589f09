"""Article extraction from HTML: trafilatura for the body, page metadata for the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import trafilatura
from parsel import Selector

from crawlers.sources import Selectors
from yuqing.errors import ExtractionError

CHINA_TZ = ZoneInfo("Asia/Shanghai")
MIN_BODY_CHARS = 20

_DATE_PATTERNS = [
    re.compile(r"(?P<y>20\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日(?:\s*(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：](?P<S>\d{2}))?)?"),
    re.compile(r"(?P<y>20\d{2})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[\sT]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"),
]
_META_DATE = [
    "meta[property='article:published_time']::attr(content)",
    "meta[name='publishdate']::attr(content)",
    "meta[name='pubdate']::attr(content)",
    "time[datetime]::attr(datetime)",
]


@dataclass
class Extracted:
    title: str
    text: str
    published_at: datetime | None
    author: str | None
    canonical_url: str | None
    language: str | None
    media_urls: list[tuple[str, str]] = field(default_factory=list)  # (url, "audio"|"video")


def parse_datetime(value: str) -> datetime | None:
    """Parse the date formats Chinese portals use; naive times are Asia/Shanghai."""
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        for pattern in _DATE_PATTERNS:
            match = pattern.search(value)
            if match:
                parts = {k: int(v) for k, v in match.groupdict().items() if v}
                try:
                    parsed = datetime(parts["y"], parts["m"], parts["d"], parts.get("H", 0), parts.get("M", 0), parts.get("S", 0))
                except ValueError:
                    continue
                break
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA_TZ)


def _first(sel: Selector, queries: list[str]) -> str | None:
    for query in queries:
        value = sel.css(query).get()
        if value and value.strip():
            return value.strip()
    return None


def _css_text(sel: Selector, query: str) -> str:
    nodes = sel.css(query)
    if not nodes:
        return ""
    return "\n".join(t.strip() for t in nodes.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall() if t.strip())


def extract_article(html: str, url: str, overrides: Selectors | None = None) -> Extracted:
    """Title, body, date, author, canonical URL, language and media of an article page."""
    overrides = overrides or Selectors()
    sel = Selector(text=html)
    text = _css_text(sel, overrides.body) if overrides.body else ""
    if not text:
        # Metadata is read from the page below: trafilatura's own (htmldate) costs 4x the extraction.
        result = trafilatura.bare_extraction(
            html, url=url, with_metadata=False, include_comments=False, include_tables=False, favor_precision=True
        )
        if result is not None:
            text = (result.text or "").strip()
    if len(text) < MIN_BODY_CHARS:
        raise ExtractionError(
            f"no article text in {url} ({len(text)} chars); if its body is drawn by JavaScript, set render: true for its source"
        )

    title = (
        (sel.css(overrides.title + "::text").get() if overrides.title else None)
        or _first(sel, ["meta[property='og:title']::attr(content)", "h1::text", "title::text"])
        or ""
    )
    date_text = (
        _css_text(sel, overrides.published_at) if overrides.published_at else None
    ) or _first(sel, _META_DATE)
    published = parse_datetime(date_text) if date_text else None
    if published is None:
        # Portals print the date near the headline; search the visible text outside the body.
        visible = " ".join(sel.xpath("//body//text()[not(ancestor::script)]").getall())
        published = parse_datetime(visible)
    author = (
        (_css_text(sel, overrides.author) if overrides.author else None)
        or _first(sel, ["meta[name='author']::attr(content)", "[rel='author']::text", ".author::text"])
    )
    canonical = _first(sel, ["link[rel='canonical']::attr(href)", "meta[property='og:url']::attr(content)"])
    language = _first(sel, ["html::attr(lang)"])
    media: list[tuple[str, str]] = []
    for kind in ("audio", "video"):
        for src in sel.css(f"{kind}::attr(src), {kind} source::attr(src)").getall():
            absolute = urljoin(url, src.strip())
            if (absolute, kind) not in media:
                media.append((absolute, kind))
    return Extracted(
        title=title.strip(),
        text=text,
        published_at=published,
        author=author.strip() if author else None,
        canonical_url=urljoin(url, canonical) if canonical else None,
        language=language.split("-")[0].lower() if language else None,
        media_urls=media,
    )
