"""Webhook delivery against a real local receiver that fails the first attempts."""

from __future__ import annotations

import json

import httpx

from api.alerts.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, deliver, verify
from tests.api.alerts.receiver import WebhookReceiver

SECRET = "s3cret-webhook-key"


def test_retries_with_backoff_until_the_receiver_accepts_and_signs_each_try():
    waits: list[float] = []
    with WebhookReceiver(fail_first=2) as receiver, httpx.Client(timeout=5) as client:
        result = deliver(
            client,
            receiver.url,
            {"alert": {"id": 7, "message": "星辰科技 负面激增"}},
            delivery_id="7",
            secret=SECRET,
            max_attempts=4,
            backoff_s=0.5,
            sleep=waits.append,
        )
    assert result.delivered and result.attempts == 3 and result.error is None
    assert waits == [0.5, 1.0]
    assert [r.status for r in receiver.received] == [503, 503, 204]
    for request in receiver.received:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert verify(SECRET, headers[TIMESTAMP_HEADER.lower()], request.body, headers[SIGNATURE_HEADER.lower()])
        assert json.loads(request.body)["alert"]["message"] == "星辰科技 负面激增"
        assert not verify(
            "wrong-secret", headers[TIMESTAMP_HEADER.lower()], request.body, headers[SIGNATURE_HEADER.lower()]
        )


def test_gives_up_after_max_attempts_and_says_why():
    with WebhookReceiver(fail_first=10) as receiver, httpx.Client(timeout=5) as client:
        result = deliver(
            client,
            receiver.url,
            {"a": 1},
            delivery_id="1",
            secret=None,
            max_attempts=3,
            backoff_s=0,
            sleep=lambda _: None,
        )
    assert not result.delivered and result.attempts == 3 and "HTTP 503" in (result.error or "")
    assert len(receiver.received) == 3 and SIGNATURE_HEADER.lower() not in {
        k.lower() for k in receiver.received[0].headers
    }


def test_a_refusing_receiver_is_not_retried_and_a_dead_one_is():
    with WebhookReceiver(fail_first=10, fail_status=410) as receiver, httpx.Client(timeout=5) as client:
        gone = deliver(
            client, receiver.url, {}, delivery_id="1", secret=None, max_attempts=5, backoff_s=0, sleep=lambda _: None
        )
        dead_url = receiver.url
    assert not gone.delivered and gone.attempts == 1 and "HTTP 410" in (gone.error or "")
    with httpx.Client(timeout=2) as client:
        dead = deliver(
            client, dead_url, {}, delivery_id="1", secret=None, max_attempts=2, backoff_s=0, sleep=lambda _: None
        )
    assert not dead.delivered and dead.attempts == 2 and "ConnectError" in (dead.error or "")
