"""Reports: the daily analyst report in five formats, and the older per-entity report paths."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from api.daily_report import build_daily_report, report_rows
from api.deps import ReadCaller, SessionDep, SettingsDep, day_query
from api.entity_stats import entity_report, newest_mention_day
from api.queries import watched_entity
from api.report_formats import MEDIA_TYPES, to_csv, to_html, to_markdown, to_xlsx
from api.schemas import DailyReport, EntityReport, ErrorResponse
from yuqing.settings import WatchEntity

router = APIRouter(
    prefix="/reports",
    tags=["reports"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)

ReportFormat = Literal["json", "markdown", "html", "csv", "xlsx"]
_ACCEPTED = {media.split(";")[0]: name for name, media in MEDIA_TYPES.items()}


def _negotiate(requested: ReportFormat | None, accept: str) -> ReportFormat:
    if requested:
        return requested
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in _ACCEPTED:
            return _ACCEPTED[media]  # type: ignore[return-value]
    return "json"


@router.get(
    "/daily",
    response_model=DailyReport,
    responses={
        200: {
            "description": "the report; `format` (or the Accept header) picks JSON, Markdown, HTML, "
            "or the day's rows as CSV/XLSX",
            "content": {media.split(";")[0]: {} for name, media in MEDIA_TYPES.items() if name != "json"},
        },
        404: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
    },
)
def daily_report(
    request: Request,
    _: ReadCaller,
    session: SessionDep,
    settings: SettingsDep,
    day: Annotated[
        date | None, day_query("the day (YYYY-MM-DD, UTC); default: the newest day with documents", alias="date")
    ] = None,
    entities: Annotated[
        str | None,
        Query(max_length=2000, description="comma-separated entity ids/names; default: every watched entity"),
    ] = None,
    format: Annotated[ReportFormat | None, Query(description="overrides the Accept header")] = None,  # noqa: A002 - the public parameter name
) -> Response:
    """Headline numbers, change vs the previous day, per-entity counts, top negative stories with evidence,
    new entities."""
    chosen: list[WatchEntity] = settings.watchlist
    restricted = bool(entities and entities.strip(","))
    if restricted:
        names = [n.strip() for n in (entities or "").split(",") if n.strip()]
        chosen = list({e.id: e for e in (watched_entity(settings, n) for n in names)}.values())
    report_day = day or newest_mention_day(session)
    if report_day is None:
        raise HTTPException(404, "no documents yet: crawl, clean and analyse first (or pass ?date=)")
    report = build_daily_report(session, chosen, report_day, restricted=restricted)
    kind = _negotiate(format, request.headers.get("accept", ""))
    if kind == "json":
        return JSONResponse(report.model_dump(mode="json"))
    if kind == "markdown":
        return Response(to_markdown(report), media_type=MEDIA_TYPES["markdown"])
    if kind == "html":
        return Response(to_html(report), media_type=MEDIA_TYPES["html"])
    rows = report_rows(session, report.entities, report_day, restricted=restricted)
    filename = f"yuqing-{report_day}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if kind == "csv":
        return Response(to_csv(rows), media_type=MEDIA_TYPES["csv"], headers=headers)
    return Response(to_xlsx(report, rows), media_type=MEDIA_TYPES["xlsx"], headers=headers)


@router.get("/entities", response_model=list[WatchEntity], deprecated=True)
def watched_entities(_: ReadCaller, settings: SettingsDep) -> list[WatchEntity]:
    """The watchlist (use GET /entities for counts)."""
    return settings.watchlist


@router.get("/entities/{name}", response_model=EntityReport, responses={404: {"model": ErrorResponse}}, deprecated=True)
def entity_report_all_time(
    name: str,
    _: ReadCaller,
    session: SessionDep,
    settings: SettingsDep,
    since: Annotated[date | None, day_query("first day (inclusive); default: all time")] = None,
    until: Annotated[date | None, day_query("last day (inclusive); default: all time")] = None,
    latest: Annotated[int, Query(ge=0, le=50)] = 5,
) -> EntityReport:
    """One entity over all time unless since/until are given (GET /entities/{id} defaults to the last 30 days)."""
    return entity_report(session, settings, watched_entity(settings, name), since, until, latest=latest)
