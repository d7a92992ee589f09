"""`yuqing demo`: the stage commands in order on the demo site, then a check against its ground truth."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from yuqing import pipeline
from yuqing.db.models import AnalysisRow, Document
from yuqing.ids import doc_id
from yuqing.settings import Settings, WatchEntity, configure

DEMO_SOURCES = Path(__file__).resolve().parent.parent / "crawlers" / "sources" / "demo.yaml"


@dataclass
class ArticleCheck:
    outlet: str
    slug: str
    title: str
    expected: str
    got: str | None
    targets_expected: dict[str, str]
    targets_got: dict[str, str]
    note: str

    @property
    def sentiment_ok(self) -> bool:
        return self.got == self.expected

    @property
    def targets_ok(self) -> bool:
        return all(self.targets_got.get(name) == label for name, label in self.targets_expected.items())


@dataclass
class DemoResult:
    checks: list[ArticleCheck]
    duplicates_expected: int
    duplicates_found: int
    media_expected: int
    media_found: int
    timings: dict[str, float]

    @property
    def sentiment_accuracy(self) -> float:
        scored = [c for c in self.checks if c.got is not None]
        return sum(c.sentiment_ok for c in scored) / max(1, len(scored))

    @property
    def target_accuracy(self) -> float:
        pairs = [(c.targets_got.get(n), l) for c in self.checks if c.got is not None for n, l in c.targets_expected.items()]
        return sum(g == e for g, e in pairs) / max(1, len(pairs))


def demo_watchlist() -> list[WatchEntity]:
    from yuqing.demo_site import load_watchlist

    return [WatchEntity.model_validate(dict(e)) for e in load_watchlist()]


def demo_settings(data_dir: Path, fresh: bool, *, analyzer: str | None = None, llm_url: str | None = None, llm_model: str | None = None) -> Settings:
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    llm = {k: v for k, v in {"base_url": llm_url, "model": llm_model}.items() if v}
    return configure(data_dir=data_dir, watchlist=[e.model_dump() for e in demo_watchlist()], analyzer=analyzer, llm=llm or None)


def run_demo(settings: Settings, console: Console) -> DemoResult:
    from yuqing.demo_site import DemoSite

    ctx = pipeline.Context.open(settings)
    with DemoSite(host="127.0.0.1", port=0) as site:
        console.print(f"demo site at [bold]{site.url}[/]; data in [bold]{settings.data_dir}[/]")
        from crawlers.sources import load_sources

        pipeline.crawl(ctx, load_sources(DEMO_SOURCES, {"base_url": site.url}))
        pipeline.transcribe(ctx)
        pipeline.clean(ctx)
        pipeline.analyze(ctx)
        return check_ground_truth(ctx, site.url)


def check_ground_truth(ctx: pipeline.Context, base_url: str) -> DemoResult:
    from yuqing.demo_site import load_articles

    articles = load_articles()
    ids = {f"{a.outlet}/{a.slug}": doc_id(base_url + a.url_path) for a in articles}
    checks = []
    duplicates_expected = duplicates_found = media_expected = media_found = 0
    with ctx.sessions() as session:
        for article in articles:
            key = f"{article.outlet}/{article.slug}"
            document = session.get(Document, ids[key])
            analysis = _newest_analysis(session, ids[key])
            notes = []
            if document is None:
                notes.append("not stored" + (" (needs JS rendering)" if article.js_body else ""))
            if article.reprint_of:
                duplicates_expected += 1
                if document is not None and document.duplicate_of == ids.get(article.reprint_of):
                    duplicates_found += 1
                    notes.append(f"{document.duplicate_kind} reprint ✓")
                else:
                    notes.append("reprint NOT linked")
            if article.media:
                media_expected += 1
                transcript = (document.transcript_text or "") if document else ""
                heard = [k for k in article.media.expected_keywords if k in transcript]
                if heard:
                    media_found += 1
                notes.append(f"{article.media.kind}: heard {','.join(heard) or 'nothing expected'}")
            checks.append(
                ArticleCheck(
                    outlet=article.outlet,
                    slug=article.slug,
                    title=article.title,
                    expected=article.truth.overall,
                    got=analysis["sentiment"] if analysis else None,
                    targets_expected=dict(article.truth.targets),
                    targets_got={t["name"]: t["sentiment"] for t in analysis["targets"]} if analysis else {},
                    note="; ".join(notes),
                )
            )
    return DemoResult(checks, duplicates_expected, duplicates_found, media_expected, media_found, dict(ctx.timings))


def _newest_analysis(session: Any, document_id: str) -> dict[str, Any] | None:
    row = session.scalars(
        select(AnalysisRow).where(AnalysisRow.doc_id == document_id).order_by(AnalysisRow.id.desc()).limit(1)
    ).first()
    return row.payload if row else None


def print_summary(result: DemoResult, console: Console) -> None:
    table = Table(title="Demo: analysis vs the demo site's ground truth", show_lines=False)
    for column in ("outlet", "article", "expected", "got", "targets (expected → got)", "notes"):
        table.add_column(column, overflow="fold")
    for c in result.checks:
        mark = "[green]✓[/]" if c.sentiment_ok else ("[yellow]–[/]" if c.got is None else "[red]✗[/]")
        targets = ", ".join(
            f"{n}:{l}→{c.targets_got.get(n, '∅')}{'' if c.targets_got.get(n) == l else '✗'}" for n, l in c.targets_expected.items()
        )
        table.add_row(c.outlet, c.title[:28], c.expected, f"{c.got or '∅'} {mark}", targets, c.note)
    console.print(table)
    console.print(
        f"overall sentiment {result.sentiment_accuracy:.0%} · per-target {result.target_accuracy:.0%} · "
        f"reprints linked {result.duplicates_found}/{result.duplicates_expected} · "
        f"media transcribed {result.media_found}/{result.media_expected}"
    )
    console.print("stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))


def print_api_access(settings: Settings, console: Console, port: int) -> str:
    """Make a fresh admin key for the demo and say how to use it (the API refuses calls without one)."""
    from api.auth import ensure_demo_key
    from yuqing.db import make_engine, migrate, session_factory

    engine = make_engine(settings.db_url)
    migrate(engine)
    key = ensure_demo_key(session_factory(engine))
    base = f"http://{settings.api.host}:{port}"
    # soft_wrap: a key broken over two lines could not be copied.
    console.print(f"API key (scope admin, named 'demo'; shown once): [bold]{key}[/]", soft_wrap=True)
    console.print(f"  dashboard: {base}/dashboard (paste the key there) · API docs: {base}/docs", soft_wrap=True)
    console.print(f"  curl -H 'Authorization: Bearer {key}' {base}/entities", soft_wrap=True)
    console.print(f"  more keys: yuqing apikey create --name NAME --scope read --data-dir {settings.data_dir}", soft_wrap=True)
    return key
