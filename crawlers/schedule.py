"""Cron schedules of the configured sources, as Celery beat entries.

`yuqing schedule` runs Celery beat with these entries; each fires `crawlers.crawl_source`
on the `crawl` queue, which a worker (`yuqing worker --queues crawl`) runs. The Helm chart
maps the same cron strings onto Kubernetes CronJobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery.schedules import crontab

from crawlers.sources import Source

CRAWL_TASK = "crawlers.crawl_source"
SCHEDULE_TIMEZONE = "Asia/Shanghai"  # schedules are written in newsroom time


def parse_cron(expression: str) -> crontab:
    """A five-field cron string (minute hour day-of-month month day-of-week) as a Celery crontab."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"cron schedule {expression!r} needs 5 fields (minute hour day-of-month month day-of-week)")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        return crontab(
            minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year, day_of_week=day_of_week
        )
    except ValueError as exc:
        raise ValueError(f"cron schedule {expression!r}: {exc}") from exc


def beat_schedule(sources: list[Source]) -> dict[str, dict[str, Any]]:
    """One Celery beat entry per source, named ``crawl:<source>``."""
    return {
        f"crawl:{source.name}": {
            "task": CRAWL_TASK,
            "schedule": parse_cron(source.schedule),
            "args": (source.name,),
            "options": {"queue": "crawl"},
        }
        for source in sources
    }


@dataclass(frozen=True)
class NextRun:
    source: str
    schedule: str
    at: datetime


def next_runs(sources: list[Source], now: datetime) -> list[NextRun]:
    """When each source is crawled next after ``now`` (aware), soonest first."""
    zone = ZoneInfo(SCHEDULE_TIMEZONE)
    local_now = now.astimezone(zone)
    runs = []
    for source in sources:
        cron = parse_cron(source.schedule)
        cron.tz = zone
        runs.append(NextRun(source.name, source.schedule, _next_fire(cron, local_now)))
    return sorted(runs, key=lambda r: r.at)


def _next_fire(cron: crontab, now: datetime) -> datetime:
    # Walk whole minutes: cron's resolution; at most a year of minutes for the rarest schedules.
    candidate = now.replace(second=0, microsecond=0)
    for _ in range(366 * 24 * 60):
        candidate += timedelta(minutes=1)
        if (
            candidate.minute in cron.minute
            and candidate.hour in cron.hour
            and candidate.day in cron.day_of_month
            and candidate.month in cron.month_of_year
            and candidate.isoweekday() % 7 in cron.day_of_week
        ):
            return candidate
    raise ValueError(f"schedule {cron} never fires")

