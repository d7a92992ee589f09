"""Watched entities: overview cards and one entity's trend, sources, neighbours and negative items."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api.deps import ReadCaller, SessionDep, SettingsDep, day_query
from api.entity_stats import default_window, entity_report, entity_summaries
from api.queries import watched_entity
from api.schemas import EntityReport, EntitySummary, ErrorResponse

router = APIRouter(
    prefix="/entities",
    tags=["entities"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)

SinceQuery = Annotated[date | None, day_query("first day (inclusive); default: `days` before `until`")]
UntilQuery = Annotated[date | None, day_query("last day (inclusive); default: the newest day with mentions")]
DaysQuery = Annotated[int, Query(ge=1, le=366, description="window length when `since` is not given")]


def check_order(since: date, until: date) -> None:
    if since > until:
        raise HTTPException(422, f"query.since: {since} is after until {until}")


@router.get("", response_model=list[EntitySummary], responses={422: {"model": ErrorResponse}})
def list_entities(
    _: ReadCaller,
    session: SessionDep,
    settings: SettingsDep,
    since: SinceQuery = None,
    until: UntilQuery = None,
    days: DaysQuery = 30,
) -> list[EntitySummary]:
    """Every watched entity with its mentions and sentiment mix over the window, most mentioned first."""
    start, end = default_window(session, since, until, days)
    check_order(start, end)
    return entity_summaries(session, settings, start, end)


@router.get(
    "/{entity_id}",
    response_model=EntityReport,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def get_entity(
    entity_id: str,
    _: ReadCaller,
    session: SessionDep,
    settings: SettingsDep,
    since: SinceQuery = None,
    until: UntilQuery = None,
    days: DaysQuery = 30,
    latest: Annotated[int, Query(ge=0, le=50, description="how many latest negative items")] = 5,
) -> EntityReport:
    """One entity (id, name or alias): counts, daily and hourly trend, top sources, co-mentioned entities,
    latest negative items."""
    entity = watched_entity(settings, entity_id)
    start, end = default_window(session, since, until, days, entity.id)
    check_order(start, end)
    return entity_report(session, settings, entity, start, end, latest=latest)
