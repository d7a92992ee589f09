"""Probes and metrics: /ready checks the database and the broker; /metrics labels routes by template."""

from __future__ import annotations

import re

from tests.api.conftest import LiveServer, make_key
from tests.api.seed import WATCH, seed_small
from yuqing.settings import configure


def test_ready_is_503_when_the_broker_is_down(database_url, tmp_path):
    up = configure(data_dir=tmp_path / "y", database_url=database_url)
    with LiveServer(up) as api:
        assert api.get("/ready").json() == {"status": "ok", "database": "ok", "broker": "ok"}
    down = configure(data_dir=tmp_path / "y", database_url=database_url, broker_url="redis://127.0.0.1:1/0")
    with LiveServer(down) as api:
        response = api.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["database"] == "ok" and body["broker"] != "ok"


def _sample(metrics: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def test_metrics_count_requests_by_route_template(database_url, db_sessions, tmp_path):
    seed_small(db_sessions)
    settings = configure(data_dir=tmp_path / "y", database_url=database_url, watchlist=WATCH)
    with LiveServer(settings, api_key=make_key(db_sessions, "read")) as api:
        for doc_id in ("d1", "d2", "d3", "missing"):
            api.get(f"/documents/{doc_id}")
        api.get("/no/such/path")
        api.get("/entities", headers={"Authorization": "Bearer nope"})
        metrics = api.get("/metrics").text
    assert _sample(metrics, "yuqing_api_requests_total", method="GET", route="/documents/{doc_id}", status="200") == 3
    assert _sample(metrics, "yuqing_api_requests_total", method="GET", route="/documents/{doc_id}", status="404") == 1
    assert _sample(metrics, "yuqing_api_requests_total", method="GET", route="/entities", status="401") == 1
    assert _sample(metrics, "yuqing_api_requests_total", method="GET", route="unmatched", status="404") == 1
    assert _sample(metrics, "yuqing_api_request_duration_seconds_count", method="GET", route="/documents/{doc_id}") == 4
    assert "/documents/d1" not in metrics  # raw paths never become labels
