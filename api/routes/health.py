"""Probes and metrics; these need no API key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.deps import SessionDep, SettingsDep

router = APIRouter(tags=["health"])
BROKER_TIMEOUT_S = 2.0


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


def _broker_error(url: str) -> str | None:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT_S) as connection:
            connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


@router.get("/ready", responses={503: {"description": "the database or the broker is unreachable"}})
def ready(session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """Readiness: the database and the broker answer (503 and the reason otherwise)."""
    body = {"status": "ok", "database": "ok", "broker": "ok"}
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        body["database"] = str(exc)[:200]
    broker_error = _broker_error(settings.broker_url)
    if broker_error:
        body["broker"] = broker_error
    if body["database"] != "ok" or body["broker"] != "ok":
        body["status"] = "unavailable"
        return JSONResponse(status_code=503, content=body)
    return JSONResponse(content=body)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request) -> Response:
    """Prometheus exposition: request counts and latency by route template."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
