"""`yuqing crawl` fails loudly when a source's crawler cannot run, instead of reporting 0 articles."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

SOURCES = """sources:
  - name: citynews
    start: [{url: "http://127.0.0.1:9/", kind: list}]
    article_patterns: ['/news/']
"""


def test_an_unreachable_object_store_fails_the_crawl_with_exit_code_2(tmp_path):
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES, encoding="utf-8")
    env = {**os.environ, "YQ_DATA_DIR": str(tmp_path / "data"), "YQ_OBJECT_STORE_URL": "s3://missing-bucket/yq",
           "YQ_S3__ENDPOINT_URL": "http://127.0.0.1:9", "YQ_S3__ACCESS_KEY_ID": "k", "YQ_S3__SECRET_ACCESS_KEY": "s"}
    result = subprocess.run([sys.executable, "-m", "yuqing.cli", "crawl", "--sources", str(sources)],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "source 'citynews' could not crawl" in result.stdout
