"""Spark schemas derived from the pydantic contracts (no SparkSession needed)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import pytest
from pydantic import BaseModel
from pyspark.sql import types as T

from cleaning.schema import (
    CORRUPT_RECORD,
    clean_document_schema,
    clean_table_schema,
    raw_document_schema,
    spark_schema,
    transcript_schema,
)
from yuqing.contracts import CleanDocument


def test_clean_document_schema_follows_the_contract_field_by_field():
    schema = clean_document_schema()
    assert schema.fieldNames() == list(CleanDocument.model_fields)
    assert schema["id"] == T.StructField("id", T.StringType(), nullable=False)
    assert schema["schema_version"].dataType == T.LongType()
    assert schema["published_at"] == T.StructField("published_at", T.TimestampType(), nullable=True)
    assert schema["crawled_at"] == T.StructField("crawled_at", T.TimestampType(), nullable=False)
    assert schema["media_sha256"].dataType == T.ArrayType(T.StringType(), containsNull=False)
    assert schema["duplicate_kind"] == T.StructField("duplicate_kind", T.StringType(), nullable=True)
    assert clean_table_schema().fieldNames()[-1] == "date"


def test_raw_schema_nests_media_assets_and_keeps_bad_lines():
    schema = raw_document_schema()
    media = schema["media"].dataType
    assert isinstance(media, T.ArrayType) and isinstance(media.elementType, T.StructType)
    assert media.elementType["sha256"].dataType == T.StringType()
    assert media.elementType["size_bytes"].dataType == T.LongType()
    assert schema.fieldNames()[-1] == CORRUPT_RECORD
    assert all(field.nullable for field in schema.fields)


def test_transcript_schema_reads_the_computed_text_field():
    assert transcript_schema().fieldNames() == ["media_sha256", "text"]


class _Everything(BaseModel):
    flag: bool
    count: int
    ratio: float | None = None
    day: date
    at: datetime
    kind: Literal["a", "b"]
    tags: list[str]
    scores: dict[str, float]
    nested: list[_Inner] = []


class _Inner(BaseModel):
    name: str


_Everything.model_rebuild()


def test_every_supported_annotation_maps_to_a_spark_type():
    schema = spark_schema(_Everything)
    assert [f.dataType for f in schema.fields] == [
        T.BooleanType(),
        T.LongType(),
        T.DoubleType(),
        T.DateType(),
        T.TimestampType(),
        T.StringType(),
        T.ArrayType(T.StringType(), containsNull=False),
        T.MapType(T.StringType(), T.DoubleType(), valueContainsNull=False),
        T.ArrayType(T.StructType([T.StructField("name", T.StringType(), False)]), containsNull=False),
    ]
    assert schema["ratio"].nullable and not schema["count"].nullable


def test_unsupported_annotations_fail_naming_the_field():
    class Mixed(BaseModel):
        value: int | str

    with pytest.raises(TypeError, match="Mixed.value"):
        spark_schema(Mixed)


def test_include_names_must_exist():
    with pytest.raises(KeyError, match="nope"):
        spark_schema(CleanDocument, include=["id", "nope"])
