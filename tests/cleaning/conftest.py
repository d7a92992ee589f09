"""One local SparkSession for every cleaning test (starting one costs seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from cleaning.job import build_spark

    # Two shuffle partitions: the test DataFrames have a handful of rows.
    session = build_spark("local[2]", app_name="yuqing-clean-tests", extra_conf={"spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()
