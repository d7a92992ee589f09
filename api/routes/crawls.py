"""Crawl runs: history, and starting a configured source now (never an arbitrary URL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from api.deps import PaginationDep, ReadCaller, SessionDep, SettingsDep, WriteCaller
from api.queries import count
from api.schemas import CrawlQueued, CrawlRequest, CrawlRunOut, ErrorResponse, Page
from yuqing.db.models import CrawlRun
from yuqing.errors import ConfigError

router = APIRouter(
    prefix="/crawls",
    tags=["crawls"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)


@router.get("", response_model=Page[CrawlRunOut])
def list_crawls(
    _: ReadCaller,
    session: SessionDep,
    pagination: PaginationDep,
    source: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[CrawlRunOut]:
    """Crawl runs, newest first: pages fetched, articles stored, failures."""
    query = select(CrawlRun)
    if source:
        query = query.where(CrawlRun.source == source)
    total = count(session, query)
    rows = session.scalars(
        query.order_by(CrawlRun.started_at.desc()).offset(pagination.offset).limit(pagination.page_size)
    )
    items = [CrawlRunOut.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, page=pagination.page, page_size=pagination.page_size)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CrawlQueued,
    responses={404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
def start_crawl(request: CrawlRequest, _: WriteCaller, settings: SettingsDep) -> CrawlQueued:
    """Queue a crawl of one source from the sources file; a `yuqing worker --queues crawl` runs it."""
    from crawlers.sources import load_sources

    if settings.crawl.sources_file is None:
        raise HTTPException(503, "no sources file is configured: set YQ_CRAWL__SOURCES_FILE")
    try:
        sources = load_sources(settings.crawl.sources_file, settings.crawl.variables)
    except ConfigError as exc:
        raise HTTPException(503, str(exc)) from exc
    names = [s.name for s in sources]
    if request.source not in names:
        raise HTTPException(404, f"no source {request.source!r}; configured: {', '.join(names)}")

    from kombu.exceptions import OperationalError

    from crawlers.tasks import crawl_source
    from yuqing.celery_app import app as celery_app

    try:
        with celery_app.connection_for_write(settings.broker_url) as connection:
            result = crawl_source.apply_async(args=(request.source,), connection=connection, retry=False)
    except OperationalError as exc:
        raise HTTPException(503, f"the broker at {settings.broker_url} is unreachable: {exc}") from exc
    return CrawlQueued(source=request.source, task_id=result.id, queue="crawl")
