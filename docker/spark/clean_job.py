"""The cleaning job's driver program in the cluster (the spark image, docker/spark.Dockerfile).

    python /opt/yuqing/clean_job.py --since-days 2 --enqueue-analysis

Runs ``yuqing clean`` in this process: under the chart's CronJob (Spark client mode) its
SparkSession starts the JVM against the Kubernetes master in YQ_CLEAN__SPARK_MASTER; under
spark-operator (cluster mode) it attaches to the JVM spark-submit already started. Either way
the same code as on a laptop cleans the s3a:// store and loads the result into the database.
With --enqueue-analysis, the documents still without an analysis are then queued.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta


def cli_commands(since_days: int, enqueue_analysis: bool, today: date) -> list[list[str]]:
    """The ``yuqing`` commands to run, in order."""
    clean = ["clean"]
    if since_days > 0:
        clean += ["--since", (today - timedelta(days=since_days)).isoformat()]
    return [clean, ["analyze", "--enqueue", "--no-wait"]] if enqueue_analysis else [clean]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clean_job.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--since-days", type=int, default=2,
        help="clean raw documents crawled in the last N days (incremental); 0 = every raw document",
    )  # fmt: skip
    parser.add_argument("--enqueue-analysis", action="store_true", help="then queue pending documents for analysis")
    args = parser.parse_args(argv)
    if args.since_days < 0:
        parser.error("--since-days must be 0 or more")

    from yuqing.cli import app

    for command in cli_commands(args.since_days, args.enqueue_analysis, datetime.now(UTC).date()):
        try:
            # standalone_mode=False: a failing command returns its exit code instead of exiting.
            code = app(command, standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
        if code:
            return int(code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
