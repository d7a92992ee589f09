"""Small file-system operations through Hadoop's FileSystem API, via the driver's JVM.

Going through Hadoop rather than ``pathlib`` or boto3 means one code path for every
URI Spark itself can read and write (``file://`` on a laptop, ``s3a://`` in the
cluster), with the credentials and endpoints already in Spark's Hadoop configuration.
These run on the driver only, and need a classic (non-Connect) SparkSession.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession


def join_uri(base: str, *parts: str) -> str:
    """``base`` with ``parts`` appended, one ``/`` between each."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts if p)])


def _path_and_fs(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path, path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def exists(spark: SparkSession, uri: str) -> bool:
    path, fs = _path_and_fs(spark, uri)
    return bool(fs.exists(path))


def glob(spark: SparkSession, pattern: str) -> list[str]:
    """URIs matching a Hadoop glob (``*``, ``{a,b}``), sorted; empty when nothing matches."""
    path, fs = _path_and_fs(spark, pattern)
    statuses = fs.globStatus(path)
    return sorted(str(s.getPath().toString()) for s in statuses) if statuses is not None else []


def list_directories(spark: SparkSession, uri: str) -> list[str]:
    """Names (not URIs) of the sub-directories of ``uri``; empty when it does not exist."""
    path, fs = _path_and_fs(spark, uri)
    if not fs.exists(path):
        return []
    return sorted(str(s.getPath().getName()) for s in fs.listStatus(path) if s.isDirectory())


def delete(spark: SparkSession, uri: str) -> None:
    path, fs = _path_and_fs(spark, uri)
    fs.delete(path, True)


def write_text(spark: SparkSession, uri: str, text: str) -> None:
    """Write a small UTF-8 object, replacing any existing one.

    On S3 the object appears whole when the stream closes; on a local disk a reader
    could see a partial file meanwhile, which is acceptable for run reports.
    """
    path, fs = _path_and_fs(spark, uri)
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def read_text(spark: SparkSession, uri: str) -> str:
    """The whole of a small UTF-8 object (as written by ``write_text``)."""
    path, fs = _path_and_fs(spark, uri)
    stream = fs.open(path)
    try:
        return str(spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()


def total_bytes(spark: SparkSession, uri: str) -> int:
    """Bytes stored under ``uri`` (every file below it); 0 when it does not exist."""
    path, fs = _path_and_fs(spark, uri)
    return int(fs.getContentSummary(path).getLength()) if fs.exists(path) else 0
