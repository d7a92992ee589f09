"""Alert rules over the API, evaluation on a synthetic 15-day history, webhook delivery with retries,
the CLI and the Celery task."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest
import redis
from sqlalchemy import select
from typer.testing import CliRunner

from api.alerts.evaluation import run_alerts
from tests.api.alerts.receiver import WebhookReceiver
from tests.api.conftest import LiveServer, make_key
from tests.api.seed import WATCH, analysis, clean_doc
from yuqing.cli import app as cli
from yuqing.db.models import AlertRow
from yuqing.db.repository import upsert_analysis, upsert_documents
from yuqing.settings import configure

SPIKE_DAY = date(2026, 11, 15)
REDIS_URL = os.environ.get("YQ_TEST_ALERTS_REDIS_URL", "redis://127.0.0.1:6379/11")


def seed_history(sessions) -> None:  # type: ignore[no-untyped-def]
    """1-15 Nov: xingchen gets 4 mentions a day, 1 negative; on the 15th 9 of 12 are negative, one of them high-risk."""
    documents, analyses = [], []
    for day in range(1, 16):
        negatives = 9 if day == SPIKE_DAY.day else 1
        total = 12 if day == SPIKE_DAY.day else 4
        for n in range(total):
            doc_id = f"n{day:02d}{n:02d}"
            sentiment = "negative" if n < negatives else "neutral"
            text = "星辰科技音箱起火，消费者维权。" if sentiment == "negative" else "星辰科技发布新品。"
            documents.append(clean_doc(doc_id, f"星辰科技 {day} 日 {n}", text, day, hour=8 + n % 10))
            risk = "high" if (day == SPIKE_DAY.day and n == 0) else "low"
            analyses.append(
                analysis(
                    doc_id,
                    sentiment,
                    [("xingchen", "星辰科技", sentiment)],
                    text=text,
                    quote="消费者维权" if sentiment == "negative" else None,
                    risk=risk,
                )
            )
    with sessions.begin() as s:
        upsert_documents(s, documents)
        for item in analyses:
            upsert_analysis(s, item)


@pytest.fixture
def setup(database_url, db_sessions, tmp_path):
    seed_history(db_sessions)
    settings = configure(
        data_dir=tmp_path / "y",
        database_url=database_url,
        watchlist=WATCH,
        api={"webhook_secret": "hook-secret", "webhook_backoff_s": 0.01, "webhook_max_attempts": 4},
    )
    return settings, db_sessions


def test_rules_fire_with_evidence_and_webhooks_are_retried_until_delivered(setup):
    settings, sessions = setup
    with (
        WebhookReceiver(fail_first=2) as receiver,
        LiveServer(settings, api_key=make_key(sessions, "write", "值班")) as api,
    ):
        volume = api.post(
            "/alert-rules", json={"entity": "星辰科技", "kind": "negative_volume", "webhook_url": receiver.url}
        ).json()
        share = api.post(
            "/alert-rules", json={"entity": "xingchen", "kind": "negative_share", "z_threshold": 2.5}
        ).json()
        risky = api.post("/alert-rules", json={"entity": "xingchen", "kind": "high_risk"}).json()
        quiet = api.post("/alert-rules", json={"entity": "yuanhang", "kind": "negative_volume"}).json()
        assert volume["created_by"] == "值班" and volume["window_days"] == 14 and volume["min_count"] == 5
        assert [r["id"] for r in api.get("/alert-rules").json()] == [
            volume["id"],
            share["id"],
            risky["id"],
            quiet["id"],
        ]

        ordinary = run_alerts(sessions, settings, date(2026, 11, 14))
        assert ordinary.fired == 0
        report = run_alerts(sessions, settings, SPIKE_DAY)
        assert (report.rules, report.fired, report.delivered, report.failed) == (4, 3, 1, 0)
        again = run_alerts(sessions, settings, SPIKE_DAY)
        assert again.fired == 0 and again.delivered == 0  # idempotent: one alert per rule and day (or document)

        alerts = {a["kind"]: a for a in api.get("/alerts").json()["items"]}
        assert set(alerts) == {"negative_volume", "negative_share", "high_risk"}
        spike = alerts["negative_volume"]
        assert spike["observed"] == 9 and spike["baseline_mean"] == 1.0 and spike["z_score"] == pytest.approx(8.0)
        assert len(spike["evidence_doc_ids"]) == 9 and all(d.startswith("n15") for d in spike["evidence_doc_ids"])
        assert spike["delivery_status"] == "delivered" and spike["delivery_attempts"] == 3
        assert "negative mentions on 2026-11-15 = 9" in spike["message"]
        assert (
            alerts["negative_share"]["observed"] == 0.75
            and alerts["negative_share"]["delivery_status"] == "not_configured"
        )
        assert alerts["high_risk"]["evidence_doc_ids"] == ["n1500"]
        assert api.get("/alerts", params={"kind": "high_risk"}).json()["total"] == 1

        (delivered,) = [r for r in receiver.received if r.status == 204]
        payload = json.loads(delivered.body)
        assert payload["alert"]["id"] == spike["id"] and len(payload["evidence"]) == 9
        assert payload["evidence"][0]["url"].startswith("http://x.cn/n15")

        assert api.delete(f"/alert-rules/{volume['id']}").status_code == 204
        assert api.get(f"/alert-rules/{volume['id']}").status_code == 404
        kept = api.get("/alerts", params={"kind": "negative_volume"}).json()["items"]
        assert kept[0]["rule_id"] is None  # fired alerts outlive their rule


def test_an_unreachable_webhook_is_recorded_as_failed(setup):
    settings, sessions = setup
    with WebhookReceiver() as receiver:
        dead_url = receiver.url
    with LiveServer(settings, api_key=make_key(sessions, "write")) as api:
        api.post("/alert-rules", json={"entity": "xingchen", "kind": "high_risk", "webhook_url": dead_url})
    report = run_alerts(sessions, settings, SPIKE_DAY)
    assert report.failed == 1
    with sessions() as session:
        alert = session.scalar(select(AlertRow))
        assert alert.delivery_status == "failed" and alert.delivery_attempts == 4 and "ConnectError" in alert.last_error


def test_bad_rules_are_refused(setup):
    settings, sessions = setup
    with LiveServer(settings, api_key=make_key(sessions, "write")) as api:
        assert api.post("/alert-rules", json={"entity": "nobody"}).status_code == 404
        assert api.post("/alert-rules", json={"entity": "xingchen", "kind": "moon_phase"}).status_code == 422
        assert api.post("/alert-rules", json={"entity": "xingchen", "webhook_url": "not a url"}).status_code == 422
        assert api.post("/alert-rules", json={"entity": "xingchen", "window_days": 1}).status_code == 422
        assert api.delete("/alert-rules/999").status_code == 404
        assert api.get("/alert-rules").json() == []


def test_cli_evaluates_now_and_enqueues_the_celery_task(database_url, db_sessions, tmp_path):
    seed_history(db_sessions)
    key = make_key(db_sessions, "write")
    config = tmp_path / "yuqing.yaml"
    config.write_text(
        f"database_url: {database_url}\nbroker_url: {REDIS_URL}\nwatchlist: [{{id: xingchen, name: 星辰科技}}]\n",
        encoding="utf-8",
    )
    settings = configure(config)
    with LiveServer(settings, api_key=key) as api:
        api.post("/alert-rules", json={"entity": "xingchen", "kind": "negative_volume"})
    runner = CliRunner()
    result = runner.invoke(cli, ["alerts", "--config", str(config), "--date", "2026-11-15"])
    assert result.exit_code == 0, result.output
    assert "1 rules, 1 new alerts" in result.output
    assert runner.invoke(cli, ["alerts", "--config", str(config), "--date", "15/11"]).exit_code == 2

    broker = redis.Redis.from_url(REDIS_URL)
    broker.delete("alerts")
    queued = runner.invoke(cli, ["alerts", "--config", str(config), "--date", "2026-11-15", "--enqueue"])
    assert queued.exit_code == 0, queued.output
    (message,) = [json.loads(m) for m in broker.lrange("alerts", 0, -1)]
    assert message["headers"]["task"] == "alerts.evaluate" and "2026-11-15" in message["headers"]["argsrepr"]
    broker.delete("alerts")
