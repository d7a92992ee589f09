"""The one settings object. Only this module reads the environment.

Sources, highest first: explicit overrides (tests, CLI flags), ``YQ_*`` environment
variables (nested with ``__``, e.g. ``YQ_LLM__BASE_URL``), files in ``secrets_dir``,
the YAML file named by ``YQ_CONFIG`` (or ``--config``), then the defaults below,
which run everything on one laptop: a local folder as object store, SQLite,
the offline analyzer.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from yuqing.errors import ConfigError

_CONFIG_ENV = "YQ_CONFIG"


class WatchEntity(BaseModel):
    """A company, product or person the analysts watch."""

    id: str = Field(pattern=r"^[\w\-.]+$")
    name: str
    type: Literal["ORG", "PER", "LOC", "PRODUCT"] = "ORG"
    aliases: list[str] = Field(default_factory=list)
    ambiguous: bool = Field(default=False, description="an alias is also a common word (苹果)")

    @property
    def names(self) -> list[str]:
        """The name and every alias, longest first so longer matches win."""
        return sorted({self.name, *self.aliases}, key=len, reverse=True)


class S3Settings(BaseModel):
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    addressing_style: Literal["path", "virtual", "auto"] = "path"


class LLMSettings(BaseModel):
    backend: Literal["openai", "transformers"] = Field(
        default="openai",
        description="openai: any OpenAI-compatible server (vLLM) at base_url; transformers: run `model` (a local "
        "Hugging Face model directory) in-process, needs pip install 'yuqing[local-llm]'",
    )
    base_url: str | None = Field(default=None, description="OpenAI-compatible URL, e.g. http://vllm:8000/v1")
    model: str = Field(default="Qwen/Qwen2.5-7B-Instruct", description="served model name (openai) or model directory (transformers)")
    api_key: SecretStr = SecretStr("EMPTY")
    prompt_version: str = Field(default="v2", description="a folder under analysis/prompts/")
    timeout_s: float = Field(default=300.0, gt=0, description="per request, queueing inside the server included")
    max_concurrency: int = Field(default=64, ge=1, description="requests in flight, so vLLM batches them")
    max_chunk_chars: int = Field(default=3000, ge=200, description="longer documents are split on sentence ends and merged")
    max_output_tokens: int = Field(default=1024, ge=64)
    temperature: float = Field(default=0.1, ge=0, le=2)
    top_p: float = Field(default=0.8, gt=0, le=1)
    repetition_penalty: float = Field(default=1.1, gt=0)
    batch_size: int = Field(default=16, ge=1, description="documents per Celery analysis task")
    rate_limit: str | None = Field(default=None, description="Celery rate limit per worker for analysis tasks, e.g. '120/m'")


class ASRSettings(BaseModel):
    backend: Literal["faster-whisper", "openai-whisper"] = Field(
        default="faster-whisper", description="openai-whisper needs the optional extra: pip install 'yuqing[openai-whisper]'"
    )
    model: str = Field(
        default="base",
        description="faster-whisper: a CTranslate2 model directory, or 'base' for the bundled multilingual base; "
        "openai-whisper: a .pt checkpoint file",
    )
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: str = Field(default="int8", description="faster-whisper only (openai-whisper: float16 on CUDA, else float32)")
    beam_size: int = Field(default=5, ge=1, description="beam 1 is only 1.2-1.5x faster and loses key words on Chinese")
    batch_size: int = Field(default=8, ge=1, description="faster-whisper: speech pieces (<= 30 s, cut at pauses) decoded together")
    language: str | None = None
    cpu_threads: int = Field(default=0, ge=0, description="threads per process; 0 = this machine's cores // worker_processes")
    worker_processes: int = Field(default=1, ge=1, description="processes sharing the cores; `yuqing worker` sets it to --concurrency")
    max_duration_s: float = Field(default=4 * 3600, gt=0)
    window_s: float = Field(
        default=120, ge=32, description="long media is decoded and transcribed in windows of about this many seconds, "
        "cut at pauses (its samples and VAD activations take ~0.4 MB per second of window)"
    )

    @model_validator(mode="after")
    def _openai_whisper_needs_a_checkpoint(self) -> ASRSettings:
        if self.backend == "openai-whisper" and not self.model.endswith(".pt"):
            raise ValueError(
                f"YQ_ASR__BACKEND=openai-whisper loads a .pt checkpoint, but YQ_ASR__MODEL={self.model!r}; "
                "set YQ_ASR__MODEL to the checkpoint file (e.g. /models/large-v3.pt), or use YQ_ASR__BACKEND=faster-whisper"
            )
        return self


class CrawlSettings(BaseModel):
    sources_file: Path | None = None
    variables: dict[str, str] = Field(default_factory=dict, description="values for ${name} placeholders in the sources file")
    user_agents: list[str] = Field(default_factory=list, description="empty = the built-in pool")
    concurrent_requests_per_domain: int = Field(default=8, ge=1)
    download_delay_s: float = Field(default=0.0, ge=0)
    obey_robots_txt: bool = Field(default=True, description="a source's obey_robots_txt overrides this")
    max_media_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_page_bytes: int = Field(default=10 * 1024 * 1024, gt=0, description="larger pages are refused and recorded as failures")
    download_timeout_s: float = Field(default=30.0, gt=0)
    retry_times: int = Field(default=2, ge=0, description="retries of a 5xx or timed-out request")
    backoff_base_s: float = Field(default=1.0, ge=0, description="first retry waits this long, doubling each time")
    backoff_max_s: float = Field(default=60.0, ge=0, description="cap on one wait, Retry-After included")
    proxies: list[str] = Field(default_factory=list, description="http://[user:pass@]host:port proxies to rotate; empty = direct")
    ban_http_codes: list[int] = Field(default_factory=lambda: [403, 429], description="statuses that mean the site blocks us")
    ban_markers: list[str] = Field(
        default_factory=lambda: [
            # The whole title is the challenge ("安全验证 - 某网"), not a headline about one ("警惕验证码诈骗").
            (
                r"<title>\s*(?:安全验证|人机验证|访问验证|滑动验证|身份验证|请输入验证码|验证码|captcha|Just a moment|Attention Required)"
                r"[\s!.。！]*(?:[-|_–—]\s*[^<]{0,30})?</title>"
            ),
            r"/cdn-cgi/challenge-platform/|id=[\"']?nc_1_wrapper",  # Cloudflare and Aliyun challenge pages
        ],
        description="regexes (case-insensitive) over the start of a 200 page that mark a captcha/ban page",
    )
    ban_max_retries: int = Field(default=3, ge=0, description="tries on another proxy/User-Agent before a ban is a failure")
    depth_limit: int = Field(default=100, ge=0, description="0 = no limit")
    max_pages: int = Field(default=20000, ge=0, description="responses per source and run (a source's max_pages overrides); 0 = no limit")
    jobdir: Path | None = Field(default=None, description="keep the crawl state here so a stopped crawl resumes (one folder per source)")
    flush_every: int = Field(default=200, ge=1, description="documents and seen URLs are saved every this many articles")
    seen_compact_after: int = Field(default=64, ge=2, description="merge a source's seen-URL shards once there are this many")

    # render: true sources (headless Chromium through Selenium; Debian packages chromium chromium-driver)
    render_pool_size: int = Field(default=2, ge=1, le=16, description="headless Chromium drivers per render source")
    render_wait_s: float = Field(default=10.0, gt=0, description="most seconds to wait for a source's wait_for selector")
    render_page_load_timeout_s: float = Field(default=30.0, gt=0, description="most seconds for one page load")
    chromium_path: Path = Path("/usr/bin/chromium")
    chromedriver_path: Path = Path("/usr/bin/chromedriver")

    @field_validator("ban_markers")
    @classmethod
    def _markers_compile(cls, markers: list[str]) -> list[str]:
        for marker in markers:
            try:
                re.compile(marker)
            except re.error as exc:
                raise ValueError(f"YQ_CRAWL__BAN_MARKERS: {marker!r} is not a valid regex: {exc}") from exc
        return markers

    @field_validator("proxies")
    @classmethod
    def _proxy_urls(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            if urlparse(proxy).scheme not in ("http", "https") or not urlparse(proxy).netloc:
                raise ValueError(f"YQ_CRAWL__PROXIES: {proxy!r} must look like http://host:port")
        return proxies


class CleanSettings(BaseModel):
    spark_master: str = "local[2]"
    near_duplicate_threshold: float = Field(default=0.8, gt=0, le=1)
    min_text_chars: int = Field(default=40, ge=0)


class APISettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    page_size_max: int = Field(default=200, ge=1, le=1000)
    cors_origins: list[str] = Field(default_factory=list, description="browser origins allowed to call the API; empty = none")
    rate_limit: str = Field(default="600/minute", description="requests per API key, in `limits` notation (e.g. 100/second)")
    rate_limit_storage_url: str = Field(default="memory://", description="memory:// (per process) or redis://host:6379/1 (shared)")
    webhook_secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 key signing alert webhooks; none = unsigned")
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=4, ge=1, le=20)
    webhook_backoff_s: float = Field(default=1.0, ge=0, description="first retry waits this long, doubling each time")

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"YQ_API__RATE_LIMIT={value!r} is not a rate like '600/minute' or '10/second;1000/hour'") from exc
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="YQ_",
        env_nested_delimiter="__",
        secrets_dir=None,
        extra="forbid",
    )

    data_dir: Path = Field(default=Path(".yuqing"), description="where embedded defaults keep their files")
    cache_dir: Path = Field(
        default=Path("~/.cache/yuqing").expanduser(),
        description="heavy reusable files outside the clone (assembled Whisper model), keyed by version",
    )
    object_store_url: str | None = Field(default=None, description="file:///path or s3://bucket/prefix")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    broker_url: str = "redis://127.0.0.1:6379/0"
    broker_visibility_timeout_s: int = Field(
        default=6 * 3600, ge=1,
        description="Redis re-delivers a task a dead worker had taken after this long; longer than the longest task "
        "(an hour-long transcription), or it runs twice",
    )
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    analyzer: Literal["offline", "llm"] = "offline"
    watchlist: list[WatchEntity] = Field(default_factory=list)
    s3: S3Settings = Field(default_factory=S3Settings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    asr: ASRSettings = Field(default_factory=ASRSettings)
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    clean: CleanSettings = Field(default_factory=CleanSettings)
    api: APISettings = Field(default_factory=APISettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, file_secret_settings]
        config_path = os.environ.get(_CONFIG_ENV)
        if config_path:
            if not Path(config_path).is_file():
                raise ConfigError(f"{_CONFIG_ENV}={config_path} does not exist; point it at a YAML config file")
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_path, yaml_file_encoding="utf-8"))
        return tuple(sources)

    @field_validator("object_store_url")
    @classmethod
    def _known_store_scheme(cls, value: str | None) -> str | None:
        if value is not None and urlparse(value).scheme not in ("file", "s3"):
            raise ValueError("YQ_OBJECT_STORE_URL must start with file:// or s3:// (e.g. s3://bucket/prefix)")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("YQ_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @model_validator(mode="after")
    def _unique_watch_ids(self) -> Settings:
        ids = [e.id for e in self.watchlist]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"watchlist ids must be unique; repeated: {', '.join(duplicates)}")
        return self

    @property
    def store_url(self) -> str:
        return self.object_store_url or (self.data_dir.resolve() / "store").as_uri()

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir.resolve() / 'yuqing.db')}"


_overrides: dict[str, Any] = {}


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import)."""
    try:
        return Settings(**_overrides)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc


def configure(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Rebuild settings from a config file and explicit overrides (CLI flags, tests)."""
    if config_file is not None:
        os.environ[_CONFIG_ENV] = str(config_file)
    _overrides.clear()
    _overrides.update({k: v for k, v in overrides.items() if v is not None})
    get_settings.cache_clear()
    return get_settings()


def reset() -> None:
    """Forget overrides and cached settings; the next get_settings() reads the environment again."""
    _overrides.clear()
    get_settings.cache_clear()
