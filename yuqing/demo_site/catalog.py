"""The demo site's content: outlets, articles with their ground truth, and the watchlist, read from YAML."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

SITE_DIR = Path(__file__).resolve().parent
CONTENT_DIR = SITE_DIR / "content"
MEDIA_DIR = SITE_DIR / "media"
TEMPLATES_DIR = SITE_DIR / "templates"

SENTIMENTS = ("positive", "negative", "neutral")
RISKS = ("low", "medium", "high")
MEDIA_TYPES = {".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".mp4": "video/mp4"}
TOP_BOILERPLATE = ("原标题", "来源：")  # boilerplate lines the templates put above the paragraphs


@dataclass(frozen=True)
class Outlet:
    id: str
    name: str
    name_en: str
    tagline: str = ""


@dataclass(frozen=True)
class Media:
    kind: str  # audio | video
    file: str
    script_hanzi: str
    script_pinyin: str
    expected_keywords: tuple[str, ...]
    measured_transcript: str = ""

    @property
    def url_path(self) -> str:
        return f"/media/{self.file}"

    @property
    def content_type(self) -> str:
        return MEDIA_TYPES[Path(self.file).suffix]

    @property
    def path(self) -> Path:
        return MEDIA_DIR / self.file


@dataclass(frozen=True)
class Truth:
    overall: str  # positive | negative | neutral
    risk: str  # low | medium | high
    targets: Mapping[str, str]  # watched entity display name → sentiment


@dataclass(frozen=True)
class Article:
    slug: str
    outlet: str
    title: str
    published_at: datetime
    author: str
    language: str
    paragraphs: tuple[str, ...]
    boilerplate: tuple[str, ...]
    encoding: str
    js_body: bool
    media: Media | None
    reprint_of: str | None
    reprint_kind: str | None
    truth: Truth
    summary: str = ""

    @property
    def key(self) -> str:
        """``outlet/slug``, the form ``reprint_of`` uses."""
        return f"{self.outlet}/{self.slug}"

    @property
    def url_path(self) -> str:
        """``/{outlet}/{yyyy}/{mmdd}/{slug}.html`` (the canonical path)."""
        return f"/{self.outlet}/{self.published_at:%Y}/{self.published_at:%m%d}/{self.slug}.html"

    @property
    def body_text(self) -> str:
        """The article text a perfect cleaner would keep: the paragraphs joined by newlines."""
        return "\n".join(self.paragraphs)

    @property
    def boilerplate_top(self) -> tuple[str, ...]:
        return tuple(line for line in self.boilerplate if line.startswith(TOP_BOILERPLATE))

    @property
    def boilerplate_bottom(self) -> tuple[str, ...]:
        return tuple(line for line in self.boilerplate if not line.startswith(TOP_BOILERPLATE))

    @property
    def teaser(self) -> str:
        if self.summary:
            return self.summary
        first = self.paragraphs[0]
        return first if len(first) <= 80 else first[:78].rstrip() + "…"


class ContentError(ValueError):
    """The demo site's YAML is malformed or inconsistent."""


def _read_yaml(name: str) -> Any:
    with open(CONTENT_DIR / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.lru_cache(maxsize=1)
def _watchlist() -> tuple[dict[str, Any], ...]:
    entries = _read_yaml("watchlist.yaml")
    seen: set[str] = set()
    for entry in entries:
        for field in ("id", "name", "type"):
            if not entry.get(field):
                raise ContentError(f"watchlist entry {entry!r} lacks {field}")
        if entry["type"] not in ("ORG", "PER", "LOC", "PRODUCT"):
            raise ContentError(f"watchlist {entry['id']}: bad type {entry['type']!r}")
        if entry["id"] in seen:
            raise ContentError(f"watchlist id {entry['id']} twice")
        seen.add(entry["id"])
        entry.setdefault("aliases", [])
        entry.setdefault("ambiguous", False)
    return tuple(entries)


def load_watchlist() -> list[dict[str, Any]]:
    """The watched entities: dicts with id, name, type, aliases, ambiguous (fresh copies)."""
    return copy.deepcopy(list(_watchlist()))


@functools.lru_cache(maxsize=1)
def _content() -> tuple[tuple[Outlet, ...], tuple[Article, ...]]:
    raw = _read_yaml("articles.yaml")
    outlets = tuple(Outlet(**o) for o in raw["outlets"])
    outlet_ids = {o.id for o in outlets}
    watched = {e["name"] for e in _watchlist()}
    articles = tuple(_article(a, outlet_ids, watched) for a in raw["articles"])
    _check_consistency(articles)
    return outlets, articles


def _article(raw: dict[str, Any], outlet_ids: set[str], watched: set[str]) -> Article:
    where = f"{raw.get('outlet')}/{raw.get('slug')}"
    try:
        truth_raw = raw["truth"]
        truth = Truth(
            overall=truth_raw["overall"],
            risk=truth_raw["risk"],
            targets=MappingProxyType(dict(truth_raw.get("targets") or {})),
        )
        media_raw = raw.get("media")
        media = None
        if media_raw:
            media = Media(
                kind=media_raw["kind"],
                file=media_raw["file"],
                script_hanzi=media_raw["script_hanzi"],
                script_pinyin=media_raw["script_pinyin"],
                expected_keywords=tuple(media_raw["expected_keywords"]),
                measured_transcript=str(media_raw.get("measured_transcript") or ""),
            )
        published = raw["published_at"]
        article = Article(
            slug=raw["slug"],
            outlet=raw["outlet"],
            title=raw["title"],
            published_at=published if isinstance(published, datetime) else datetime.fromisoformat(published),
            author=raw["author"],
            language=raw.get("language", "zh"),
            paragraphs=tuple(raw["paragraphs"]),
            boilerplate=tuple(raw.get("boilerplate") or ()),
            encoding=raw.get("encoding", "utf-8"),
            js_body=bool(raw.get("js_body", False)),
            media=media,
            reprint_of=raw.get("reprint_of"),
            reprint_kind=raw.get("reprint_kind"),
            truth=truth,
            summary=raw.get("summary", ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ContentError(f"article {where}: {exc!r}") from exc

    problems = []
    if article.outlet not in outlet_ids:
        problems.append(f"unknown outlet {article.outlet!r}")
    if article.published_at.utcoffset() is None:
        problems.append("published_at has no UTC offset")
    if article.language not in ("zh", "en"):
        problems.append(f"language {article.language!r}")
    if article.encoding not in ("utf-8", "gbk"):
        problems.append(f"encoding {article.encoding!r}")
    if not article.paragraphs or not all(isinstance(p, str) and p.strip() for p in article.paragraphs):
        problems.append("empty paragraph")
    if truth.overall not in SENTIMENTS or truth.risk not in RISKS:
        problems.append(f"truth {truth.overall!r}/{truth.risk!r}")
    for name, label in truth.targets.items():
        if name not in watched:
            problems.append(f"target {name!r} not in the watchlist")
        if label not in SENTIMENTS:
            problems.append(f"target {name!r}: {label!r}")
    if (article.reprint_of is None) != (article.reprint_kind is None) or article.reprint_kind not in (
        None,
        "exact",
        "edited",
    ):
        problems.append(f"reprint_of/reprint_kind {article.reprint_of!r}/{article.reprint_kind!r}")
    if media is not None:
        if media.kind not in ("audio", "video") or Path(media.file).suffix not in MEDIA_TYPES:
            problems.append(f"media {media.kind}/{media.file}")
        if not 2 <= len(media.expected_keywords) <= 4:
            problems.append("media needs 2-4 expected_keywords")
    if article.encoding == "gbk":
        try:
            "".join((article.title, article.author, *article.paragraphs, *article.boilerplate)).encode("gbk")
        except UnicodeEncodeError as exc:
            problems.append(f"not encodable as GBK: {exc}")
    if problems:
        raise ContentError(f"article {where}: " + "; ".join(problems))
    return article


def _check_consistency(articles: tuple[Article, ...]) -> None:
    keys = [a.key for a in articles]
    if len(set(keys)) != len(keys):
        raise ContentError("duplicate outlet/slug")
    paths = [a.url_path for a in articles]
    if len(set(paths)) != len(paths):
        raise ContentError("duplicate URL path")
    by_key = {a.key: a for a in articles}
    for a in articles:
        if a.reprint_of is None:
            continue
        original = by_key.get(a.reprint_of)
        if original is None:
            raise ContentError(f"{a.key}: reprint_of {a.reprint_of} does not exist")
        if original.outlet == a.outlet or original.published_at >= a.published_at:
            raise ContentError(f"{a.key}: a reprint must be on another outlet and later than {original.key}")
        if a.reprint_kind == "exact" and a.paragraphs != original.paragraphs:
            raise ContentError(f"{a.key}: exact reprint differs from {original.key}")


def load_outlets() -> list[Outlet]:
    return list(_content()[0])


def load_articles() -> list[Article]:
    """Every article of the demo site (immutable objects), in the YAML's order."""
    return list(_content()[1])


def articles_by_outlet(outlet: str) -> list[Article]:
    """The outlet's articles, newest first (the order of its list pages and feed)."""
    return sorted(
        (a for a in load_articles() if a.outlet == outlet),
        key=lambda a: (a.published_at, a.slug),
        reverse=True,
    )
