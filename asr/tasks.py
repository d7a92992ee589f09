"""Celery task of the ASR stage: one stored media asset → its transcript in the object store.

``yuqing transcribe --enqueue`` sends one ``asr.transcribe_media`` per pending asset to the
``asr`` queue; ``yuqing worker --queues asr`` (CPU or GPU nodes) consumes them. Only the
object-store key travels through the broker, never the media.

Each worker process loads the model once, on its first asset that needs it, and keeps it.
The task is idempotent (an asset with a transcript or a recorded failure is skipped; the
transcript is written atomically under a key derived from the media's sha256), so it is
acknowledged late: a worker that dies mid-file leaves the asset to be transcribed again.
"""

from __future__ import annotations

import functools

from asr.stage import AssetOutcome, transcribe_asset
from asr.transcriber import BaseTranscriber, load_transcriber
from yuqing.celery_app import app
from yuqing.errors import RetryableError
from yuqing.settings import get_settings
from yuqing.storage import ObjectStore, open_store


@functools.cache
def _store() -> ObjectStore:
    """The object store, opened once per worker process."""
    return open_store(get_settings())


@functools.cache
def _transcriber() -> BaseTranscriber:
    """The model, loaded once per worker process (seconds on CPU) and only when first needed."""
    return load_transcriber(get_settings())


@app.task(
    name="asr.transcribe_media",
    autoretry_for=(RetryableError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,  # idempotent: keyed by the media's sha256, outcomes are checked first
    queue="asr",
    pydantic=True,
)
def transcribe_media(asset_key: str, retry_failed: bool = False) -> AssetOutcome:
    """Transcribe ``raw/media/<sha256>.<ext>`` unless it already has a transcript (or failed before)."""
    return transcribe_asset(_store(), asset_key, _transcriber, retry_failed=retry_failed)
