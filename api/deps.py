"""Dependencies shared by routes (Annotated aliases)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.auth import Caller
from api.security import get_session, require_scope
from yuqing.settings import Settings

EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def day_query(description: str, **kwargs: Any) -> Any:
    """A YYYY-MM-DD query parameter within years 1900-2999 (so day arithmetic never overflows)."""
    return Query(ge=EARLIEST_DAY, le=LATEST_DAY, description=description, **kwargs)


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


class Pagination(BaseModel):
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def get_pagination(
    request: Request,
    page: Annotated[int, Query(ge=1, le=100_000, description="1-based page number")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=1000, description="items per page (at most YQ_API__PAGE_SIZE_MAX, 200 by default)")
    ] = 20,
) -> Pagination:
    most = request.app.state.settings.api.page_size_max
    if page_size > most:
        raise HTTPException(422, f"query.page_size: at most {most} items per page (YQ_API__PAGE_SIZE_MAX)")
    return Pagination(page=page, page_size=page_size)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
PaginationDep = Annotated[Pagination, Depends(get_pagination)]
ReadCaller = Annotated[Caller, Depends(require_scope("read"))]
WriteCaller = Annotated[Caller, Depends(require_scope("write"))]
AdminCaller = Annotated[Caller, Depends(require_scope("admin"))]
