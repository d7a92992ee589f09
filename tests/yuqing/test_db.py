from datetime import UTC, datetime

import pytest
from sqlalchemy import func, inspect, select

from yuqing.contracts import Analysis, CleanDocument, TargetSentiment
from yuqing.db import make_engine, migrate, session_factory
from yuqing.db.models import AnalysisRow, Document, EntityMentionRow, StageFailure
from yuqing.db.repository import record_failure, upsert_analysis, upsert_documents


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def sessions(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    migrate(engine)
    yield session_factory(engine)
    if request.param == "postgresql":
        with engine.begin() as conn:
            for table in ("entity_mentions", "analyses", "stage_failures", "documents"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
    engine.dispose()


def _doc(doc_id="d1", title="星辰科技召回音箱"):
    return CleanDocument(
        id=doc_id, url=f"http://x.cn/{doc_id}", canonical_url=f"http://x.cn/{doc_id}", source="huaxia", title=title,
        text="星辰科技宣布召回两万台音箱。", published_at=datetime(2026, 11, 12, 9, 30, tzinfo=UTC),
        crawled_at=datetime(2026, 11, 13, tzinfo=UTC), content_hash="h" * 64, story_id=doc_id,
    )


def _analysis(version="offline-1", sentiment="negative"):
    return Analysis(
        doc_id="d1", analyzer="offline", analyzer_version=version, sentiment=sentiment, score=-0.7,
        targets=[TargetSentiment(entity_id="xingchen", name="星辰科技", sentiment=sentiment, score=-0.7)],
        risk="high", created_at=datetime.now(UTC),
    )


def test_migrations_create_the_schema_and_are_idempotent(sessions):
    engine = sessions.kw["bind"]
    migrate(engine)  # second run is a no-op
    tables = set(inspect(engine).get_table_names())
    assert {"documents", "analyses", "entity_mentions", "transcripts", "stage_failures", "crawl_runs", "alembic_version"} <= tables


def test_documents_upsert_by_id(sessions):
    with sessions.begin() as s:
        upsert_documents(s, [_doc()])
    with sessions.begin() as s:
        upsert_documents(s, [_doc(title="更新后的标题")])
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 1
        assert s.get(Document, "d1").title == "更新后的标题"


def test_analysis_upsert_by_document_and_version(sessions):
    with sessions.begin() as s:
        upsert_documents(s, [_doc()])
        upsert_analysis(s, _analysis())
    with sessions.begin() as s:
        upsert_analysis(s, _analysis(sentiment="neutral"))  # same version: replaces
    with sessions() as s:
        rows = s.scalars(select(AnalysisRow)).all()
        assert [(r.analyzer_version, r.sentiment) for r in rows] == [("offline-1", "neutral")]
        mentions = s.scalars(select(EntityMentionRow)).all()
        assert [(m.entity_id, m.sentiment, str(m.published_date)) for m in mentions] == [("xingchen", "neutral", "2026-11-12")]
    with sessions.begin() as s:
        upsert_analysis(s, _analysis(version="llm-v1"))  # a new version adds a row
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AnalysisRow)) == 2
        assert s.scalar(select(func.count()).select_from(EntityMentionRow)) == 1


def test_failures_are_recorded_once_per_item(sessions):
    with sessions.begin() as s:
        record_failure(s, "asr", "abc", "corrupt media")
        record_failure(s, "asr", "abc", "still corrupt")
    with sessions() as s:
        assert [f.reason for f in s.scalars(select(StageFailure))] == ["still corrupt"]
