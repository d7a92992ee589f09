"""The `yuqing` command: one sub-command per stage, plus the demo."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from yuqing.errors import ConfigError, UpstreamUnavailable, YuqingError
from yuqing.logs import setup_logging
from yuqing.settings import Settings, configure

app = typer.Typer(
    help="Yuqing (舆情): crawl media, transcribe, clean, analyse sentiment and serve reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config file (else YQ_CONFIG, YQ_* variables)")]
DataDirOpt = Annotated[Optional[Path], typer.Option("--data-dir", help="folder for the embedded defaults (store, SQLite)")]


def _settings(config: Path | None, data_dir: Path | None = None, **overrides: object) -> Settings:
    settings = configure(config, data_dir=data_dir, **overrides)
    setup_logging(settings.log_level, settings.log_format)
    return settings


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/] {exc}")
    raise typer.Exit(2)


@app.command()
def demo(
    config: ConfigOpt = None,
    data_dir: Annotated[Path, typer.Option(help="where the demo keeps its data")] = Path(".yuqing/demo"),
    fresh: Annotated[bool, typer.Option(help="start from an empty data folder")] = True,
    serve: Annotated[bool, typer.Option(help="serve the report API after the summary")] = True,
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    analyzer: Annotated[Optional[str], typer.Option(help="offline (default, no network) | llm")] = None,
    llm_url: Annotated[Optional[str], typer.Option(help="with --analyzer llm: an OpenAI-compatible URL, e.g. http://127.0.0.1:8000/v1")] = None,
    llm_model: Annotated[Optional[str], typer.Option(help="with --analyzer llm: the served model name")] = None,
) -> None:
    """Run the whole pipeline on the bundled demo site and print a summary against its ground truth."""
    from yuqing.demo import demo_settings, print_api_access, print_summary, run_demo

    try:
        if config:
            configure(config)
        settings = demo_settings(data_dir, fresh, analyzer=analyzer, llm_url=llm_url, llm_model=llm_model)
        setup_logging(settings.log_level, settings.log_format)
        result = run_demo(settings, console)
    except YuqingError as exc:
        _fail(exc)
    print_summary(result, console)
    print_api_access(settings, console, port)
    if serve:
        _serve(settings, port=port)


@app.command("demo-site")
def demo_site(
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(help="0 picks a free port")] = 8080,
) -> None:
    """Serve the bundled demo news site until Ctrl-C."""
    from yuqing.demo_site.server import main

    main(["--host", host, "--port", str(port)])


SourcesOpt = Annotated[Optional[Path], typer.Option(help="sources.yaml (default: settings crawl.sources_file)")]
VarOpt = Annotated[Optional[list[str]], typer.Option(help="fill ${name} in the sources file: name=value")]


def _load_sources(settings: Settings, sources_file: Path | None, var: list[str] | None, only: list[str] | None = None):  # type: ignore[no-untyped-def]
    from crawlers.sources import load_sources

    path = sources_file or settings.crawl.sources_file
    if path is None:
        raise ConfigError("no sources file: pass --sources FILE or set YQ_CRAWL__SOURCES_FILE (see crawlers/sources/examples.yaml)")
    bad = [v for v in var or [] if "=" not in v]
    if bad:
        raise ConfigError(f"--var takes name=value, got {bad[0]!r}")
    variables = {**settings.crawl.variables, **dict(v.split("=", 1) for v in var or [])}
    sources = load_sources(path, variables)
    if only:
        unknown = set(only) - {s.name for s in sources}
        if unknown:
            raise ConfigError(f"unknown source(s) {', '.join(sorted(unknown))} in {path}; it has {', '.join(s.name for s in sources)}")
        sources = [s for s in sources if s.name in only]
    return sources


@app.command()
def crawl(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    sources: SourcesOpt = None,
    source: Annotated[Optional[list[str]], typer.Option(help="crawl only these source names (repeatable)")] = None,
    var: VarOpt = None,
    enqueue: Annotated[bool, typer.Option(help="send the crawls to the Celery 'crawl' queue instead")] = False,
) -> None:
    """Crawl the configured sources once now (only articles not seen in earlier runs)."""
    from yuqing import pipeline

    try:
        settings = _settings(config, data_dir)
        chosen = _load_sources(settings, sources, var, source)
        if enqueue:
            from crawlers.tasks import crawl_source

            for item in chosen:
                crawl_source.delay(item.name)
            console.print(f"queued {len(chosen)} crawls on {settings.broker_url} (queue 'crawl')")
            return
        report = pipeline.crawl(pipeline.Context.open(settings), chosen)
    except YuqingError as exc:
        _fail(exc)
    table = Table("source", "articles", "failed", "seen before", "media", title=f"crawl {report.run_id} ({report.seconds:.1f}s)")
    for s in report.sources:
        table.add_row(s.source, str(s.articles), str(s.failed), str(s.skipped_seen), str(s.media))
    console.print(table)


@app.command()
def schedule(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    sources: SourcesOpt = None,
    var: VarOpt = None,
    list_only: Annotated[bool, typer.Option("--list", help="print each source's schedule and next run, then exit")] = False,
) -> None:
    """Crawl every source on its cron schedule (Celery beat); run `yuqing worker --queues crawl` beside it."""
    from datetime import UTC, datetime

    from crawlers.schedule import SCHEDULE_TIMEZONE, beat_schedule, next_runs

    try:
        settings = _settings(config, data_dir, log_format="json")
        chosen = _load_sources(settings, sources, var)
    except YuqingError as exc:
        _fail(exc)
    table = Table("source", "schedule", f"next run ({SCHEDULE_TIMEZONE})", title="crawl schedule")
    for run in next_runs(chosen, datetime.now(UTC)):
        table.add_row(run.source, run.schedule, run.at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)
    if list_only:
        return
    from yuqing.celery_app import app as celery_app

    celery_app.conf.beat_schedule = beat_schedule(chosen)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    celery_app.Beat(
        loglevel=settings.log_level, schedule=str(settings.data_dir / "celerybeat-schedule"), max_interval=30
    ).run()


@app.command()
def transcribe(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    retry_failed: Annotated[bool, typer.Option(help="try media that failed before again")] = False,
    enqueue: Annotated[bool, typer.Option(help="send pending media to the Celery 'asr' queue instead")] = False,
) -> None:
    """Transcribe crawled audio/video that has no transcript yet."""
    from yuqing import pipeline

    try:
        settings = _settings(config, data_dir)
        if enqueue:
            from asr.stage import pending_media
            from asr.tasks import transcribe_media
            from yuqing.storage import open_store

            keys = pending_media(open_store(settings), retry_failed=retry_failed)
            for key in keys:
                transcribe_media.delay(key, retry_failed=retry_failed)
            console.print(f"queued {len(keys)} media on {settings.broker_url} (queue 'asr')")
            return
        report = pipeline.transcribe(pipeline.Context.open(settings), retry_failed=retry_failed)
    except YuqingError as exc:
        _fail(exc)
    console.print(report.model_dump_json(indent=2))


@app.command()
def clean(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    since: Annotated[Optional[str], typer.Option(help="only raw documents crawled on or after this date (YYYY-MM-DD)")] = None,
) -> None:
    """Clean and de-duplicate crawled documents with Spark, then load them into the database."""
    from yuqing import pipeline

    try:
        report = pipeline.clean(pipeline.Context.open(_settings(config, data_dir)), since=date.fromisoformat(since) if since else None)
    except (YuqingError, ValueError) as exc:
        _fail(exc)
    console.print(report.model_dump_json(indent=2))


@app.command()
def analyze(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    input: Annotated[Optional[Path], typer.Option("--input", "-i", help='JSONL, one {"id","title","text"} per line')] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="JSONL of analyses, in input order")] = None,
    watch: Annotated[Optional[str], typer.Option(help="comma-separated watched names, e.g. 比亚迪,华为")] = None,
    analyzer: Annotated[Optional[str], typer.Option(help="offline | llm")] = None,
    redo: Annotated[bool, typer.Option(help="re-analyse documents that already have this analyzer's analysis")] = False,
    enqueue: Annotated[bool, typer.Option(help="send pending documents to the Celery 'analysis' queue instead")] = False,
    wait: Annotated[bool, typer.Option(help="with --enqueue: show progress until the workers have finished")] = True,
    timeout: Annotated[float, typer.Option(help="with --enqueue --wait: give up waiting after this many seconds")] = 24 * 3600,
) -> None:
    """Analyse documents: a JSONL file (--input/--output) or everything pending in the database."""
    from analysis.stage import analyze_jsonl, build_analyzer
    from yuqing import pipeline
    from yuqing.progress import stage_progress
    from yuqing.settings import WatchEntity

    try:
        settings = _settings(config, data_dir)
        watchlist = None
        if watch:
            watchlist = list(settings.watchlist)
            known = {n for e in watchlist for n in e.names}
            for i, name in enumerate(n.strip() for n in watch.split(",") if n.strip()):
                if name not in known:
                    watchlist.append(WatchEntity(id=f"watch-{i}", name=name))
        if (input is None) != (output is None):
            raise ConfigError("give both --input and --output, or neither to analyse the database")
        if input is not None and output is not None:
            if not input.is_file():
                raise ConfigError(f"--input {input} does not exist")
            chosen = build_analyzer(settings, analyzer, watchlist)
            with stage_progress(f"analyze {input.name}") as progress:
                report = analyze_jsonl(input, output, chosen, on_progress=progress)
        elif enqueue:
            _enqueue_analysis(settings, build_analyzer(settings, analyzer, watchlist).version, wait=wait, timeout=timeout)
            return
        else:
            if watchlist is not None:
                settings = configure(None, data_dir=data_dir, watchlist=[e.model_dump() for e in watchlist])
            report = pipeline.analyze(pipeline.Context.open(settings), analyzer, redo=redo)
    except YuqingError as exc:
        _fail(exc)
    console.print(f"analyzed {report.analyzed}, skipped {report.skipped}, failed {len(report.failed)} ({report.analyzer_version})")
    for failure in report.failed[:10]:
        console.print(f"  [yellow]failed[/] {failure['id']}: {failure['reason']}")


@app.command("export-sft")
def export_sft(
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL to write (Qwen conversations format)")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Write fine-tuning data: analyst-corrected analyses and confident, verified LLM outputs."""
    from analysis.sft import export_sft as run_export
    from yuqing import pipeline

    try:
        settings = _settings(config, data_dir)
        report = run_export(pipeline.Context.open(settings).sessions, output, settings.llm, settings.watchlist)
    except YuqingError as exc:
        _fail(exc)
    console.print(f"wrote {report.written} records to {output} ({report.from_feedback} corrected by analysts, {report.from_llm} from the LLM)")
    for reason, count in sorted(report.skipped.items()):
        console.print(f"  skipped {count}: {reason}")
    if report.written:
        console.print(f"train an adapter: python -m analysis.finetune.lora --data {output} --base-model <model dir> --output <adapter dir>")


def _enqueue_analysis(settings: Settings, analyzer_version: str, *, wait: bool, timeout: float) -> None:
    import time

    from kombu.exceptions import OperationalError

    from analysis.stage import STAGE, pending_ids, settled
    from analysis.tasks import analyze_documents
    from yuqing import pipeline
    from yuqing.celery_app import app as celery_app
    from yuqing.db.repository import clear_failure
    from yuqing.progress import stage_progress

    ctx = pipeline.Context.open(settings)
    ids = pending_ids(ctx.sessions, analyzer_version)
    with ctx.sessions.begin() as session:  # old failures would read as finished while waiting
        for document_id in ids:
            clear_failure(session, STAGE, document_id)
    size = settings.llm.batch_size
    try:
        with celery_app.connection_for_write(settings.broker_url) as connection:  # the broker these settings name
            for start in range(0, len(ids), size):
                analyze_documents.apply_async(({"ids": ids[start : start + size]},), connection=connection)
    except OperationalError as exc:
        raise UpstreamUnavailable(f"cannot reach the broker at {settings.broker_url}: {exc}; start Redis or set YQ_BROKER_URL") from exc
    console.print(f"queued {len(ids)} documents on {settings.broker_url} (queue 'analysis', {size} per task)")
    if not wait or not ids:
        return
    deadline = time.monotonic() + timeout
    with stage_progress(f"analysis workers ({analyzer_version})", total=len(ids)) as progress:
        while True:
            analysed, failed = settled(ctx.sessions, analyzer_version, ids)
            progress(analysed + failed, len(ids))
            if analysed + failed >= len(ids) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
    console.print(f"analysed {analysed}, failed {failed}, still queued {len(ids) - analysed - failed}")


def _serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    from api.main import create_app

    console.print(f"report API on http://{host or settings.api.host}:{port or settings.api.port}/docs  (Ctrl-C to stop)")
    uvicorn.run(create_app(settings), host=host or settings.api.host, port=port or settings.api.port, log_config=None)


@app.command()
def serve(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    host: Annotated[Optional[str], typer.Option(help="bind address")] = None,
    port: Annotated[Optional[int], typer.Option(help="port")] = None,
) -> None:
    """Serve the analyst report API."""
    try:
        settings = _settings(config, data_dir)
    except YuqingError as exc:
        _fail(exc)
    _serve(settings, host, port)


apikey_app = typer.Typer(help="API keys for the report API (only a hash is stored; the key is shown once).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


def _api_sessions(config: Path | None, data_dir: Path | None):  # type: ignore[no-untyped-def]
    from yuqing.db import make_engine, migrate, session_factory

    settings = _settings(config, data_dir)
    engine = make_engine(settings.db_url)
    migrate(engine)
    return settings, session_factory(engine)


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="who or what uses the key (recorded with their feedback)")],
    scope: Annotated[str, typer.Option(help="read (GET), write (+ feedback, crawls, alert rules) or admin (+ keys)")] = "read",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Create an API key and print it (once: it cannot be shown again)."""
    from api.auth import create_api_key

    try:
        _, sessions = _api_sessions(config, data_dir)
        with sessions.begin() as session:
            created = create_api_key(session, name, scope)  # type: ignore[arg-type]
    except YuqingError as exc:
        _fail(exc)
    console.print(f"API key [bold]{created.prefix}[/] ({created.name}, scope {created.scope}); store it now, it is not shown again:")
    typer.echo(created.key)
    console.print(f"use it as:  curl -H 'Authorization: Bearer {created.key}' http://127.0.0.1:8000/entities")


@apikey_app.command("list")
def apikey_list(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """List API keys (prefix, name, scope, created, last used, revoked)."""
    from api.auth import list_api_keys

    try:
        _, sessions = _api_sessions(config, data_dir)
        with sessions() as session:
            keys = list_api_keys(session)
    except YuqingError as exc:
        _fail(exc)
    table = Table("prefix", "name", "scope", "created", "last used", "revoked", title="API keys")
    for key in keys:
        when = [f"{t:%Y-%m-%d %H:%M}" if t else "" for t in (key.created_at, key.last_used_at, key.revoked_at)]
        table.add_row(key.prefix, key.name, key.scope, *when)
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(
    prefix: Annotated[str, typer.Argument(help="the key's prefix, as `yuqing apikey list` shows it")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke an API key: requests with it are refused from now on."""
    from api.auth import revoke_api_key

    try:
        _, sessions = _api_sessions(config, data_dir)
        with sessions.begin() as session:
            revoked = revoke_api_key(session, prefix)
    except YuqingError as exc:
        _fail(exc)
    console.print(f"revoked {revoked.prefix} ({revoked.name})")


@app.command()
def alerts(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    day: Annotated[Optional[str], typer.Option("--date", help="evaluate this day (YYYY-MM-DD, UTC); default today")] = None,
    deliver: Annotated[bool, typer.Option(help="send new alerts to their rules' webhooks")] = True,
    enqueue: Annotated[bool, typer.Option(help="send the evaluation to the Celery 'alerts' queue instead")] = False,
) -> None:
    """Evaluate every alert rule now (negative spikes, high-risk documents) and deliver webhooks."""
    try:
        settings, sessions = _api_sessions(config, data_dir)
        when = date.fromisoformat(day) if day else None
    except ValueError:
        _fail(ConfigError(f"--date takes YYYY-MM-DD, got {day!r}"))
    except YuqingError as exc:
        _fail(exc)
    if enqueue:
        from api.alerts.tasks import evaluate_alerts
        from yuqing.celery_app import app as celery_app

        with celery_app.connection_for_write(settings.broker_url) as connection:  # the broker these settings name
            evaluate_alerts.apply_async((day,), connection=connection)
        console.print(f"queued alerts.evaluate on {settings.broker_url} (queue 'alerts')")
        return
    from api.alerts.evaluation import run_alerts

    report = run_alerts(sessions, settings, when, deliver_webhooks=deliver)
    console.print(f"{report.day}: {report.rules} rules, {report.fired} new alerts, "
                  f"{report.delivered} delivered, {report.failed} webhook failures")


@app.command()
def worker(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    queues: Annotated[str, typer.Option(help="comma-separated queues: crawl, asr, analysis, alerts")] = "analysis",
    concurrency: Annotated[int, typer.Option(help="worker processes")] = 2,
) -> None:
    """Run a Celery worker for the given queues (JSON logs)."""
    try:
        # Each process's Whisper model takes its share of the cores (asr.cpu_threads=0), not
        # CTranslate2's own default of 4 threads per process.
        settings = _settings(config, data_dir, log_format="json", asr={"worker_processes": concurrency})
    except YuqingError as exc:
        _fail(exc)
    from yuqing.celery_app import QUEUES
    from yuqing.celery_app import app as celery_app

    unknown = set(queues.split(",")) - set(QUEUES)
    if unknown:
        _fail(ConfigError(f"unknown queue(s) {', '.join(sorted(unknown))}; choose from {', '.join(QUEUES)}"))
    # Tasks that run a stage in a child process (crawls) must see the same configuration.
    if config is not None:
        os.environ["YQ_CONFIG"] = str(config.resolve())
    if data_dir is not None:
        os.environ["YQ_DATA_DIR"] = str(data_dir.resolve())
    celery_app.worker_main(
        ["worker", "-Q", queues, "-c", str(concurrency), "--loglevel", settings.log_level,
         "--without-gossip", "--without-mingle", "--without-heartbeat"]
    )


@app.command()
def migrate(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Create or upgrade the database schema."""
    from yuqing.db import make_engine
    from yuqing.db import migrate as run_migrations

    try:
        settings = _settings(config, data_dir)
        run_migrations(make_engine(settings.db_url))
    except YuqingError as exc:
        _fail(exc)
    console.print("database is at the newest schema")


@app.command()
def doctor(config: ConfigOpt = None) -> None:
    """Check Java, ffmpeg, Chromium, the Whisper model, database and broker; say what to install."""
    from yuqing.doctor import run_checks

    try:
        settings = _settings(config)
    except YuqingError as exc:
        _fail(exc)
    checks = run_checks(settings)
    table = Table("check", "status", "detail", "how to fix")
    for c in checks:
        status = "[green]ok[/]" if c.ok else ("[red]missing[/]" if c.required else "[yellow]optional[/]")
        table.add_row(c.name, status, c.detail, "" if c.ok else c.fix)
    console.print(table)
    if not all(c.ok for c in checks if c.required):
        sys.exit(1)


if __name__ == "__main__":
    app()
