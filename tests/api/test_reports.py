"""GET /reports/daily: the numbers, and the same report as JSON, Markdown, HTML, CSV and XLSX."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.api.conftest import LiveServer, make_key
from tests.api.seed import WATCH, analysis, clean_doc, seed_small
from yuqing.db.repository import upsert_analysis, upsert_documents
from yuqing.settings import configure

DAY = {"date": "2026-11-11"}


@pytest.fixture
def client(database_url, db_sessions, tmp_path):
    seed_small(db_sessions)
    hostile = '=HYPERLINK("http://evil") <script>alert(1)</script>星辰科技 | 爆雷'
    with db_sessions.begin() as s:
        upsert_documents(s, [clean_doc(7, hostile, "星辰科技爆雷，投资者损失惨重。", 13, source="evil")])
        upsert_analysis(
            s,
            analysis(
                "d7",
                "negative",
                [("xingchen", "星辰科技", "negative")],
                text="星辰科技爆雷，投资者损失惨重。",
                quote="投资者损失惨重",
                risk="high",
            ),
        )
    settings = configure(data_dir=tmp_path / "y", database_url=database_url, watchlist=WATCH)
    with LiveServer(settings, api_key=make_key(db_sessions, "read")) as http:
        yield http


def test_headline_changes_entities_stories_and_new_entities(client):
    report = client.get("/reports/daily", params=DAY).json()
    assert report["date"] == "2026-11-11" and report["previous_date"] == "2026-11-10"
    assert report["headline"] == {
        "documents": 2,
        "mentions": 3,
        "negative": 1,
        "negative_share": 0.3333,
        "high_risk": 0,
        "documents_change": 1.0,
        "negative_change": 0.0,
    }
    xingchen = report["by_entity"][0]
    assert xingchen == {
        "entity_id": "xingchen",
        "name": "星辰科技",
        "mentions": 2,
        "negative": 1,
        "positive": 0,
        "neutral": 1,
        "negative_share": 0.5,
        "previous_mentions": 1,
        "previous_negative": 1,
        "mentions_change": 1.0,
        "negative_change": 0.0,
    }
    (story,) = report["top_negative_stories"]
    assert story["story_id"] == "d1" and story["doc_id"] == "d2" and story["documents"] == 2
    assert (
        story["outlets"] == ["dongfang", "huaxia"] and story["first_source"] == "huaxia" and story["risk"] == "medium"
    )
    assert [q["quote"] for q in story["evidence"]] == ["消费者投诉音箱过热起火"]
    assert report["new_entities"] == [{"entity_id": "yuanhang", "name": "远航汽车", "mentions": 1}]


def test_entities_restrict_the_report(client):
    report = client.get("/reports/daily", params={**DAY, "entities": "远航"}).json()
    assert report["entities"] == ["yuanhang"] and report["headline"]["documents"] == 1
    assert report["headline"]["documents_change"] is None and report["top_negative_stories"] == []
    assert client.get("/reports/daily", params={**DAY, "entities": "nobody"}).status_code == 404


def test_default_day_is_the_newest_with_documents(client):
    report = client.get("/reports/daily").json()
    assert report["date"] == "2026-11-13" and report["headline"]["high_risk"] == 1


def test_markdown_and_html_escape_crawled_text(client):
    markdown = client.get("/reports/daily", params={"date": "2026-11-13", "format": "markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    text = markdown.text
    assert text.startswith("# 舆情日报 Daily report — 2026-11-13")
    assert "| 星辰科技 (`xingchen`) | 1 | 1 | 0 | 0 | 100.0 % |" in text
    assert "> 投资者损失惨重" in text and "<script>" not in text and "\\| 爆雷" in text
    html = client.get("/reports/daily", params={"date": "2026-11-13"}, headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.text and "<script>alert" not in html.text
    assert "<blockquote>投资者损失惨重" in html.text


def test_csv_and_xlsx_export_the_rows(client):
    response = client.get("/reports/daily", params={**DAY, "format": "csv"})
    assert response.headers["content-disposition"] == 'attachment; filename="yuqing-2026-11-11.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["doc_id"], r["sentiment"], r["entities"]) for r in rows] == [
        ("d2", "negative", "xingchen:negative"),
        ("d3", "positive", "xingchen:neutral,yuanhang:positive"),
    ]
    hostile = list(
        csv.DictReader(
            io.StringIO(
                client.get("/reports/daily", params={"date": "2026-11-13", "format": "csv"}).text.lstrip("\ufeff")
            )
        )
    )
    assert hostile[0]["title"].startswith("'=HYPERLINK")  # never a live formula in Excel
    xlsx = client.get(
        "/reports/daily",
        params=DAY,
        headers={"Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = book["documents 2026-11-11"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["doc_id", "published_at", "source"] and [v[0] for v in values[1:]] == ["d2", "d3"]
    assert [row[0].value for row in book["entities"].iter_rows(min_row=2)] == ["xingchen", "yuanhang", "lanhai"]


def test_bad_parameters(client):
    assert client.get("/reports/daily", params={"date": "yesterday"}).status_code == 422
    assert client.get("/reports/daily", params={"format": "pdf"}).status_code == 422
