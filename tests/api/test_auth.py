"""API keys: required everywhere but probes, metrics and the dashboard page; scopes; revocation; rate limit; CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.api.conftest import LiveServer, make_key
from tests.api.seed import WATCH
from yuqing.cli import app as cli
from yuqing.db.models import ApiKeyRow
from yuqing.settings import configure

PROTECTED = [
    "/documents",
    "/documents/d1",
    "/entities",
    "/entities/xingchen",
    "/stories",
    "/reports/daily?date=2026-11-10",
    "/alerts",
    "/alert-rules",
    "/feedback",
    "/crawls",
    "/api-keys",
    "/reports/entities",
]


@pytest.fixture
def settings(database_url, tmp_path):
    return configure(data_dir=tmp_path / "y", database_url=database_url, watchlist=WATCH)


def test_every_data_route_needs_a_key(settings):
    with LiveServer(settings) as api:
        for path in PROTECTED:
            response = api.get(path)
            assert response.status_code == 401, path
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert "missing API key" in response.json()["error"]["message"]
        assert api.post("/feedback", json={}).status_code == 401
        for public in ("/health", "/ready", "/metrics", "/dashboard", "/openapi.json"):
            assert api.get(public).status_code == 200, public


def test_invalid_and_malformed_keys_are_refused(settings, db_sessions):
    real = make_key(db_sessions, "read")
    with LiveServer(settings) as api:
        forged = real[:-4] + "AAAA"
        assert api.get("/entities", headers={"X-API-Key": forged}).json()["error"]["message"] == "unknown API key"
        malformed = api.get("/entities", headers={"Authorization": "Bearer letmein"})
        assert malformed.status_code == 401 and "malformed" in malformed.json()["error"]["message"]
        assert api.get("/entities", headers={"Authorization": f"Basic {real}"}).status_code == 401
        assert api.get("/entities", headers={"X-API-Key": real}).status_code == 200
        assert api.get("/entities", headers={"Authorization": f"Bearer {real}"}).status_code == 200


def test_scopes_are_enforced(settings, db_sessions):
    reader, writer = make_key(db_sessions, "read", "reader"), make_key(db_sessions, "write", "writer")
    rule = {"entity": "xingchen", "kind": "negative_volume"}
    with LiveServer(settings) as api:
        denied = api.post("/alert-rules", json=rule, headers={"X-API-Key": reader})
        assert denied.status_code == 403
        assert denied.json()["error"] == {
            "type": "forbidden",
            "code": 403,
            "message": f"API key {reader.split('_')[1]} has scope 'read'; this needs 'write'",
        }
        created = api.post("/alert-rules", json=rule, headers={"X-API-Key": writer})
        assert created.status_code == 201 and created.json()["created_by"] == "writer"
        assert api.get("/api-keys", headers={"X-API-Key": writer}).status_code == 403


def test_admin_manages_keys_over_http_and_revoked_keys_stop_working(settings, db_sessions):
    admin = make_key(db_sessions, "admin", "boss")
    with LiveServer(settings, api_key=admin) as api:
        created = api.post("/api-keys", json={"name": "dashboard", "scope": "read"}).json()
        key, prefix = created["key"], created["prefix"]
        assert key.startswith(f"yq_{prefix}_")
        assert api.get("/entities", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        listed = {k["prefix"]: k for k in api.get("/api-keys").json()}
        assert "key" not in listed[prefix] and listed[prefix]["last_used_at"] is not None
        assert api.delete(f"/api-keys/{prefix}").json()["revoked_at"] is not None
        refused = api.get("/entities", headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
        assert api.delete("/api-keys/nosuch").status_code == 404
    with db_sessions() as session:
        stored = session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
        secret = key.removeprefix(f"yq_{prefix}_")  # the secret itself may contain "_"
        assert len(secret) >= 16 and stored.key_hash != key and secret not in stored.key_hash  # only a hash at rest


def test_rate_limit_per_key(database_url, db_sessions, tmp_path):
    settings = configure(
        data_dir=tmp_path / "y", database_url=database_url, watchlist=WATCH, api={"rate_limit": "3/minute"}
    )
    first, second = make_key(db_sessions, "read", "a"), make_key(db_sessions, "read", "b")
    with LiveServer(settings) as api:
        codes = [api.get("/entities", headers={"X-API-Key": first}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = api.get("/entities", headers={"X-API-Key": first})
        assert limited.json()["error"]["type"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
        assert api.get("/entities", headers={"X-API-Key": second}).status_code == 200  # per key
        assert api.get("/health").status_code == 200


def test_cors_origins_come_from_settings(database_url, tmp_path):
    settings = configure(
        data_dir=tmp_path / "y", database_url=database_url, api={"cors_origins": ["https://analyst.example"]}
    )
    with LiveServer(settings) as api:
        preflight = {
            "Origin": "https://analyst.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        }
        allowed = api.options("/entities", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://analyst.example"
        other = api.options("/entities", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_cli_creates_lists_and_revokes_keys(tmp_path):
    runner = CliRunner()
    data = str(tmp_path / "cli")
    created = runner.invoke(cli, ["apikey", "create", "--name", "analyst", "--scope", "write", "--data-dir", data])
    assert created.exit_code == 0, created.output
    key = next(line for line in created.output.splitlines() if line.startswith("yq_"))
    prefix = key.split("_")[1]
    listed = runner.invoke(cli, ["apikey", "list", "--data-dir", data])
    assert prefix in listed.output and "analyst" in listed.output and key not in listed.output
    assert runner.invoke(cli, ["apikey", "revoke", prefix, "--data-dir", data]).exit_code == 0
    unknown = runner.invoke(cli, ["apikey", "revoke", "nosuch", "--data-dir", data])
    assert unknown.exit_code == 2 and "no API key with prefix 'nosuch'" in unknown.output
    bad_scope = runner.invoke(cli, ["apikey", "create", "--name", "x", "--scope", "root", "--data-dir", data])
    assert bad_scope.exit_code == 2 and "scope must be one of read, write, admin" in bad_scope.output
