"""API keys: creation, lookup, revocation. Only a SHA-256 of each key is stored.

A key reads ``yq_<prefix>_<secret>``: the prefix is its public id (listing and revoking use it),
the secret is 256 random bits, so a plain SHA-256 is enough (no slow password hash needed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.schemas import ApiKeyCreated, ApiKeyOut, Scope
from yuqing.db.models import ApiKeyRow
from yuqing.errors import InvalidInput

SCOPE_RANK: dict[str, int] = {"read": 0, "write": 1, "admin": 2}
KEY_MARK = "yq"
DEMO_KEY_NAME = "demo"
_LAST_USED_PRECISION = timedelta(minutes=1)  # don't write on every request


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's name is recorded with feedback and alert rules."""

    prefix: str
    name: str
    scope: Scope

    def allows(self, needed: Scope) -> bool:
        return SCOPE_RANK[self.scope] >= SCOPE_RANK[needed]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _out(row: ApiKeyRow) -> ApiKeyOut:
    return ApiKeyOut(
        prefix=row.prefix,
        name=row.name,
        scope=row.scope,
        created_at=row.created_at,  # type: ignore[arg-type]
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def create_api_key(session: Session, name: str, scope: Scope = "read") -> ApiKeyCreated:
    """A new key; the returned `key` is the only time the secret is visible."""
    if scope not in SCOPE_RANK:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPE_RANK)}, not {scope!r}")
    if not name.strip():
        raise InvalidInput("an API key needs a name (who or what uses it)")
    prefix = secrets.token_hex(4)
    key = f"{KEY_MARK}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKeyRow(prefix=prefix, key_hash=hash_key(key), name=name.strip(), scope=scope, created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return ApiKeyCreated(key=key, **_out(row).model_dump())


def list_api_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKeyOut]:
    query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
    if not include_revoked:
        query = query.where(ApiKeyRow.revoked_at.is_(None))
    return [_out(row) for row in session.scalars(query)]


def revoke_api_key(session: Session, prefix: str) -> ApiKeyOut:
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
    if row is None:
        raise InvalidInput(f"no API key with prefix {prefix!r}; `yuqing apikey list` shows them")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.flush()
    return _out(row)


class KeyRejected(Exception):
    """The presented key is malformed, unknown or revoked (the message says which)."""


def authenticate(session: Session, key: str) -> Caller:
    """The caller a key belongs to; raises KeyRejected. Records when the key was last used (at most once a minute)."""
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_MARK:
        raise KeyRejected("malformed API key: it should look like yq_<prefix>_<secret>")
    row = session.execute(
        select(
            ApiKeyRow.id,
            ApiKeyRow.prefix,
            ApiKeyRow.key_hash,
            ApiKeyRow.name,
            ApiKeyRow.scope,
            ApiKeyRow.revoked_at,
            ApiKeyRow.last_used_at,
        ).where(ApiKeyRow.prefix == parts[1])
    ).first()
    if row is None or not hmac.compare_digest(row.key_hash, hash_key(key.strip())):
        raise KeyRejected("unknown API key")
    if row.revoked_at is not None:
        raise KeyRejected(f"API key {row.prefix} was revoked on {row.revoked_at:%Y-%m-%d}")
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_PRECISION:
        session.execute(update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(last_used_at=now))
        session.commit()
    else:
        session.rollback()  # end the read transaction; the route starts its own
    return Caller(prefix=row.prefix, name=row.name, scope=row.scope)


def ensure_demo_key(sessions: sessionmaker[Session]) -> str:
    """A fresh admin key named "demo" for `yuqing demo` (earlier demo keys are revoked: their secrets are gone)."""
    with sessions.begin() as session:
        for row in session.scalars(
            select(ApiKeyRow).where(ApiKeyRow.name == DEMO_KEY_NAME, ApiKeyRow.revoked_at.is_(None))
        ):
            row.revoked_at = datetime.now(UTC)
        return create_api_key(session, DEMO_KEY_NAME, "admin").key
