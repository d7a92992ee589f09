"""Spark schemas derived from the pydantic contracts, so the two cannot drift apart.

``spark_schema(CleanDocument)`` is the layout of ``clean/`` (plus the ``date``
partition column); ``spark_schema(RawDocument)`` is how raw JSON lines are read.
Only the types the contracts use are mapped; anything else raises ``TypeError``
naming the field, so a new contract field fails loudly here rather than in Spark.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Literal, Union

from pydantic import BaseModel
from pyspark.sql import types as T

from yuqing.contracts import CleanDocument, RawDocument, Transcript

_SCALARS: dict[type, T.DataType] = {
    str: T.StringType(),
    int: T.LongType(),  # Python ints are unbounded; 64 bits is the widest Spark integer
    float: T.DoubleType(),
    bool: T.BooleanType(),
    datetime: T.TimestampType(),  # an instant, stored in UTC
    date: T.DateType(),
}


def _strip_optional(annotation: Any, where: str) -> tuple[Any, bool]:
    """(the annotation without ``None``, whether ``None`` was allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(annotation))
        raise TypeError(f"{where}: union {annotation!r} has no single Spark type")
    return annotation, False


def spark_type(annotation: Any, where: str = "field") -> T.DataType:
    """The Spark type for a (non-optional) Python annotation."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if origin is Literal:
        kinds = {type(v) for v in typing.get_args(annotation)}
        if len(kinds) == 1 and kinds.pop() in _SCALARS:
            return _SCALARS[type(typing.get_args(annotation)[0])]
        raise TypeError(f"{where}: literal {annotation!r} mixes types")
    if origin in (list, tuple, set, frozenset):
        (item,) = typing.get_args(annotation)[:1] or (None,)
        if item is None:
            raise TypeError(f"{where}: bare {annotation!r} has no item type")
        inner, nullable = _strip_optional(item, where)
        return T.ArrayType(spark_type(inner, where), containsNull=nullable)
    if origin is dict:
        key, value = typing.get_args(annotation)
        inner, nullable = _strip_optional(value, where)
        return T.MapType(spark_type(key, where), spark_type(inner, where), valueContainsNull=nullable)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return spark_schema(annotation)
    raise TypeError(f"{where}: no Spark type for {annotation!r}")


def spark_schema(
    model: type[BaseModel],
    *,
    include: Iterable[str] | None = None,
    computed: bool = False,
) -> T.StructType:
    """A StructType with the model's fields in declaration order.

    ``include`` keeps only the named fields (reading a subset of a JSON record);
    ``computed`` adds ``@computed_field`` properties, which appear in JSON dumps
    (``Transcript.text``). A field is nullable when its annotation allows ``None``.
    """
    wanted = set(include) if include is not None else None
    annotations = {name: info.annotation for name, info in model.model_fields.items()}
    if computed:
        annotations |= {name: info.return_type for name, info in model.model_computed_fields.items()}
    fields = []
    for name, annotation in annotations.items():
        if wanted is not None and name not in wanted:
            continue
        where = f"{model.__name__}.{name}"
        inner, nullable = _strip_optional(annotation, where)
        fields.append(T.StructField(name, spark_type(inner, where), nullable=nullable))
    if wanted is not None and (missing := wanted - {f.name for f in fields}):
        raise KeyError(f"{model.__name__} has no field(s) {sorted(missing)}")
    return T.StructType(fields)


def as_nullable(schema: T.StructType) -> T.StructType:
    """The same schema with every top-level field nullable (what Spark's file readers produce)."""
    return T.StructType([T.StructField(f.name, f.dataType, nullable=True) for f in schema.fields])


CORRUPT_RECORD = "_corrupt_record"
PARTITION_COLUMN = "date"


def raw_document_schema() -> T.StructType:
    """Raw JSON lines as read: every field nullable, plus the corrupt-record column for bad lines."""
    return T.StructType([*as_nullable(spark_schema(RawDocument)).fields, T.StructField(CORRUPT_RECORD, T.StringType())])


def transcript_schema() -> T.StructType:
    """The two fields the cleaner needs from a transcript file."""
    return as_nullable(spark_schema(Transcript, include=["media_sha256", "text"], computed=True))


def clean_document_schema() -> T.StructType:
    """``CleanDocument`` as stored under ``clean/`` (without the partition column)."""
    return spark_schema(CleanDocument)


def clean_table_schema() -> T.StructType:
    """What ``clean/`` holds when read back with its partition column."""
    partition = T.StructField(PARTITION_COLUMN, T.DateType(), nullable=False)
    return T.StructType([*clean_document_schema().fields, partition])
