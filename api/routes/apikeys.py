"""API key management over HTTP (admin scope); `yuqing apikey` does the same from a shell."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from api.auth import create_api_key, list_api_keys, revoke_api_key
from api.deps import AdminCaller, SessionDep
from api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut, ErrorResponse
from yuqing.errors import InvalidInput

router = APIRouter(
    prefix="/api-keys",
    tags=["auth"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)


@router.get("", response_model=list[ApiKeyOut])
def list_keys(_: AdminCaller, session: SessionDep) -> list[ApiKeyOut]:
    """Every key (never its secret), revoked ones included."""
    return list_api_keys(session)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_key(request: ApiKeyIn, _: AdminCaller, session: SessionDep) -> ApiKeyCreated:
    """A new key; its secret is in this response only."""
    created = create_api_key(session, request.name, request.scope)
    session.commit()
    return created


@router.delete("/{prefix}", response_model=ApiKeyOut, responses={404: {"model": ErrorResponse}})
def revoke_key(prefix: Annotated[str, Path(max_length=16)], _: AdminCaller, session: SessionDep) -> ApiKeyOut:
    """Revoke a key by its prefix; requests with it fail from now on."""
    try:
        revoked = revoke_api_key(session, prefix)
    except InvalidInput as exc:
        raise HTTPException(404, str(exc)) from exc
    session.commit()
    return revoked
