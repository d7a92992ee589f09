"""FastAPI dependencies for API-key auth (Bearer or X-API-Key), scopes and the per-key rate limit."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from api.auth import Caller, KeyRejected, authenticate
from api.schemas import Scope

_bearer = HTTPBearer(auto_error=False, scheme_name="bearer", description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey", description="X-API-Key: <API key>")
_HOW_TO = "send `Authorization: Bearer <key>` or `X-API-Key: <key>`; an admin creates keys with `yuqing apikey create`"


def get_session(request: Request) -> Iterator[Session]:
    """The request's one session (FastAPI caches it: auth and the route share it)."""
    with request.app.state.sessions() as session:
        yield session


class RateLimiter:
    """Moving-window limits per API key, in memory or in Redis (shared by every replica)."""

    def __init__(self, rates: str, storage_url: str) -> None:
        self.items: list[RateLimitItem] = parse_many(rates)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_url))

    def check(self, key_id: str) -> None:
        for item in self.items:
            if not self.limiter.hit(item, "api-key", key_id):
                reset_at = self.limiter.get_window_stats(item, "api-key", key_id).reset_time
                retry_after = max(1, int(reset_at - time.time()) + 1)
                raise HTTPException(
                    429,
                    f"rate limit of {item} exceeded for API key {key_id}; retry in {retry_after} s",
                    headers={"Retry-After": str(retry_after)},
                )


def current_caller(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_header)],
) -> Caller:
    key = header_key or (bearer.credentials if bearer else None)
    challenge = {"WWW-Authenticate": "Bearer"}
    if not key:
        raise HTTPException(401, f"missing API key: {_HOW_TO}", headers=challenge)
    try:
        caller = authenticate(session, key)
    except KeyRejected as exc:
        raise HTTPException(401, str(exc), headers=challenge) from exc
    request.app.state.rate_limiter.check(caller.prefix)
    request.state.caller = caller
    return caller


def require_scope(needed: Scope) -> Callable[[Caller], Awaitable[Caller]]:
    async def check(
        caller: Annotated[Caller, Depends(current_caller)],
    ) -> Caller:  # async: no thread hop for a comparison
        if not caller.allows(needed):
            raise HTTPException(403, f"API key {caller.prefix} has scope {caller.scope!r}; this needs {needed!r}")
        return caller

    return check
