"""The FastAPI app: ``create_app(settings)``; ``yuqing serve`` runs it with uvicorn."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.routes import crawls, documents, health, reports
from yuqing import __version__
from yuqing.db import make_engine, migrate, session_factory
from yuqing.errors import YuqingError
from yuqing.settings import Settings


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"type": kind, "message": message, "code": status}})


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Yuqing report API",
        version=__version__,
        description="Public-opinion reports: documents, analyses with evidence, entity trends.",
    )
    engine = make_engine(settings.db_url)
    migrate(engine)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        kind = {404: "not_found", 400: "bad_request", 401: "unauthorized", 403: "forbidden", 503: "unavailable"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, kind, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return _error(422, "invalid_request", f"{where}: {first['msg']}")

    @app.exception_handler(YuqingError)
    async def _yuqing_error(_: Request, exc: YuqingError) -> JSONResponse:
        return _error(500, type(exc).__name__, str(exc))

    app.include_router(health.router)
    app.include_router(documents.router)
    app.include_router(reports.router)
    app.include_router(crawls.router)
    return app
