"""Evaluate alert rules against the database and deliver new alerts to their webhooks.

`run_alerts` is what the Celery task `alerts.evaluate`, `yuqing alerts` and the tests call.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from api.alerts.detection import Spike, negative_share_spike, negative_volume_spike
from api.alerts.records import alert_out
from api.alerts.webhooks import deliver
from yuqing.db.models import AlertRow, AlertRuleRow, Document, EntityDaySentiment, EntityMentionRow
from yuqing.settings import Settings

log = logging.getLogger(__name__)
M = EntityMentionRow
DS = EntityDaySentiment
EVIDENCE_DOCUMENTS = 10


@dataclass
class AlertRunReport:
    day: date
    rules: int = 0
    fired: int = 0
    delivered: int = 0
    failed: int = 0


def _daily_counts(session: Session, entity_id: str, start: date, end: date) -> dict[date, Counter[str]]:
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    rows = session.execute(
        select(DS.day, DS.sentiment, DS.mentions).where(DS.entity_id == entity_id, DS.day >= start, DS.day <= end)
    )
    for day, sentiment, n in rows:
        counts[day][sentiment] += n
    return counts


def _negative_evidence(session: Session, entity_id: str, day: date) -> list[str]:
    """The day's negative documents about the entity, originals before reprints, newest first."""
    rows = session.execute(
        select(Document.id)
        .join(M, M.doc_id == Document.id)
        .where(M.entity_id == entity_id, M.published_date == day, M.sentiment == "negative")
        .order_by(Document.duplicate_of.is_not(None), Document.published_at.desc(), Document.id)
        .limit(EVIDENCE_DOCUMENTS)
    )
    return [r[0] for r in rows]


def _insert_alert(session: Session, values: dict[str, Any]) -> int | None:
    """Insert unless an alert with the same dedup_key exists (re-evaluation is idempotent)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return session.scalar(
        insert(AlertRow).values(**values).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(AlertRow.id)
    )


def _spike_message(rule: AlertRuleRow, spike: Spike, day: date) -> str:
    what = "negative mentions" if rule.kind == "negative_volume" else "negative share"
    observed = f"{spike.observed:.0f}" if rule.kind == "negative_volume" else f"{spike.observed:.0%}"
    baseline = f"{spike.mean:.1f}" if rule.kind == "negative_volume" else f"{spike.mean:.0%}"
    return (
        f"{rule.entity_id}: {what} on {day} = {observed}, vs a {rule.window_days}-day baseline of {baseline} "
        f"(z = {spike.z:.1f} ≥ {rule.z_threshold:g})"
    )


def evaluate_rule(session: Session, rule: AlertRuleRow, day: date) -> list[int]:
    """New alert ids this rule fires for `day` (none when it already fired)."""
    base = {
        "rule_id": rule.id,
        "entity_id": rule.entity_id,
        "kind": rule.kind,
        "day": day,
        "created_at": datetime.now(UTC),
        "webhook_url": rule.webhook_url,
        "delivery_status": "pending" if rule.webhook_url else "not_configured",
        "delivery_attempts": 0,
    }
    if rule.kind == "high_risk":
        documents = session.execute(
            select(Document.id, Document.title)
            .join(M, M.doc_id == Document.id)
            .where(M.entity_id == rule.entity_id, M.published_date == day, Document.risk == "high")
            .order_by(Document.published_at, Document.id)
        ).all()
        fired = []
        for doc_id, title in documents:
            alert_id = _insert_alert(
                session,
                {
                    **base,
                    "dedup_key": f"rule:{rule.id}:doc:{doc_id}",
                    "observed": 1.0,
                    "baseline_mean": None,
                    "baseline_std": None,
                    "z_score": None,
                    "message": f"{rule.entity_id}: high-risk document {doc_id} on {day}: {title[:80]}",
                    "evidence_doc_ids": [doc_id],
                },
            )
            if alert_id is not None:
                fired.append(alert_id)
        return fired

    counts = _daily_counts(session, rule.entity_id, day - timedelta(days=rule.window_days), day)
    baseline_days = [day - timedelta(days=i) for i in range(rule.window_days, 0, -1)]
    negatives = [counts[d]["negative"] for d in baseline_days]
    totals = [sum(counts[d].values()) for d in baseline_days]
    today = counts[day]
    if rule.kind == "negative_volume":
        spike = negative_volume_spike(
            negatives, today["negative"], z_threshold=rule.z_threshold, min_count=rule.min_count
        )
    else:
        spike = negative_share_spike(
            negatives,
            totals,
            today["negative"],
            sum(today.values()),
            z_threshold=rule.z_threshold,
            min_count=rule.min_count,
        )
    if spike is None:
        return []
    alert_id = _insert_alert(
        session,
        {
            **base,
            "dedup_key": f"rule:{rule.id}:{rule.kind}:{day}",
            "observed": spike.observed,
            "baseline_mean": spike.mean,
            "baseline_std": spike.std,
            "z_score": spike.z,
            "message": _spike_message(rule, spike, day),
            "evidence_doc_ids": _negative_evidence(session, rule.entity_id, day),
        },
    )
    return [alert_id] if alert_id is not None else []


def alert_payload(session: Session, alert: AlertRow) -> dict[str, Any]:
    documents = session.execute(
        select(Document.id, Document.title, Document.url, Document.source, Document.published_at).where(
            Document.id.in_(alert.evidence_doc_ids)
        )
    ).all()
    return {
        "alert": alert_out(alert).model_dump(mode="json"),
        "evidence": [
            {
                "id": d.id,
                "title": d.title,
                "url": d.url,
                "source": d.source,
                "published_at": d.published_at.isoformat() if d.published_at else None,
            }
            for d in documents
        ],
    }


def deliver_pending(sessions: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    """Send every pending alert to its webhook; returns (delivered, failed)."""
    secret = settings.api.webhook_secret.get_secret_value() if settings.api.webhook_secret else None
    delivered = failed = 0
    with sessions() as session:
        pending = session.scalars(
            select(AlertRow.id).where(AlertRow.delivery_status == "pending").order_by(AlertRow.id)
        ).all()
    with httpx.Client(timeout=settings.api.webhook_timeout_s, follow_redirects=False) as client:
        for alert_id in pending:
            with sessions.begin() as session:
                alert = session.get(AlertRow, alert_id)
                if alert is None or alert.webhook_url is None:
                    continue
                payload = alert_payload(session, alert)
                url = alert.webhook_url
            # The HTTP calls (and their backoff) happen outside any database transaction.
            result = deliver(
                client,
                url,
                payload,
                delivery_id=str(alert_id),
                secret=secret,
                max_attempts=settings.api.webhook_max_attempts,
                backoff_s=settings.api.webhook_backoff_s,
            )
            with sessions.begin() as session:
                alert = session.get(AlertRow, alert_id)
                if alert is None:
                    continue
                alert.delivery_attempts += result.attempts
                alert.last_error = result.error
                alert.delivery_status = "delivered" if result.delivered else "failed"
                alert.delivered_at = datetime.now(UTC) if result.delivered else None
            if result.delivered:
                delivered += 1
            else:
                failed += 1
                log.warning("alert %s not delivered to %s: %s", alert_id, url, result.error)
    return delivered, failed


def run_alerts(
    sessions: sessionmaker[Session], settings: Settings, day: date | None = None, *, deliver_webhooks: bool = True
) -> AlertRunReport:
    """Evaluate every rule for `day` (default: today, UTC), then deliver what is pending."""
    report = AlertRunReport(day=day or datetime.now(UTC).date())
    with sessions.begin() as session:
        rules = session.scalars(select(AlertRuleRow).order_by(AlertRuleRow.id)).all()
        report.rules = len(rules)
        for rule in rules:
            report.fired += len(evaluate_rule(session, rule, report.day))
    if deliver_webhooks:
        report.delivered, report.failed = deliver_pending(sessions, settings)
    return report
