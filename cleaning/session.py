"""The SparkSession the clean job runs in, and the settings S3 needs.

``build_spark`` works for ``local[…]`` on a laptop and under ``spark-submit`` in a
cluster. Reading ``s3a://`` additionally needs the ``hadoop-aws`` jar matching
Spark's Hadoop (3.5.0 for PySpark 4.3: ``org.apache.hadoop:hadoop-aws:3.5.0`` and
its AWS SDK bundle) on the classpath, and the ``s3a_conf`` settings.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

from yuqing.settings import S3Settings


def _local_cores(master: str) -> int | None:
    """Worker threads of a ``local``, ``local[N]``, ``local[*]`` or ``local[N,F]`` master; None if not local."""
    match = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\d+)?\])?", master)
    if match is None:
        return None
    threads = match.group(1)
    if threads is None:
        return 1
    return (os.cpu_count() or 1) if threads == "*" else int(threads)


def _local_shuffle_partitions(cores: int) -> str:
    # The default 200 shuffle partitions make hundreds of tiny tasks on a laptop.
    return str(max(2, 2 * cores))


# A local run is one short-lived JVM. HotSpot's optimising C2 compiler spent more CPU compiling Spark
# than its faster code saved (bench/bench_cleaning.py, 50,000 documents: 18 of the JVM's 48 CPU-seconds
# went to C2, and the whole job used a quarter less CPU without it); without C2 nothing hoists Arrow's
# bounds checks out of the loops that hand rows to Python, so they go too (Arrow's own switch; Spark's
# writers and pyarrow produce the buffers). Executors of a cluster live long and keep both.
LOCAL_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -Darrow.enable_unsafe_memory_access=true"
# Arrow batches for pandas UDFs are bounded by rows only. Any byte limit below 2**31 - 1 makes Spark
# measure the batch after every row it adds (a quarter of the job's JVM time in the profile); 2,000
# rows keep a batch of ordinary articles (2-20 KB of text) far below Spark's default 64 MiB limit.
ARROW_BATCH_CONF = {
    "spark.sql.execution.arrow.maxBytesPerBatch": str(2**31 - 1),
    "spark.sql.execution.arrow.maxRecordsPerBatch": "2000",
}


def build_spark(
    master: str | None = "local[2]",
    app_name: str = "yuqing-clean",
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """A SparkSession for the clean job (or the existing one, with these settings applied).

    ``master=None`` leaves the master to ``spark-submit`` (or Spark's ``local[*]``).
    Everywhere: UTC session time zone (timestamps are instants; the Shanghai day is
    computed explicitly), zstd Parquet, dynamic partition overwrite, Arrow for pandas
    UDFs in batches bounded by rows (``ARROW_BATCH_CONF``), WARN logs, no UI or
    progress bars. Locally: few shuffle partitions, the driver bound to 127.0.0.1, the
    JVM without its C2 compiler (``LOCAL_JAVA_OPTIONS``; it takes effect only when this
    call starts the JVM), and Python workers run by this interpreter, so they import
    the same packages (PySpark would otherwise run ``python3`` from PATH).
    """
    conf: dict[str, str] = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.parquet.compression.codec": "zstd",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **ARROW_BATCH_CONF,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "WARN",
    }
    cores = _local_cores(master) if master else None
    if cores is not None:
        conf |= {
            "spark.sql.shuffle.partitions": _local_shuffle_partitions(cores),
            "spark.default.parallelism": str(cores),
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.extraJavaOptions": LOCAL_JAVA_OPTIONS,
        }
        # Read by PySpark when the context starts; an explicit PYSPARK_PYTHON still wins.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf |= dict(extra_conf or {})
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    started_cores = _local_cores(spark.sparkContext.master)
    if cores is None and started_cores is not None and "spark.sql.shuffle.partitions" not in conf:
        spark.conf.set("spark.sql.shuffle.partitions", _local_shuffle_partitions(started_cores))
    return spark


def s3a_conf(s3: S3Settings) -> dict[str, str]:
    """Hadoop S3A settings (as ``spark.hadoop.*``) for the object store's endpoint and credentials.

    Pass as ``build_spark(..., extra_conf=s3a_conf(settings.s3))``. Without keys, S3A
    falls back to its default chain (environment, instance or pod role).
    """
    conf = {
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.path.style.access": str(s3.addressing_style == "path").lower(),
        "spark.hadoop.fs.s3a.endpoint.region": s3.region,
    }
    if s3.endpoint_url:
        conf["spark.hadoop.fs.s3a.endpoint"] = s3.endpoint_url
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(s3.endpoint_url.startswith("https")).lower()
    if s3.access_key_id and s3.secret_access_key:
        conf["spark.hadoop.fs.s3a.access.key"] = s3.access_key_id.get_secret_value()
        conf["spark.hadoop.fs.s3a.secret.key"] = s3.secret_access_key.get_secret_value()
    return conf
