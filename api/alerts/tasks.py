"""Celery task of the alerts stage: a thin wrapper over `run_alerts` on the `alerts` queue."""

from __future__ import annotations

import functools
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from api.alerts.evaluation import run_alerts
from yuqing.celery_app import app
from yuqing.db import make_engine, session_factory
from yuqing.errors import RetryableError
from yuqing.settings import get_settings


@functools.cache
def _sessions() -> sessionmaker[Session]:
    return session_factory(make_engine(get_settings().db_url))


@app.task(
    name="alerts.evaluate",
    autoretry_for=(RetryableError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,  # idempotent: an alert is keyed by rule and day (or document)
    queue="alerts",
)
def evaluate_alerts(day: str | None = None) -> dict[str, object]:
    report = run_alerts(_sessions(), get_settings(), date.fromisoformat(day) if day else None)
    return {
        "day": report.day.isoformat(),
        "rules": report.rules,
        "fired": report.fired,
        "delivered": report.delivered,
        "failed": report.failed,
    }
