"""Webhook delivery: a JSON POST signed with HMAC-SHA256, retried with exponential backoff.

The receiver checks ``X-Yuqing-Signature: sha256=<hex>`` = HMAC(secret, "<timestamp>.<body>")
and rejects an ``X-Yuqing-Timestamp`` older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Yuqing-Signature"
TIMESTAMP_HEADER = "X-Yuqing-Timestamp"
DELIVERY_HEADER = "X-Yuqing-Delivery"
_PERMANENT = range(400, 500)
_RETRYABLE_4XX = {408, 425, 429}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    attempts: int
    error: str | None


def deliver(
    client: httpx.Client,
    url: str,
    payload: dict[str, Any],
    *,
    delivery_id: str,
    secret: str | None,
    max_attempts: int,
    backoff_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """POST until a 2xx, a permanent 4xx, or `max_attempts`; waits backoff_s, 2*backoff_s, ... between tries."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    error = None
    for attempt in range(1, max_attempts + 1):
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: timestamp,
            DELIVERY_HEADER: delivery_id,
        }
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            error = f"attempt {attempt}: {type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                return DeliveryResult(True, attempt, None)
            error = f"attempt {attempt}: HTTP {response.status_code} {response.text[:200]}"
            if response.status_code in _PERMANENT and response.status_code not in _RETRYABLE_4XX:
                return DeliveryResult(False, attempt, error)  # the receiver refuses it: retrying will not help
        if attempt < max_attempts:
            sleep(backoff_s * 2 ** (attempt - 1))
    return DeliveryResult(False, max_attempts, error)
