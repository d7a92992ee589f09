"""`yuqing demo --no-serve` on the bundled demo site, then the report API checked against the site's ground truth."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import unicodedata

import pytest

from tests.api.conftest import LiveServer, make_key
from yuqing.demo_site import load_articles
from yuqing.settings import configure

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "yuqing.cli", "demo", "--no-serve", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    print(result.stdout)
    return data_dir, result.stdout, elapsed


@pytest.fixture
def client(demo_run):
    from yuqing.demo import demo_watchlist

    data_dir, _, _ = demo_run
    from yuqing.db import make_engine, session_factory

    settings = configure(data_dir=data_dir, watchlist=[e.model_dump() for e in demo_watchlist()])
    engine = make_engine(settings.db_url)
    key = make_key(session_factory(engine), "read", "end-to-end")
    engine.dispose()
    with LiveServer(settings, api_key=key) as http:
        yield http


def _same_title(a: str, b: str) -> bool:
    # Cleaning NFKC-normalises and drops the spaces news sites put between the parts of a Chinese headline.
    def norm(title: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", title))

    return norm(a) == norm(b)


def _find(client, article):
    words = article.title.split()[0][:10]
    items = client.get("/documents", params={"q": words, "page_size": 50}).json()["items"]
    matches = [d for d in items if _same_title(d["title"], article.title) and d["source"] == article.outlet]
    assert matches, f"{article.outlet}/{article.slug} ({article.title}) is not in the API"
    return client.get(f"/documents/{matches[0]['id']}").json()


def test_demo_finishes_in_time_and_prints_a_summary(demo_run):
    _, stdout, elapsed = demo_run
    assert elapsed < 300, f"yuqing demo took {elapsed:.0f}s"
    assert "overall sentiment" in stdout and "reprints linked" in stdout
    assert re.search(r"API key .*: yq_[0-9a-f]{8}_\S+", stdout) and "/dashboard" in stdout


def test_clear_negative_and_positive_stories_are_reported_as_such(client):
    articles = [a for a in load_articles() if not a.js_body and not a.reprint_of and a.language == "zh"]
    for polarity in ("negative", "positive"):
        clear = [a for a in articles if a.truth.overall == polarity and set(a.truth.targets.values()) == {polarity}]
        assert clear, f"the demo site has no clearly {polarity} story"
        correct = 0
        for article in clear:
            detail = _find(client, article)
            targets = {t["name"]: t["sentiment"] for t in detail["analysis"]["targets"]}
            if detail["analysis"]["sentiment"] == polarity and all(targets.get(n) == polarity for n in article.truth.targets):
                correct += 1
        assert correct / len(clear) >= 0.8, f"{correct}/{len(clear)} clearly {polarity} stories reported {polarity}"


def test_entity_report_counts_match_the_ground_truth_direction(client):
    watched = {e["name"] for e in client.get("/reports/entities").json()}
    for name in watched:
        report = client.get(f"/reports/entities/{name}").json()
        truth = [a.truth.targets[name] for a in load_articles() if name in a.truth.targets and not a.js_body]
        assert report["mentions"] >= 0.8 * len(truth), f"{name}: {report['mentions']} mentions, {len(truth)} expected"
        if truth.count("negative") > truth.count("positive"):
            assert report["by_sentiment"]["negative"] > report["by_sentiment"]["positive"], name


def test_reprints_are_linked_to_the_original(client):
    articles = {f"{a.outlet}/{a.slug}": a for a in load_articles()}
    reprints = [a for a in articles.values() if a.reprint_of]
    assert {a.reprint_kind for a in reprints} == {"exact", "edited"}
    for reprint in reprints:
        copy = _find(client, reprint)
        original = _find(client, articles[reprint.reprint_of])
        assert copy["id"] != original["id"]
        story_ids = {m["id"] for m in copy["story"]}
        assert original["id"] in story_ids, f"{reprint.slug} not in the story of {reprint.reprint_of}"
    unique = client.get("/documents", params={"include_duplicates": "false", "page_size": 200}).json()
    everything = client.get("/documents", params={"page_size": 200}).json()
    assert everything["total"] - unique["total"] >= len(reprints)


def test_speech_in_audio_and_video_is_searchable(client):
    for article in (a for a in load_articles() if a.media):
        # Whisper base mishears a word now and then: most spoken keywords, not all, must find the article.
        found = []
        for keyword in article.media.expected_keywords:
            hits = client.get("/documents", params={"q": keyword, "page_size": 50}).json()["items"]
            if any(_same_title(h["title"], article.title) and h["has_transcript"] for h in hits):
                found.append(keyword)
        assert len(found) * 2 >= len(article.media.expected_keywords), (article.slug, found)
        detail = _find(client, article)
        segments = detail["transcripts"][0]["segments"]
        assert segments and all(s["end"] > s["start"] for s in segments)
