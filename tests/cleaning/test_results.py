"""read_clean_documents: the clean/ folder back as contracts, with pyarrow only."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cleaning.results import read_clean_documents
from yuqing.contracts import CleanDocument
from yuqing.errors import ConfigError


def _document(doc_id: str, crawled: datetime, **changes) -> dict:
    base = CleanDocument(
        id=doc_id, url="https://x.example/a", canonical_url="https://x.example/a", source="x", title="标题",
        text="正文", crawled_at=crawled, content_hash="h", story_id=doc_id, media_sha256=["a" * 64],
    )  # fmt: skip
    return base.model_copy(update=changes).model_dump()


# As Spark writes it: every file has the full schema, whatever its values.
_ARROW_SCHEMA = pa.schema(
    [("schema_version", pa.int64())]
    + [(name, pa.string()) for name in ("id", "url", "canonical_url", "source", "title", "text", "transcript_text")]
    + [("media_sha256", pa.list_(pa.string())), ("language", pa.string())]
    + [("published_at", pa.timestamp("us", tz="UTC")), ("crawled_at", pa.timestamp("us", tz="UTC"))]
    + [(name, pa.string()) for name in ("content_hash", "story_id", "duplicate_of", "duplicate_kind")]
    + [("quality_issues", pa.list_(pa.string()))]
)


def _write(folder, rows):
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(rows, schema=_ARROW_SCHEMA)
    pq.write_table(table, folder / "part-0.zstd.parquet", compression="zstd")


def test_reads_every_partition_and_skips_reports_and_hidden_files(tmp_path):
    clean = tmp_path / "clean"
    first = datetime(2026, 11, 12, 1, tzinfo=UTC)
    _write(clean / "date=2026-11-10", [_document("a", first), _document("b", first, duplicate_of="a", story_id="a")])
    _write(clean / "date=2026-11-11", [_document("c", first, quality_issues=["too_short"])])
    (clean / "_reports").mkdir()
    (clean / "_reports" / "run.json").write_text("{}")
    (clean / "date=2026-11-10" / ".part-0.zstd.parquet.crc").write_bytes(b"crc")

    documents = read_clean_documents(clean.as_uri())

    assert [d.id for d in documents] == ["a", "b", "c"]
    assert documents[1].duplicate_of == "a" and documents[2].quality_issues == ["too_short"]
    assert documents[0].crawled_at == first and documents[0].media_sha256 == ["a" * 64]
    assert read_clean_documents(str(clean)) == documents


def test_a_document_in_two_partitions_is_returned_once_from_its_latest_crawl(tmp_path):
    clean = tmp_path / "clean"
    old, new = datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 12, tzinfo=UTC)
    _write(clean / "date=2026-11-10", [_document("a", old, title="旧")])
    _write(clean / "date=2026-11-08", [_document("a", new, title="新")])
    assert [d.title for d in read_clean_documents(clean.as_uri())] == ["新"]


def test_no_folder_yet_means_no_documents(tmp_path):
    assert read_clean_documents((tmp_path / "clean").as_uri()) == []


def test_unknown_schemes_are_refused():
    with pytest.raises(ConfigError, match="s3a://"):
        read_clean_documents("hdfs://cluster/clean")


@pytest.mark.integration
def test_reads_from_an_s3_compatible_server(s3_settings):
    import boto3
    from botocore.config import Config

    buffer = io.BytesIO()
    crawled = datetime(2026, 11, 12, tzinfo=UTC)
    pq.write_table(pa.Table.from_pylist([_document("a", crawled)], schema=_ARROW_SCHEMA), buffer)
    s3 = s3_settings.s3
    # No stored checksum: rclone would send the whole object's checksum with the ranged reads
    # pyarrow makes for the Parquet footer, which the AWS SDK then rejects (real S3 does not).
    client = boto3.client(
        "s3", endpoint_url=s3.endpoint_url, region_name=s3.region,
        aws_access_key_id=s3.access_key_id.get_secret_value(), aws_secret_access_key=s3.secret_access_key.get_secret_value(),
        config=Config(request_checksum_calculation="when_required"),
    )  # fmt: skip
    bucket_and_prefix = s3_settings.store_url.removeprefix("s3://")
    bucket, prefix = bucket_and_prefix.split("/", 1)
    client.put_object(Bucket=bucket, Key=f"{prefix}/clean/date=2026-11-10/part-0.parquet", Body=buffer.getvalue())

    documents = read_clean_documents(f"s3a://{bucket_and_prefix}/clean", s3=s3_settings.s3)

    assert [d.id for d in documents] == ["a"]
    assert read_clean_documents(f"s3://{bucket_and_prefix}/nothing-here", s3=s3_settings.s3) == []
