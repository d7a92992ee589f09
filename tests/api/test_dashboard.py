"""The dashboard in real headless Chromium against a real API server on the demo site's articles.

The database is seeded through the repository functions the stages use: the demo site's articles as clean
documents (reprints linked to their originals), analyses that carry the site's ground-truth labels (so what the
page must show is known, whatever the analyzers do), and a transcript for the audio clip.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from api.alerts.evaluation import run_alerts
from api.auth import create_api_key
from tests.api.conftest import LiveServer
from yuqing.contracts import Analysis, CleanDocument, Evidence, TargetSentiment, Transcript, TranscriptSegment
from yuqing.db import make_engine, migrate, session_factory
from yuqing.db.repository import upsert_analysis, upsert_documents, upsert_transcripts
from yuqing.demo import demo_watchlist
from yuqing.demo_site import Article, load_articles
from yuqing.ids import canonical_url, doc_id, sha256_bytes
from yuqing.settings import Settings, WatchEntity, configure

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SITE = "http://demo.yuqing.test"
WAIT_S = 20
# Chart.js colours of the stacked bars (api/static/js/charts.js COLORS).
NEGATIVE_RGB = (0xD9, 0x48, 0x0F)
POSITIVE_RGB = (0x2F, 0x9E, 0x66)


@dataclass
class Seeded:
    settings: Settings
    key: str
    media_doc: str  # the article with the audio clip and its transcript
    writer_key: str
    days: list[date]  # the days the articles were published


def _clean_documents() -> tuple[list[CleanDocument], dict[str, Article]]:
    """The demo site's articles as cleaning would store them (reprints point at their originals), by id."""
    articles = load_articles()
    ids = {a.key: doc_id(f"{SITE}{a.url_path}") for a in articles}
    documents = []
    for article in articles:
        url = f"{SITE}{article.url_path}"
        shas = [sha256_bytes(article.media.path.read_bytes())] if article.media else []
        documents.append(CleanDocument(
            id=ids[article.key], url=url, canonical_url=canonical_url(url), source=article.outlet, title=article.title,
            text=article.body_text, language=article.language, published_at=article.published_at,
            crawled_at=datetime(2026, 11, 13, tzinfo=UTC), content_hash=sha256_bytes(article.body_text.encode()),
            story_id=ids[article.reprint_of] if article.reprint_of else ids[article.key],
            duplicate_of=ids[article.reprint_of] if article.reprint_of else None,
            duplicate_kind=("exact" if article.reprint_kind == "exact" else "near") if article.reprint_of else None,
            media_sha256=shas, transcript_text=article.media.script_hanzi if article.media else None,
        ))
    return documents, {ids[a.key]: a for a in articles}


def _sentences_naming(text: str, names: list[str]) -> list[Evidence]:
    found = []
    for match in re.finditer(r"[^。！？\n]+[。！？]?", text):
        if any(name in match.group() for name in names):
            found.append(Evidence(quote=match.group(), start=match.start(), end=match.end()))
    return found


def _ground_truth_analysis(document: CleanDocument, article: Article, watchlist: list[WatchEntity]) -> Analysis:
    """The demo site's labels as an analysis. Evidence: for the document, the first sentence naming a target; for
    each non-neutral target, the last sentence naming it (so quotes sit at several offsets, some overlapping)."""
    by_name = {e.name: e for e in watchlist}
    targets, first_mentions = [], []
    for name, sentiment in article.truth.targets.items():
        entity = by_name[name]
        naming = _sentences_naming(document.text, [entity.name, *entity.aliases])
        first_mentions += naming[:1]
        score = {"positive": 0.6, "negative": -0.6, "neutral": 0.0}[sentiment]
        evidence = naming[-1:] if sentiment != "neutral" else []
        targets.append(TargetSentiment(entity_id=entity.id, name=name, sentiment=sentiment, score=score, evidence=evidence))
    overall = article.truth.overall
    return Analysis(
        doc_id=document.id, analyzer="ground-truth", analyzer_version="demo-truth", sentiment=overall,
        score={"positive": 0.5, "negative": -0.5, "neutral": 0.0}[overall], targets=targets,
        evidence=sorted(first_mentions, key=lambda e: e.start)[:1] if overall != "neutral" else [],
        summary=article.teaser, risk=article.truth.risk, created_at=datetime(2026, 11, 13, tzinfo=UTC),
    )


def _transcript(sha: str, script: str) -> Transcript:
    sentences = [s + "。" for s in script.split("。") if s]
    return Transcript(
        media_sha256=sha, media_key=f"raw/media/{sha}.mp3", backend="faster-whisper", model="base", language="zh",
        duration_s=3.0 * len(sentences),
        segments=[TranscriptSegment(start=3.0 * i, end=3.0 * i + 2.8, text=s) for i, s in enumerate(sentences)],
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    settings = configure(data_dir=tmp_path_factory.mktemp("dashboard"), watchlist=[e.model_dump() for e in demo_watchlist()])
    engine = make_engine(settings.db_url)
    migrate(engine)
    sessions = session_factory(engine)
    documents, articles = _clean_documents()
    analyses = {d.id: _ground_truth_analysis(d, articles[d.id], settings.watchlist) for d in documents}
    media_doc = next(d for d in documents if d.media_sha256)
    with sessions.begin() as session:
        upsert_documents(session, documents)
        for analysis in analyses.values():
            upsert_analysis(session, analysis)
        upsert_transcripts(session, [_transcript(media_doc.media_sha256[0], media_doc.transcript_text or "")])
        key = create_api_key(session, "dashboard-test", "read").key
        writer = create_api_key(session, "dashboard-seeder", "write").key
    engine.dispose()
    return Seeded(settings=settings, key=key, writer_key=writer, media_doc=media_doc.id,
                  days=sorted({d.published_at.date() for d in documents if d.published_at}))


@pytest.fixture(scope="module")
def server(seeded: Seeded) -> Iterator[httpx.Client]:
    with LiveServer(seeded.settings) as client:
        # Alerts as an analyst gets them: rules posted to the API, then evaluated day by day.
        for rule in ({"entity": "星辰科技", "kind": "high_risk"},
                     {"entity": "星辰科技", "kind": "negative_volume", "window_days": 7, "z_threshold": 1.5, "min_count": 2}):
            created = client.post("/alert-rules", json=rule, headers={"Authorization": f"Bearer {seeded.writer_key}"})
            assert created.status_code == 201, created.text
        engine = make_engine(seeded.settings.db_url)
        first, last = seeded.days[0], seeded.days[-1]
        for day in (first + timedelta(days=i) for i in range(-1, (last - first).days + 2)):  # ±1 day: mention days are UTC
            run_alerts(session_factory(engine), seeded.settings, day, deliver_webhooks=False)
        engine.dispose()
        client.headers["Authorization"] = f"Bearer {seeded.key}"
        yield client


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium at laptop size (1366x900, scale 1, so screenshot pixels are CSS pixels)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("the dashboard test needs Debian chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
                 "--window-size=1366,900", "--force-device-scale-factor=1", "--lang=zh-CN",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console errors, checked by each test
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
        env.setenv("SE_AVOID_STATS", "true")
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver, server: httpx.Client, route: str, key: str | None) -> None:
    """Load the dashboard fresh at `route` (e.g. "#/documents"), with `key` handed over in the fragment."""
    driver.get(f"{server.base_url}/dashboard")
    driver.execute_script("localStorage.clear()")
    driver.get("about:blank")  # so the next load is a fresh page, not a same-document fragment change
    fragment = f"#key={key}&" if key else "#"
    driver.get(f"{server.base_url}/dashboard{fragment}{route.removeprefix('#')}")


def _wait(driver, css: str, *, count: int = 1):
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(
        lambda d: (found := d.find_elements(By.CSS_SELECTOR, css)) and len(found) >= count and found
    )


def _js_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _week(server: httpx.Client) -> tuple[str, str]:
    """The page's default window: the 7 days ending on the newest day any watched entity was mentioned."""
    newest = max(e["last_mentioned"] for e in server.get("/entities").json() if e["last_mentioned"])
    until = datetime.fromisoformat(newest)
    return (until - timedelta(days=6)).date().isoformat(), until.date().isoformat()


def test_key_from_the_link_loads_one_card_per_watched_entity_with_the_api_numbers(browser, server, seeded):
    _open(browser, server, "#/", seeded.key)
    cards = _wait(browser, "#entity-cards .entity-card", count=len(seeded.settings.watchlist))
    since, until = _week(server)
    expected = {e["name"]: e for e in server.get("/entities", params={"since": since, "until": until}).json()}
    shown = {
        card.find_element(By.CSS_SELECTOR, ".card-title").text: (
            card.find_element(By.CSS_SELECTOR, "[data-metric=mentions]").text,
            card.find_element(By.CSS_SELECTOR, "[data-metric=negative-share]").text,
        )
        for card in cards
    }
    assert set(shown) == {e.name for e in seeded.settings.watchlist}
    for name, (mentions, negative_share) in shown.items():
        assert mentions == str(expected[name]["mentions"]), name
        assert negative_share == (f"{expected[name]['negative_share'] * 100:.0f}%" if expected[name]["mentions"] else "—"), name
    assert sum(e["mentions"] for e in expected.values()) > 0, "the seeded week has no mentions: nothing was checked"
    assert f"{since} 至 {until}" in browser.find_element(By.ID, "period-label").text
    # The key moved from the address into the browser's storage.
    assert "key=" not in browser.execute_script("return location.href")
    assert browser.execute_script("return localStorage.getItem('yuqing.apiKey')") == seeded.key
    assert _js_errors(browser) == []


def test_screenshot_shows_each_trend_chart_drawn_in_the_colours_of_its_data(browser, server, seeded, tmp_path):
    _open(browser, server, "#/", seeded.key)
    panels = _wait(browser, "#trend-grid .trend-panel")
    _wait(browser, "#entity-cards .sparkline canvas", count=len(seeded.settings.watchlist))
    # One tall window so the whole page is in one screenshot and element rectangles are screenshot coordinates.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1366, height + 140)
    browser.execute_script("window.scrollTo(0, 0)")
    _wait(browser, "#trend-grid .trend-panel canvas")
    browser.execute_script("return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    path = tmp_path / "dashboard-overview.png"
    browser.save_screenshot(str(path))
    print(f"dashboard screenshot: {path}")
    browser.set_window_size(1366, 900)
    image = Image.open(path).convert("RGB")

    def plot_pixels_near(canvas, rgb: tuple[int, int, int]) -> int:
        """Pixels of about this colour inside the chart's plot area (the legend's swatches are outside it)."""
        rect = canvas.rect
        area = browser.execute_script("return Chart.getChart(arguments[0]).chartArea", canvas)
        left, top = rect["x"] + area["left"], rect["y"] + area["top"]
        box = image.crop((int(left), int(top), int(rect["x"] + area["right"]), int(rect["y"] + area["bottom"])))
        return sum(1 for p in box.getdata() if all(abs(a - b) <= 12 for a, b in zip(p, rgb, strict=True)))

    since, until = _week(server)
    checked = 0
    for panel in browser.find_elements(By.CSS_SELECTOR, "#trend-grid .trend-panel"):
        entity = panel.get_attribute("data-entity")
        report = server.get(f"/entities/{entity}", params={"since": since, "until": until}).json()
        canvas = panel.find_element(By.TAG_NAME, "canvas")
        negative = sum(d["negative"] for d in report["daily"])
        positive = sum(d["positive"] for d in report["daily"])
        assert (plot_pixels_near(canvas, NEGATIVE_RGB) > 100) == (negative > 0), f"{entity}: {negative} negative mentions"
        assert (plot_pixels_near(canvas, POSITIVE_RGB) > 100) == (positive > 0), f"{entity}: {positive} positive mentions"
        checked += 1
    assert checked == len(panels) and checked >= 3
    drawn = 0
    for card in browser.find_elements(By.CSS_SELECTOR, "#entity-cards .entity-card"):
        canvas = card.find_element(By.CSS_SELECTOR, ".sparkline canvas")
        rect = canvas.rect
        assert rect["width"] > 100 and rect["height"] > 20
        box = image.crop((int(rect["x"]), int(rect["y"]), int(rect["x"] + rect["width"]), int(rect["y"] + rect["height"])))
        inked = sum(1 for p in box.getdata() if min(p) < 200)  # the line; its fill is lighter
        if card.find_element(By.CSS_SELECTOR, "[data-metric=mentions]").text != "0":
            assert inked > rect["width"], f"{card.get_attribute('data-entity')}: sparkline not drawn"
            drawn += 1
    assert drawn >= 3
    assert _js_errors(browser) == []


def _rows(driver) -> list[tuple[str, str]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('.doc-table tbody tr')].map(r => [r.dataset.doc, r.dataset.sentiment])"
    )


def test_filtering_by_negative_sentiment_changes_the_list(browser, server, seeded):
    _open(browser, server, "#/documents", seeded.key)
    _wait(browser, ".doc-table tbody tr")
    everything = server.get("/documents").json()
    negative = server.get("/documents", params={"sentiment": "negative"}).json()
    assert 0 < negative["total"] < everything["total"]
    assert browser.find_element(By.ID, "doc-count").text == f"共 {everything['total']} 篇"
    assert {s for _, s in _rows(browser)} > {"negative"}

    Select(browser.find_element(By.CSS_SELECTOR, "#doc-filters select[name=sentiment]")).select_by_value("negative")
    WebDriverWait(browser, WAIT_S, poll_frequency=0.05).until(
        lambda d: d.find_element(By.ID, "doc-count").text == f"共 {negative['total']} 篇符合筛选条件"
    )
    assert "sentiment=negative" in browser.execute_script("return location.hash")
    assert _rows(browser) == [[d["id"], "negative"] for d in negative["items"]]
    assert _js_errors(browser) == []


def test_opening_a_document_shows_its_evidence_highlighted_at_its_offsets(browser, server, seeded):
    _open(browser, server, "#/documents?sentiment=negative", seeded.key)
    _wait(browser, ".doc-table tbody tr")
    row = browser.find_element(By.CSS_SELECTOR, ".doc-table tbody tr")
    doc = row.get_attribute("data-doc")
    row.find_element(By.CSS_SELECTOR, "a.doc-title").click()
    marks = _wait(browser, "#doc-text mark.evidence")
    detail = server.get(f"/documents/{doc}").json()
    assert detail["highlights"], "the API gave this negative document no evidence: nothing to check"
    assert browser.execute_script("return location.hash") == f"#/documents/{doc}"
    assert browser.find_element(By.CSS_SELECTOR, "h1.doc-heading").text == detail["title"]
    # Each mark sits at its highlight's offsets in the shown text (code points, as Python counts them).
    shown = browser.execute_script(
        """const body = document.querySelector('#doc-text .text-body');
        const out = [];
        for (const mark of body.querySelectorAll('mark.evidence')) {
          const range = document.createRange();
          range.setStart(body, 0);
          range.setEndBefore(mark);
          const start = Array.from(range.toString()).length;
          out.push([start, start + Array.from(mark.textContent).length, mark.className]);
        }
        return [Array.from(body.textContent).length, out];"""
    )
    length, spans = shown
    assert length == len(detail["text"])
    merged = _merge([(h["start"], h["end"]) for h in detail["highlights"]])
    assert [(s, e) for s, e, _ in _merge_marks(spans)] == merged
    assert any("evidence-negative" in cls for _, _, cls in spans)
    quotes = browser.find_elements(By.CSS_SELECTOR, "#evidence-list .evidence-quote")
    distinct = list(dict.fromkeys((h["start"], h["end"], h["sentiment"], h["quote"]) for h in detail["highlights"]))
    assert [q.text for q in quotes] == [f"“{quote}”" for *_, quote in distinct]
    assert marks[0].is_displayed()
    assert _js_errors(browser) == []


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _merge_marks(spans: list[list]) -> list[tuple[int, int, str]]:
    """Adjacent marks (an overlap is cut into pieces) read as one span."""
    out: list[tuple[int, int, str]] = []
    for start, end, cls in spans:
        if out and start == out[-1][1]:
            out[-1] = (out[-1][0], end, out[-1][2])
        else:
            out.append((start, end, cls))
    return out


def test_clicking_a_transcript_timestamp_shows_where_the_segment_is(browser, server, seeded):
    _open(browser, server, f"#/documents/{seeded.media_doc}", seeded.key)
    stamps = _wait(browser, ".transcript .timestamp", count=2)
    segments = server.get(f"/documents/{seeded.media_doc}").json()["transcripts"][0]["segments"]
    assert [s.text for s in stamps] == [f"00:{int(seg['start']):02d}" for seg in segments]
    stamps[1].click()
    players = browser.find_elements(By.CSS_SELECTOR, ".transcript .player")
    if players:  # the API gives a media URL: the player seeks to the segment
        WebDriverWait(browser, WAIT_S).until(lambda d: abs(d.execute_script("return arguments[0].currentTime", players[0]) - segments[1]["start"]) < 0.5)
    else:
        status = browser.find_element(By.CSS_SELECTOR, ".transcript .player-status").text
        assert f"00:{int(segments[1]['start']):02d}" in status and f"第 {segments[1]['start']:.1f} 秒起" in status
    assert _js_errors(browser) == []


def test_a_wrong_key_shows_the_prompt_and_the_right_one_loads_the_page(browser, server, seeded):
    _open(browser, server, "#/", "yq_00000000_not-a-real-key")
    _wait(browser, "#key-dialog[open]")
    reason = browser.find_element(By.ID, "key-reason")
    WebDriverWait(browser, WAIT_S).until(lambda d: reason.text)
    assert "密钥无效" in reason.text
    assert browser.find_elements(By.CSS_SELECTOR, ".entity-card") == []
    field = browser.find_element(By.ID, "key-input")
    field.send_keys(seeded.key)
    browser.find_element(By.ID, "key-save").click()
    _wait(browser, "#entity-cards .entity-card", count=len(seeded.settings.watchlist))
    assert not browser.find_element(By.ID, "key-dialog").get_attribute("open")
    assert browser.execute_script("return localStorage.getItem('yuqing.apiKey')") == seeded.key
    # The only errors are the refused requests of the wrong key.
    assert all("401" in message for message in _js_errors(browser))


def test_without_a_key_the_page_asks_for_one_before_loading_anything(browser, server, seeded):
    _open(browser, server, "#/documents", None)
    _wait(browser, "#key-dialog[open]")
    assert browser.find_element(By.ID, "key-title").text == "请输入 API 密钥"
    assert not browser.find_element(By.ID, "key-reason").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, ".doc-table") == []
    assert _js_errors(browser) == []


def test_story_list_names_the_first_publisher_and_counts_reprints(browser, server, seeded):
    _open(browser, server, "#/stories", seeded.key)
    rows = _wait(browser, "#story-table tbody tr")
    stories = server.get("/stories", params={"min_documents": 2, "page_size": 30}).json()["items"]
    assert stories, "the demo site has reprints: there should be stories with two or more documents"
    assert [r.get_attribute("data-story") for r in rows] == [s["id"] for s in stories]
    cells = rows[0].find_elements(By.TAG_NAME, "td")
    assert cells[0].text == stories[0]["title"]
    assert cells[1].text == stories[0]["first_source"]
    assert cells[3].text == str(stories[0]["reprints"])
    assert cells[4].text == "、".join(stories[0]["outlets"])
    assert _js_errors(browser) == []


def test_page_and_assets_load_without_a_key_and_nothing_comes_from_elsewhere(server):
    bare = httpx.Client(base_url=server.base_url, timeout=10)
    page = bare.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert "/static/vendor/chartjs/chart.umd.min.js" in assets
    for asset in assets:
        assert asset.startswith("/static/") or asset.startswith("data:"), f"{asset} is not served by the API"
        if asset.startswith("/static/"):
            assert bare.get(asset).status_code == 200, asset
    for module in ("main.js", "api.js", "charts.js", "views/overview.js", "views/document.js"):
        source = bare.get(f"/static/js/{module}").text
        assert not re.search(r"https?://", source), f"{module} reaches outside the API"
    assert bare.get("/entities").status_code == 401  # the data itself still needs a key
    bare.close()


def test_alerts_list_what_fired_with_the_evidence_documents(browser, server, seeded):
    alerts = server.get("/alerts", params={"page_size": 20}).json()["items"]
    assert {a["kind"] for a in alerts} >= {"high_risk"}, "the seeded rules fired no alert: nothing to show"
    _open(browser, server, "#/alerts", seeded.key)
    shown = _wait(browser, "#alert-list > li", count=len(alerts))
    assert [int(li.get_attribute("data-alert")) for li in shown] == [a["id"] for a in alerts]
    first = alerts[0]
    evidence = shown[0].find_elements(By.CSS_SELECTOR, ".alert-evidence a")
    titles = [server.get(f"/documents/{doc}").json()["title"] for doc in first["evidence_doc_ids"][:3]]
    assert [a.text for a in evidence] == titles
    assert shown[0].find_element(By.CSS_SELECTOR, ".alert-entity").text == "星辰科技"
    evidence[0].click()
    _wait(browser, "#doc-text")
    assert browser.execute_script("return location.hash") == f"#/documents/{first['evidence_doc_ids'][0]}"
    assert _js_errors(browser) == []


def test_daily_report_shows_the_days_numbers_and_its_worst_stories_with_evidence(browser, server, seeded, tmp_path):
    report = server.get("/reports/daily", params={"format": "json"}).json()
    assert report["top_negative_stories"], "the newest day has no negative story: nothing to check"
    _open(browser, server, "#/report", seeded.key)
    _wait(browser, "#report-headline .stat")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"舆情日报 · {report['date']}"
    shown = {el.get_attribute("data-stat"): el.text for el in browser.find_elements(By.CSS_SELECTOR, "#report-headline .stat-value")}
    assert shown["文档"] == str(report["headline"]["documents"])
    assert shown["负面提及"] == str(report["headline"]["negative"])
    assert shown["高风险文档"] == str(report["headline"]["high_risk"])
    stories = browser.find_elements(By.CSS_SELECTOR, "#report-stories > li")
    assert [s.find_element(By.CSS_SELECTOR, ".doc-title").text for s in stories] == [s["title"] for s in report["top_negative_stories"]]
    assert [q.text for q in stories[0].find_elements(By.CSS_SELECTOR, "blockquote")] == [e["quote"] for e in report["top_negative_stories"][0]["evidence"]]
    rows = browser.find_elements(By.CSS_SELECTOR, "#report-entities tbody tr")
    assert [r.get_attribute("data-entity") for r in rows] == [e["entity_id"] for e in report["by_entity"]]
    # The CSV export is fetched with the key and saved as a file, the same bytes the API gives a script.
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    next(b for b in browser.find_elements(By.CSS_SELECTOR, ".report-tools button") if b.text == "CSV 明细").click()
    saved = tmp_path / f"yuqing-{report['date']}.csv"
    WebDriverWait(browser, WAIT_S, poll_frequency=0.05).until(lambda _: saved.exists() and saved.stat().st_size > 0)
    assert saved.read_bytes() == server.get("/reports/daily", params={"date": report["date"], "format": "csv"}).content
    assert _js_errors(browser) == []
