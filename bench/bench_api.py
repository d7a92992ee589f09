"""Report API latency on PostgreSQL with 1,000,000 analysed documents.

Loads synthetic documents, analyses and entity mentions with COPY into a database it creates
(and drops at the end), builds the schema's indexes, starts `yuqing serve` against it, then
sends requests one at a time from a loopback client (bounded by count and time) and prints
p50/p95 per endpoint, each as a ratio to its target and, for the entity trend, to the same
aggregate run as bare SQL in the same run (the API's own overhead).

    python bench/bench_api.py [--docs 1000000] [--requests 200] [--seconds 60] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from sqlalchemy import create_engine, text

from tests.conftest import free_port, wait_for_port
from yuqing.db import make_engine, migrate, session_factory
from yuqing.progress import stage_progress

ADMIN_URL = os.environ.get(
    "YQ_BENCH_POSTGRES_URL", os.environ.get("YQ_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)
TARGETS_MS = {"trend": 50.0, "ranking": 50.0, "search": 200.0, "report": 200.0}
DAYS = 365
END = datetime(2026, 11, 20, tzinfo=UTC)
HEADS = ["星辰", "远航", "蓝海", "华光", "天启", "青禾", "金桥", "云帆", "长风", "北辰"]
TAILS = ["科技", "汽车", "银行", "航空", "乳业"]
ENTITIES = [(f"e{i:02d}", HEADS[i % 10] + TAILS[i // 10]) for i in range(50)]
SOURCES = [f"outlet{i:02d}" for i in range(40)]
EVENTS = [
    ("negative", "因电池存在过热隐患，{a}宣布召回两万台音箱起火设备。"),
    ("negative", "市场监管部门对{a}处以罚款，消费者投诉不断。"),
    ("negative", "{a}高管涉嫌财务造假被立案调查。"),
    ("positive", "{a}三季度净利润同比增长百分之三十，创下历史新高。"),
    ("positive", "{a}新工厂正式投产，年产能达到三十万辆新能源车。"),
    ("neutral", "{a}将于下周召开董事会，审议年度预算。"),
    ("neutral", "{a}发布新品，业内人士表示行业竞争仍然激烈。"),
    ("neutral", "据统计，今年前十个月全国新能源汽车销量达到一千万辆，{a}位列其中。"),
]
FILLER = [
    "记者从相关部门获悉。",
    "详情请关注后续报道。",
    "分析师认为短期影响有限。",
    "公司股价当日小幅波动。",
    "多家媒体转载了这一消息。",
]
SEARCH_TERMS = ["财务造假", "音箱起火", "董事会", "新能源车", "召回", "罚款"]  # event words: ~12 % of documents each
RARE_FACTS = ["锂电池仓库起火", "用户数据泄露", "大规模裁员传闻", "首席财务官辞职", "海外工厂停产"]  # ~0.1 % each


def _entity_weights() -> list[float]:
    return [1.0 / (i + 1) ** 0.8 for i in range(len(ENTITIES))]  # a few entities get most of the coverage


def generate(n: int, seed: int = 11) -> Iterator[tuple[tuple, tuple, list[tuple]]]:  # type: ignore[type-arg]
    """(document row, analysis row, mention rows) for n documents; ~15 % are reprints of an earlier story."""
    rng = random.Random(seed)
    weights = _entity_weights()
    recent: list[tuple[str, str, str, str]] = []  # (id, title, text, sentiment) of originals to reprint
    for i in range(n):
        doc_id = f"b{i:07d}"
        published = END - timedelta(seconds=rng.randrange(DAYS * 86400))
        source = rng.choice(SOURCES)
        if recent and rng.random() < 0.15:
            story_id, title, body, sentiment = rng.choice(recent)
            duplicate_of, kind = story_id, "near"
        else:
            named = rng.choices(range(len(ENTITIES)), weights, k=rng.choice((1, 1, 2, 3)))
            sentiment, event = rng.choice(EVENTS)
            lead = ENTITIES[named[0]][1]
            others = "、".join(ENTITIES[j][1] for j in named[1:])
            body = event.format(a=lead) + (f"{others}也受到关注。" if others else "") + "".join(rng.sample(FILLER, 2))
            if rng.random() < 0.005:
                body += f"另据报道，{lead}出现{rng.choice(RARE_FACTS)}。"
            title = event.format(a=lead)[:18]
            story_id, duplicate_of, kind = doc_id, None, None
            recent.append((doc_id, title, body, sentiment))
            if len(recent) > 500:
                recent.pop(0)
        risk = (
            "high"
            if sentiment == "negative" and rng.random() < 0.1
            else ("medium" if sentiment == "negative" else "low")
        )
        mentioned = sorted({eid for eid, name in ENTITIES if name in body})
        document = (
            doc_id,
            f"http://{source}.example/{doc_id}.html",
            f"http://{source}.example/{doc_id}.html",
            source,
            title,
            body,
            None,
            "[]",
            "zh",
            published,
            published,
            doc_id.ljust(64, "0"),
            story_id,
            duplicate_of,
            kind,
            "[]",
            i + 1,
            sentiment,
            risk,
        )
        quote = body[:12]
        payload = {
            "doc_id": doc_id,
            "analyzer": "bench",
            "analyzer_version": "bench-1",
            "sentiment": sentiment,
            "score": {"negative": -0.6, "positive": 0.6, "neutral": 0.0}[sentiment],
            "targets": [
                {"entity_id": e, "name": dict(ENTITIES)[e], "sentiment": sentiment, "score": 0.0, "evidence": []}
                for e in mentioned
            ],
            "evidence": [{"quote": quote, "start": 0, "end": len(quote)}] if sentiment != "neutral" else [],
            "risk": risk,
            "created_at": published.isoformat(),
            "schema_version": 1,
        }
        analysis = (
            i + 1,
            doc_id,
            "bench",
            "bench-1",
            sentiment,
            payload["score"],
            risk,
            False,
            "",
            json.dumps(payload, ensure_ascii=False),
            published,
        )
        mentions = [
            (doc_id, i + 1, e, dict(ENTITIES)[e], sentiment, 0.0, published.date(), published, source, story_id)
            for e in mentioned
        ]
        yield document, analysis, mentions


DOCUMENT_COLUMNS = (
    "id, url, canonical_url, source, title, text, transcript_text, media_sha256, language, published_at, crawled_at, "
    "content_hash, story_id, duplicate_of, duplicate_kind, quality_issues, analysis_id, sentiment, risk"
)
ANALYSIS_COLUMNS = (
    "id, doc_id, analyzer, analyzer_version, sentiment, score, risk, low_confidence, summary, payload, created_at"
)
MENTION_COLUMNS = (
    "doc_id, analysis_id, entity_id, name, sentiment, score, published_date, published_at, source, story_id"
)


def load(dsn: str, n: int) -> dict[str, float]:
    """COPY the rows with secondary indexes dropped, then rebuild them (as a bulk load would)."""
    timings: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.tablename IN ('documents', 'analyses', 'entity_mentions') "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ).fetchall()
        constraints = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text IN ('documents', 'analyses', 'entity_mentions') AND contype IN ('u', 'f')"
        ).fetchall()
        for table, name, _ in constraints:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        started = time.perf_counter()
        # One connection per table: a connection runs one COPY at a time, and the three streams are written together.
        with (
            stage_progress("COPY documents, analyses, mentions", n) as progress,
            psycopg.connect(dsn, autocommit=True) as docs_conn,
            psycopg.connect(dsn, autocommit=True) as analyses_conn,
            psycopg.connect(dsn, autocommit=True) as mentions_conn,
            docs_conn.cursor().copy(f"COPY documents ({DOCUMENT_COLUMNS}) FROM STDIN") as docs,
            analyses_conn.cursor().copy(f"COPY analyses ({ANALYSIS_COLUMNS}) FROM STDIN") as analyses,
            mentions_conn.cursor().copy(f"COPY entity_mentions ({MENTION_COLUMNS}) FROM STDIN") as mentions,
        ):
            for i, (document, analysis, rows) in enumerate(generate(n), 1):
                docs.write_row(document)
                analyses.write_row(analysis)
                for row in rows:
                    mentions.write_row(row)
                if i % 20000 == 0:
                    progress(i, n)
            progress(n, n)
        timings["copy_s"] = time.perf_counter() - started
        conn.execute(f"SELECT setval('analyses_id_seq', {n})")
        started = time.perf_counter()
        with stage_progress("rebuild indexes and constraints", len(indexes) + len(constraints)) as progress:
            for done, (_, definition) in enumerate(indexes, 1):
                conn.execute(definition)
                progress(done, len(indexes) + len(constraints))
            for done, (table, name, definition) in enumerate(constraints, len(indexes) + 1):
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                progress(done, len(indexes) + len(constraints))
        timings["index_s"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute(
            "INSERT INTO stories (id, title, first_source, first_published_at, last_published_at, documents, outlets, "
            "positive, negative, neutral) "
            "SELECT d.story_id, min(d.title) FILTER (WHERE d.id = d.story_id), "
            "min(d.source) FILTER (WHERE d.id = d.story_id), min(d.published_at), max(d.published_at), "
            "count(*), json_agg(DISTINCT d.source), count(*) FILTER (WHERE d.sentiment = 'positive'), "
            "count(*) FILTER (WHERE d.sentiment = 'negative'), count(*) FILTER (WHERE d.sentiment = 'neutral') "
            "FROM documents d GROUP BY d.story_id"
        )
        # The day rollups, as migration 0003 fills them from existing mentions.
        conn.execute(
            "INSERT INTO entity_day_sentiment (entity_id, day, sentiment, mentions, originals) SELECT entity_id, "
            "published_date, sentiment, count(*), sum(CASE WHEN doc_id = story_id THEN 1 ELSE 0 END) "
            "FROM entity_mentions GROUP BY 1, 2, 3"
        )
        conn.execute(
            "INSERT INTO entity_day_source (entity_id, day, source, mentions) SELECT entity_id, published_date, "
            "coalesce(source, ''), count(*) FROM entity_mentions GROUP BY 1, 2, 3"
        )
        conn.execute(
            "INSERT INTO entity_day_comention (entity_id, day, other_id, mentions) "
            "SELECT m.entity_id, m.published_date, o.entity_id, count(*) FROM entity_mentions m "
            "JOIN entity_mentions o ON o.doc_id = m.doc_id AND o.entity_id <> m.entity_id GROUP BY 1, 2, 3"
        )
        conn.execute("VACUUM ANALYZE")
        timings["derived_s"] = time.perf_counter() - started
    return timings


def percentiles(samples: list[float]) -> tuple[float, float]:
    cut = statistics.quantiles(samples, n=20, method="inclusive")
    return statistics.median(samples), cut[18]


def measure(call: Callable[[random.Random], None], count: int, seconds: float, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    call(rng)  # warm-up: first plans and connections
    samples: list[float] = []
    deadline = time.monotonic() + seconds
    while len(samples) < count and time.monotonic() < deadline:
        started = time.perf_counter()
        call(rng)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint (at most)")
    parser.add_argument("--seconds", type=float, default=60, help="time limit per endpoint")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args()

    name = f"yuqing_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    server = None
    try:
        engine = make_engine(url)
        migrate(engine)
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        timings = load(dsn, args.docs)
        from api.auth import create_api_key

        with session_factory(engine).begin() as session:
            key = create_api_key(session, "bench", "read").key
        with psycopg.connect(dsn) as conn:
            counts = {
                t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("documents", "analyses", "entity_mentions", "stories")
            }  # type: ignore[index]
        print(
            f"loaded {counts} in {timings['copy_s']:.0f} s COPY + {timings['index_s']:.0f} s indexes "
            f"+ {timings['derived_s']:.0f} s stories, rollups, VACUUM ANALYZE",
            flush=True,
        )

        port = free_port()
        env = {
            **os.environ,
            "YQ_DATABASE_URL": url,
            "YQ_API__RATE_LIMIT": "1000000/minute",
            "YQ_LOG_LEVEL": "WARNING",
            "YQ_WATCHLIST": json.dumps([{"id": e, "name": n} for e, n in ENTITIES], ensure_ascii=False),
        }
        server = subprocess.Popen([sys.executable, "-m", "yuqing.cli", "serve", "--port", str(port)], env=env)
        wait_for_port(port, timeout=60)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=30)
        weights = _entity_weights()
        busiest = ENTITIES[0][0]

        def get(path: str, **params: object) -> None:
            response = client.get(path, params=params)
            response.raise_for_status()

        def entity(rng: random.Random) -> str:
            return rng.choices([e for e, _ in ENTITIES], weights)[0]

        def day(rng: random.Random) -> str:
            return (END - timedelta(days=rng.randrange(DAYS))).date().isoformat()

        cases: dict[str, tuple[str, Callable[[random.Random], None]]] = {
            "GET /entities/{id} (30-day trend, entities by coverage)": (
                "trend",
                lambda r: get(f"/entities/{entity(r)}"),
            ),
            "GET /entities/{id} busiest entity, 365 days": ("trend", lambda r: get(f"/entities/{busiest}", days=365)),
            "GET /entities (ranking, 30 days)": ("ranking", lambda r: get("/entities")),
            "GET /documents?q=<frequent, 3-4 chars> newest first": (
                "search",
                lambda r: get("/documents", q=r.choice(SEARCH_TERMS[:4])),
            ),
            "GET /documents?q=<rare>&sort=relevance&entity=": (
                "search",
                lambda r: get("/documents", q=r.choice(RARE_FACTS), sort="relevance", entity=entity(r)),
            ),
            "GET /documents?q=<frequent>&sort=relevance&entity=": (
                "search",
                lambda r: get("/documents", q=r.choice(SEARCH_TERMS[:4]), sort="relevance", entity=entity(r)),
            ),
            "GET /documents?q= (2 chars, substring scan) + since": (
                "search",
                lambda r: get("/documents", q=r.choice(SEARCH_TERMS[4:]), since=day(r)),
            ),
            "GET /documents (filters, no q)": (
                "search",
                lambda r: get("/documents", sentiment="negative", risk="high", since=day(r)),
            ),
            "GET /reports/daily?date=": ("report", lambda r: get("/reports/daily", date=day(r))),
        }
        results = {}
        for label, (kind, call) in cases.items():
            samples = measure(call, args.requests, args.seconds)
            results[label] = (kind, len(samples), *percentiles(samples))
            print(
                f"  {label}: n={len(samples)} p50 {results[label][2]:.1f} ms p95 {results[label][3]:.1f} ms", flush=True
            )

        # The trend's two queries alone, as bare SQL (newest day, then the day rollup): what the API adds on top.
        with psycopg.connect(dsn) as conn:

            def bare(rng: random.Random) -> None:
                eid = entity(rng)
                until = conn.execute(
                    "SELECT max(published_date) FROM entity_mentions WHERE entity_id = %s", (eid,)
                ).fetchone()[0]  # type: ignore[index]
                conn.execute(
                    "SELECT day, sentiment, mentions FROM entity_day_sentiment WHERE entity_id = %s AND day "
                    "BETWEEN %s AND %s",
                    (eid, until - timedelta(days=29), until),
                ).fetchall()

            bare_samples = measure(bare, args.requests, args.seconds)
        bare_p50, bare_p95 = percentiles(bare_samples)

        print(
            f"\nReport API on PostgreSQL, {counts['documents']:,} documents / {counts['entity_mentions']:,} mentions, "
            "one request at a time over loopback:"
        )
        print(f"{'endpoint':58} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'target':>7} {'p95/target':>10}")
        for label, (kind, n, p50, p95) in results.items():
            print(f"{label:58} {n:>4} {p50:>8.1f} {p95:>8.1f} {TARGETS_MS[kind]:>7.0f} {p95 / TARGETS_MS[kind]:>10.2f}")
        trend = results["GET /entities/{id} (30-day trend, entities by coverage)"]
        print(
            f"30-day trend queries as bare SQL: p50 {bare_p50:.1f} ms, p95 {bare_p95:.1f} ms; "
            f"the whole /entities/{{id}} answer costs {trend[2] / bare_p50:.1f}x that at p50"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        if args.keep:
            print(f"kept {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
