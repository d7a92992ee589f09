"""The FastAPI app: ``create_app(settings)``; ``yuqing serve`` runs it with uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.input_guard import RejectNulMiddleware
from api.metrics import MetricsMiddleware, RequestMetrics
from api.routes import alerts, apikeys, crawls, documents, entities, feedback, health, reports, stories
from api.security import RateLimiter
from yuqing import __version__
from yuqing.db import make_engine, migrate, session_factory
from yuqing.errors import InvalidInput, YuqingError
from yuqing.settings import Settings

log = logging.getLogger(__name__)
API_DIR = Path(__file__).resolve().parent
STATIC_DIR = API_DIR / "static"
DASHBOARD_PAGE = API_DIR / "dashboard" / "index.html"
_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}

DESCRIPTION = """Public-opinion reports: documents, analyses with evidence, entity trends, stories, alerts.

Every route except `/health`, `/ready`, `/metrics` and the dashboard page needs an API key, sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`. Scopes: `read` (GET), `write` (feedback, crawls,
alert rules), `admin` (API keys). Create one with `yuqing apikey create --name NAME --scope read`.
Errors share one envelope: `{"error": {"type", "message", "code"}}`. Lists are paginated with
`page` (from 1) and `page_size` (at most 200 by default).
"""


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"type": kind, "message": message, "code": status}}, headers=headers
    )


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="Yuqing report API", version=__version__, description=DESCRIPTION)
    engine = make_engine(settings.db_url)
    migrate(engine)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.metrics = RequestMetrics()
    app.state.rate_limiter = RateLimiter(settings.api.rate_limit, settings.api.rate_limit_storage_url)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(
            exc.status_code, _KINDS.get(exc.status_code, "http_error"), str(exc.detail), getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return _error(422, "invalid_request", f"{where}: {first['msg']}")

    @app.exception_handler(InvalidInput)
    async def _invalid_input(_: Request, exc: InvalidInput) -> JSONResponse:
        return _error(422, "invalid_request", str(exc))

    @app.exception_handler(YuqingError)
    async def _yuqing_error(_: Request, exc: YuqingError) -> JSONResponse:
        return _error(500, type(exc).__name__, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", f"unexpected {type(exc).__name__}; the server log has the details")

    for module_router in (
        health.router,
        documents.router,
        entities.router,
        stories.router,
        reports.router,
        alerts.alerts_router,
        alerts.rules_router,
        feedback.router,
        crawls.router,
        apikeys.router,
    ):
        app.include_router(module_router)

    # The dashboard page and its assets are public (the page asks for a key and sends it with each call).
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    @app.get("/dashboard", include_in_schema=False)
    def dashboard() -> FileResponse:
        if not DASHBOARD_PAGE.is_file():
            raise HTTPException(
                404, "the dashboard is not built into this install (api/dashboard/index.html is missing)"
            )
        return FileResponse(DASHBOARD_PAGE, media_type="text/html")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard")

    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
