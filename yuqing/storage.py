"""Object store with one API over a local folder (default) and S3.

Keys are ``/``-separated relative paths (``raw/docs/date=2026-11-12/run.jsonl``).
Writes are atomic on both backends: a reader sees the old object or the new
one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from yuqing.errors import ConfigError, ObjectNotFound, StorageUnavailable
from yuqing.settings import Settings


class ObjectStore(Protocol):
    url: str

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def list_keys(self, prefix: str = "") -> Iterator[str]: ...
    def delete(self, key: str) -> None: ...
    def uri(self, key: str = "") -> str: ...
    def local_file(self, key: str) -> contextlib.AbstractContextManager[Path]: ...


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise ValueError(f"invalid object key {key!r}: use a relative path without '..'")
    return key


class LocalStore:
    """A folder on disk standing in for a bucket."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key!r} in {self.url}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        start = base if base.is_dir() else base.parent
        if not start.exists():
            return
        for path in sorted(start.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def uri(self, key: str = "") -> str:
        return (self.root / key).as_uri() if key else self.url

    @contextlib.contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(f"no object {key!r} in {self.url}")
        yield path


class S3Store:
    """A bucket (and optional prefix) on S3 or any S3-compatible server."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    def _full(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise ObjectNotFound(f"no object {kwargs.get('Key')!r} in {self.url}") from exc
            if code in ("NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise ConfigError(f"S3 refused {method} on {self.url}: {code}; check bucket and credentials") from exc
            raise StorageUnavailable(f"S3 {method} failed on {self.url}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 {method} failed on {self.url}: {exc}") from exc

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self._call("put_object", Key=self._full(key), Body=data, **extra)

    def get_bytes(self, key: str) -> bytes:
        return self._call("get_object", Key=self._full(key))["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=self._full(key))
        except ObjectNotFound:
            return False
        return True

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        full_prefix = self._full(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(self.prefix) + 1 if self.prefix else 0
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Prefix": full_prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list_objects_v2", **kwargs)
            for item in page.get("Contents", []):
                yield item["Key"][strip:]
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=self._full(key))

    def uri(self, key: str = "") -> str:
        """An ``s3a://`` URI, the form Spark's Hadoop connector reads."""
        base = f"s3a://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        return f"{base}/{key}" if key else base

    @contextlib.contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        """Download to a temporary file (media decoders need a path)."""
        tmpdir = Path(tempfile.mkdtemp(prefix="yuqing-s3-"))
        path = tmpdir / Path(key).name
        try:
            path.write_bytes(self.get_bytes(key))
            yield path
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)


def put_json(store: ObjectStore, key: str, value: Any) -> None:
    store.put_bytes(key, json.dumps(value, ensure_ascii=False).encode("utf-8"), "application/json")


def get_json(store: ObjectStore, key: str) -> Any:
    return json.loads(store.get_bytes(key))


def open_store(settings: Settings) -> ObjectStore:
    """The object store named by ``settings.store_url``."""
    parsed = urlparse(settings.store_url)
    if parsed.scheme == "file":
        return LocalStore(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        import boto3
        from botocore.config import Config

        s3 = settings.s3
        client = boto3.client(
            "s3",
            endpoint_url=s3.endpoint_url,
            region_name=s3.region,
            aws_access_key_id=s3.access_key_id.get_secret_value() if s3.access_key_id else None,
            aws_secret_access_key=s3.secret_access_key.get_secret_value() if s3.secret_access_key else None,
            config=Config(s3={"addressing_style": s3.addressing_style}, retries={"max_attempts": 3, "mode": "standard"}),
        )
        return S3Store(parsed.netloc, parsed.path, client)
    raise ConfigError(f"unsupported object store URL {settings.store_url!r}; use file:// or s3://")
