"""Alerts that fired, and the rules that fire them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from sqlalchemy import select

from api.alerts.records import alert_out, rule_out
from api.deps import PaginationDep, ReadCaller, SessionDep, SettingsDep, WriteCaller, day_query
from api.queries import count, watched_entity
from api.schemas import AlertKind, AlertOut, AlertRuleIn, AlertRuleOut, DeliveryStatus, ErrorResponse, Page
from yuqing.db.models import AlertRow, AlertRuleRow

_errors = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}}
alerts_router = APIRouter(prefix="/alerts", tags=["alerts"], responses=_errors)
rules_router = APIRouter(prefix="/alert-rules", tags=["alerts"], responses=_errors)
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@alerts_router.get(
    "", response_model=Page[AlertOut], responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}
)
def list_alerts(
    _: ReadCaller,
    session: SessionDep,
    settings: SettingsDep,
    pagination: PaginationDep,
    entity: Annotated[str | None, Query(max_length=100, description="watched entity id, name or alias")] = None,
    kind: AlertKind | None = None,
    since: Annotated[date | None, day_query("alerts for this day or later")] = None,
    delivery_status: DeliveryStatus | None = None,
) -> Page[AlertOut]:
    """Fired alerts, newest first, each with its evidence document ids and webhook delivery status."""
    query = select(AlertRow)
    if entity:
        query = query.where(AlertRow.entity_id == watched_entity(settings, entity).id)
    if kind:
        query = query.where(AlertRow.kind == kind)
    if since:
        query = query.where(AlertRow.day >= since)
    if delivery_status:
        query = query.where(AlertRow.delivery_status == delivery_status)
    total = count(session, query)
    rows = session.scalars(
        query.order_by(AlertRow.day.desc(), AlertRow.id.desc()).offset(pagination.offset).limit(pagination.page_size)
    ).all()
    return Page(items=[alert_out(r) for r in rows], total=total, page=pagination.page, page_size=pagination.page_size)


@rules_router.get("", response_model=list[AlertRuleOut])
def list_rules(_: ReadCaller, session: SessionDep) -> list[AlertRuleOut]:
    """Every alert rule, oldest first."""
    return [rule_out(r) for r in session.scalars(select(AlertRuleRow).order_by(AlertRuleRow.id))]


@rules_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AlertRuleOut,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
def create_rule(rule: AlertRuleIn, caller: WriteCaller, session: SessionDep, settings: SettingsDep) -> AlertRuleOut:
    """Watch one entity for a negative spike (volume or share, z-score over its own baseline) or high-risk documents."""
    entity = watched_entity(settings, rule.entity)
    row = AlertRuleRow(
        entity_id=entity.id,
        kind=rule.kind,
        window_days=rule.window_days,
        z_threshold=rule.z_threshold,
        min_count=rule.min_count,
        webhook_url=str(rule.webhook_url) if rule.webhook_url else None,
        created_by=caller.name,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.commit()
    return rule_out(row)


@rules_router.get("/{rule_id}", response_model=AlertRuleOut, responses={404: {"model": ErrorResponse}})
def get_rule(rule_id: RuleId, _: ReadCaller, session: SessionDep) -> AlertRuleOut:
    row = session.get(AlertRuleRow, rule_id)
    if row is None:
        raise HTTPException(404, f"no alert rule {rule_id}")
    return rule_out(row)


@rules_router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {"model": ErrorResponse}})
def delete_rule(rule_id: RuleId, _: WriteCaller, session: SessionDep) -> Response:
    """Stop evaluating a rule; the alerts it fired stay (with rule_id null)."""
    row = session.get(AlertRuleRow, rule_id)
    if row is None:
        raise HTTPException(404, f"no alert rule {rule_id}")
    session.delete(row)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
