"""GET /entities and /entities/{id}: the numbers on a small known dataset, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.api.conftest import LiveServer, make_key
from tests.api.seed import WATCH, seed_small
from yuqing.settings import configure


@pytest.fixture
def client(database_url, db_sessions, tmp_path):
    seed_small(db_sessions)
    settings = configure(data_dir=tmp_path / "y", database_url=database_url, watchlist=WATCH)
    with LiveServer(settings, api_key=make_key(db_sessions, "read")) as http:
        yield http


def test_entity_overview_counts_the_window_up_to_the_newest_day(client):
    cards = client.get("/entities").json()
    assert [(c["entity_id"], c["mentions"]) for c in cards] == [("xingchen", 4), ("lanhai", 1), ("yuanhang", 1)]
    xingchen = cards[0]
    assert xingchen["by_sentiment"] == {"positive": 0, "negative": 2, "neutral": 2}
    assert xingchen["negative_share"] == 0.5 and xingchen["last_mentioned"] == "2026-11-12"
    one_day = {
        c["entity_id"]: c for c in client.get("/entities", params={"since": "2026-11-11", "until": "2026-11-11"}).json()
    }
    assert one_day["xingchen"]["by_sentiment"] == {"positive": 0, "negative": 1, "neutral": 1}
    assert one_day["lanhai"]["mentions"] == 0


def test_entity_trend_sources_neighbours_and_negative_items(client):
    report = client.get("/entities/星辰").json()  # an alias finds the entity
    assert report["entity_id"] == "xingchen" and report["until"] == "2026-11-12" and report["since"] == "2026-10-14"
    assert report["mentions"] == 4 and report["stories"] == 3
    assert report["by_sentiment"] == {"positive": 0, "negative": 2, "neutral": 2}
    assert report["daily"] == [
        {"date": "2026-11-10", "positive": 0, "negative": 1, "neutral": 0},
        {"date": "2026-11-11", "positive": 0, "negative": 1, "neutral": 1},
        {"date": "2026-11-12", "positive": 0, "negative": 0, "neutral": 1},
    ]
    # The 48 hours up to the newest mention's hour (12 Nov 09:00 UTC): d1 on 10 Nov 09:00 is outside.
    assert [(h["hour"][:13], h["negative"], h["neutral"]) for h in report["hourly"]] == [
        ("2026-11-11T09", 1, 0),
        ("2026-11-11T15", 0, 1),
        ("2026-11-12T09", 0, 1),
    ]
    assert report["top_sources"] == {"huaxia": 3, "dongfang": 1}
    assert report["co_mentioned"] == [{"entity_id": "yuanhang", "name": "远航汽车", "documents": 1}]
    assert [d["id"] for d in report["latest_negative"]] == ["d2", "d1"]


def test_entity_window_and_errors(client):
    narrow = client.get("/entities/xingchen", params={"since": "2026-11-11", "until": "2026-11-11"}).json()
    assert narrow["mentions"] == 2 and [d["id"] for d in narrow["latest_negative"]] == ["d2"]
    assert client.get("/entities/xingchen", params={"days": 1}).json()["mentions"] == 1
    backwards = client.get("/entities/xingchen", params={"since": "2026-11-12", "until": "2026-11-01"})
    assert backwards.status_code == 422 and backwards.json()["error"]["type"] == "invalid_request"
    assert client.get("/entities/nobody").status_code == 404


def test_the_older_report_path_covers_all_time(client):
    report = client.get("/reports/entities/星辰科技").json()
    assert report["mentions"] == 4 and report["since"] is None
    assert [e["id"] for e in client.get("/reports/entities").json()] == ["xingchen", "yuanhang", "lanhai"]


def test_day_rollups_follow_reanalysis_and_recleaning(database_url, db_sessions):
    from sqlalchemy import func, select
    from sqlalchemy.orm import aliased

    from tests.api.seed import analysis, clean_doc
    from yuqing.db.models import EntityDayCoMention, EntityDaySentiment, EntityDaySource, EntityMentionRow
    from yuqing.db.repository import upsert_analysis, upsert_documents

    seed_small(db_sessions)
    with db_sessions.begin() as s:
        upsert_analysis(s, analysis("d1", "positive", [("yuanhang", "远航汽车", "positive")]))  # same version: replaced
        upsert_analysis(
            s, analysis("d2", "neutral", [("xingchen", "星辰科技", "neutral")], version="v2")
        )  # newer version
        upsert_analysis(
            s, analysis("d2", "negative", [("lanhai", "蓝海银行", "negative")])
        )  # older version re-run: ignored
        upsert_documents(
            s, [clean_doc(3, "远航汽车销量创新高", "远航汽车销量增长。", 14, source="nanfeng")]
        )  # moved day/source

    def rollup(model, column):  # type: ignore[no-untyped-def]
        with db_sessions() as s:
            rows = s.execute(select(model.entity_id, model.day, getattr(model, column), model.mentions)).all()
        return {(e, d, v): n for e, d, v, n in rows if n}

    def truth(column):  # type: ignore[no-untyped-def]
        m = EntityMentionRow
        with db_sessions() as s:
            rows = s.execute(
                select(m.entity_id, m.published_date, getattr(m, column), func.count()).group_by(
                    m.entity_id, m.published_date, getattr(m, column)
                )
            ).all()
        return {(e, d, v or ""): n for e, d, v, n in rows}

    assert rollup(EntityDaySentiment, "sentiment") == truth("sentiment")
    assert rollup(EntityDaySource, "source") == truth("source")
    m, o = EntityMentionRow, aliased(EntityMentionRow)
    with db_sessions() as s:
        pairs = s.execute(
            select(m.entity_id, m.published_date, o.entity_id, func.count())
            .join(o, (o.doc_id == m.doc_id) & (o.entity_id != m.entity_id))
            .group_by(m.entity_id, m.published_date, o.entity_id)
        ).all()
    assert rollup(EntityDayCoMention, "other_id") == {(e, d, v): n for e, d, v, n in pairs}
    with db_sessions() as s:
        moved = s.scalar(select(EntityMentionRow.source).where(EntityMentionRow.doc_id == "d3"))
        sentiments = dict(s.execute(select(EntityMentionRow.doc_id, EntityMentionRow.sentiment)).all())
    assert moved == "nanfeng" and sentiments["d1"] == "positive" and sentiments["d2"] == "neutral"
