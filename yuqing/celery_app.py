"""The one Celery app. Each stage registers its tasks on it (listed in ``include``).

Configuration is read lazily from settings the first time Celery needs it, never at import.
Only ids travel through the broker, never documents or media.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

QUEUES = ("crawl", "asr", "analysis", "alerts")

app = Celery("yuqing", include=["analysis.tasks", "asr.tasks", "crawlers.tasks", "api.alerts.tasks"])


def _config() -> dict[str, Any]:
    from yuqing.settings import get_settings

    settings = get_settings()
    return {
        "broker_url": settings.broker_url,
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": "analysis",
        "task_acks_late": False,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        # Redis re-delivers an unacknowledged task after this long; acks_late tasks (an hour-long
        # transcription) must finish within it or run twice.
        "broker_transport_options": {"visibility_timeout": settings.broker_visibility_timeout_s},
        "timezone": "Asia/Shanghai",  # cron schedules of sources are written in newsroom time
        # Protects a shared LLM server from a large worker fleet; per worker, as Celery defines it.
        "task_annotations": {"analysis.analyze_documents": {"rate_limit": settings.llm.rate_limit}} if settings.llm.rate_limit else {},
    }


app.add_defaults(_config)
