"""Read ``clean/`` back as ``CleanDocument`` models, with pyarrow only (no Spark, no JVM).

Used by the CLI to load the clean job's output into the database, from a local
folder or from S3.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from yuqing.contracts import CleanDocument
from yuqing.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow.fs

    from yuqing.settings import S3Settings

logger = logging.getLogger(__name__)


def arrow_s3_filesystem(s3: S3Settings | None) -> pyarrow.fs.S3FileSystem:
    """A pyarrow S3 filesystem with the same endpoint and credentials as the object store."""
    from pyarrow import fs

    if s3 is None:  # the AWS SDK's own chain: environment, profile, instance role
        return fs.S3FileSystem()
    endpoint = urlparse(s3.endpoint_url) if s3.endpoint_url else None
    return fs.S3FileSystem(
        access_key=s3.access_key_id.get_secret_value() if s3.access_key_id else None,
        secret_key=s3.secret_access_key.get_secret_value() if s3.secret_access_key else None,
        region=s3.region,
        scheme=endpoint.scheme if endpoint else None,
        endpoint_override=endpoint.netloc if endpoint else None,
        force_virtual_addressing=s3.addressing_style == "virtual",
    )


def _locate(uri: str, s3: S3Settings | None) -> tuple[str, pyarrow.fs.FileSystem | None] | None:
    """(path, filesystem) to read ``uri`` from; None when there is nothing there yet."""
    parsed = urlparse(uri)
    if parsed.scheme in ("s3", "s3a"):
        filesystem = arrow_s3_filesystem(s3)
        path = f"{parsed.netloc}/{parsed.path.strip('/')}".rstrip("/")
        from pyarrow import fs

        return (path, filesystem) if filesystem.get_file_info(path).type == fs.FileType.Directory else None
    if parsed.scheme in ("file", ""):
        local = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(uri)
        return (str(local), None) if local.is_dir() else None
    raise ConfigError(f"cannot read clean documents from {uri!r}: use a file://, s3:// or s3a:// URI or a local path")


def read_clean_documents(path: str, *, s3: S3Settings | None = None) -> list[CleanDocument]:
    """Every document under ``path`` (the ``clean/`` folder), validated against the contract.

    ``path`` is a local path or a ``file://``, ``s3://`` or ``s3a://`` URI (S3 endpoint and
    credentials from ``s3``, the object store's settings). Files and folders starting with
    ``_`` or ``.`` (reports, Spark markers, checksums) are skipped. A document found in two
    partitions (possible only if a run stopped between writing and tidying) is returned
    once, from its latest crawl.
    """
    import pyarrow.dataset as ds

    location = _locate(path, s3)
    if location is None:
        return []
    source, filesystem = location
    dataset = ds.dataset(source, format="parquet", partitioning="hive", filesystem=filesystem)
    columns = [name for name in CleanDocument.model_fields if name in dataset.schema.names]
    rows = dataset.to_table(columns=columns).to_pylist()
    latest: dict[str, CleanDocument] = {}
    for row in rows:
        document = CleanDocument.model_validate(row)
        kept = latest.get(document.id)
        if kept is None or document.crawled_at > kept.crawled_at:
            latest[document.id] = document
    if len(latest) < len(rows):
        logger.warning("%s holds %d rows for %d documents; kept each one's latest crawl", path, len(rows), len(latest))
    return sorted(latest.values(), key=lambda d: d.id)
