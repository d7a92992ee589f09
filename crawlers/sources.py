"""News sources as configuration (sources.yaml): add an outlet with YAML, not Python."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import cssselect
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from yuqing.errors import ConfigError

EXAMPLES_DIR = Path(__file__).parent / "sources"
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


class StartURL(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    kind: Literal["list", "rss", "sitemap"] = "list"


class Selectors(BaseModel):
    """Optional CSS selectors that override generic extraction."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    body: str | None = None
    published_at: str | None = None
    author: str | None = None


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_\-]+$")
    start: list[StartURL] = Field(min_length=1)
    allowed_domains: list[str] = Field(default_factory=list)
    article_patterns: list[str] = Field(min_length=1, description="regexes an article URL must match")
    next_page: str = Field(default="a[rel=next]::attr(href)", description="CSS selector of the next list page")
    selectors: Selectors = Field(default_factory=Selectors)
    render: bool = Field(default=False, description="render article pages with headless Chromium (JavaScript bodies)")
    wait_for: str | None = Field(
        default=None, description="CSS selector a rendered article shows once its script has run (render: true only)"
    )
    concurrency: int = Field(default=8, ge=1)
    delay_s: float = Field(default=0.0, ge=0)
    max_list_pages: int = Field(default=50, ge=1)
    max_pages: int | None = Field(default=None, ge=0, description="responses per run (default: crawl.max_pages); 0 = no limit")
    obey_robots_txt: bool | None = Field(default=None, description="override crawl.obey_robots_txt for this source")
    schedule: str = Field(default="*/30 * * * *", description="cron schedule for periodic crawls")
    tested: bool = Field(default=True, description="false for example sources nobody has crawled from here")

    @field_validator("article_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"article pattern {pattern!r} is not a valid regex: {exc}") from exc
        return patterns

    @field_validator("schedule")
    @classmethod
    def _schedule_parses(cls, schedule: str) -> str:
        from crawlers.schedule import parse_cron  # schedule imports this module

        parse_cron(schedule)
        return schedule

    @field_validator("wait_for")
    @classmethod
    def _wait_for_parses(cls, selector: str | None) -> str | None:
        if selector is not None:
            try:
                cssselect.parse(selector)
            except cssselect.SelectorError as exc:
                raise ValueError(f"wait_for {selector!r} is not a valid CSS selector: {exc}") from exc
        return selector

    @model_validator(mode="after")
    def _wait_for_needs_render(self) -> Source:
        if self.wait_for is not None and not self.render:
            raise ValueError("wait_for only applies to rendered pages; set render: true or remove wait_for")
        return self


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[Source]


def load_sources(path: Path, variables: dict[str, str] | None = None) -> list[Source]:
    """Read and validate a sources file; ``${name}`` placeholders are filled from ``variables``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read sources file {path}: {exc}") from exc
    values = variables or {}

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ConfigError(f"{path}: placeholder ${{{match.group(1)}}} has no value (pass --var {match.group(1)}=...)")
        return values[match.group(1)]

    # Only ${name} is a placeholder: a bare $ is a regex anchor in article patterns.
    text = _PLACEHOLDER.sub(fill, text)
    try:
        parsed = SourcesFile.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(_describe(path, text, err) for err in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc
    names = [s.name for s in parsed.sources]
    if len(names) != len(set(names)):
        raise ConfigError(f"{path}: source names must be unique")
    return parsed.sources


def _describe(path: Path, text: str, err: dict) -> str:  # type: ignore[type-arg]
    loc = list(err["loc"])
    where = "/".join(str(p) for p in loc)
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        try:
            name = yaml.safe_load(text)["sources"][loc[1]].get("name", f"#{loc[1]}")
        except (KeyError, IndexError, AttributeError, TypeError):
            name = f"#{loc[1]}"
        where = f"source {name!r}, field {'/'.join(str(p) for p in loc[2:]) or '(whole)'}"
    return f"{where}: {err['msg']}"
