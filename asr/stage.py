"""The ASR stage run once over what is pending: ``raw/media/<sha256>.<ext>`` → ``transcripts/<sha256>.json``.

Idempotent and restartable: an asset with a transcript is skipped, each transcript is
written atomically as soon as it is done, so a killed run loses at most the file in hand.
Media that cannot be transcribed (``MediaError``) is recorded under
``transcripts/_failed/<sha256>.json`` with the reason and not tried again unless
``retry_failed=True``.

Two ways in, with the same outcome records:
    transcribe_pending   one process walks everything pending (``yuqing transcribe``)
    transcribe_asset     one asset, as the Celery task ``asr.transcribe_media`` runs it
                         (``yuqing transcribe --enqueue`` sends one per ``pending_media`` key)
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, Field

from asr.transcriber import BaseTranscriber, load_transcriber
from yuqing.errors import InvalidInput, MediaError
from yuqing.settings import Settings
from yuqing.storage import ObjectStore, put_json

logger = logging.getLogger(__name__)

MEDIA_PREFIX = "raw/media/"
TRANSCRIPTS_PREFIX = "transcripts/"
FAILED_PREFIX = "transcripts/_failed/"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

ProgressCallback = Callable[[int, int], None]


class TranscribeFailure(BaseModel):
    sha256: str
    reason: str


class AssetOutcome(BaseModel):
    """What happened to one media asset (the return value of the ``asr.transcribe_media`` task)."""

    sha256: str
    key: str
    status: Literal["transcribed", "skipped", "previously_failed", "failed"]
    reason: str | None = Field(default=None, description="why it failed (status failed)")
    audio_seconds: float = Field(default=0.0, description="audio transcribed (status transcribed)")


class TranscribeReport(BaseModel):
    """What one ``transcribe_pending`` run did."""

    transcribed: int = 0
    skipped: int = Field(default=0, description="already transcribed")
    previously_failed: int = Field(default=0, description="failed in an earlier run and not retried")
    failed: list[TranscribeFailure] = Field(default_factory=list)
    audio_seconds: float = Field(default=0.0, description="audio transcribed in this run")
    wall_seconds: float = 0.0


def transcript_key(sha256: str) -> str:
    return f"{TRANSCRIPTS_PREFIX}{sha256}.json"


def failure_key(sha256: str) -> str:
    return f"{FAILED_PREFIX}{sha256}.json"


def media_sha256(key: str) -> str:
    """The sha256 in a media key ``raw/media/<sha256>.<ext>``; ``InvalidInput`` for anything else."""
    path = PurePosixPath(key)
    sha256 = path.name.split(".", 1)[0]
    if path.parent.as_posix() != MEDIA_PREFIX.rstrip("/") or not _SHA256.match(sha256):
        raise InvalidInput(f"{key!r} is not a media key: media keys are {MEDIA_PREFIX}<sha256>.<ext>")
    return sha256


def media_keys(store: ObjectStore) -> dict[str, str]:
    """sha256 → key for every media object named ``raw/media/<sha256>.<ext>``."""
    keys: dict[str, str] = {}
    for key in store.list_keys(MEDIA_PREFIX):
        try:
            sha256 = media_sha256(key)
        except InvalidInput:
            logger.warning("ignoring %s: media keys are %s<sha256>.<ext>", key, MEDIA_PREFIX)
            continue
        keys.setdefault(sha256, key)
    return keys


def pending_media(store: ObjectStore, *, retry_failed: bool = False) -> list[str]:
    """Keys of the stored media with no transcript (and no recorded failure, unless ``retry_failed``)."""
    outcomes = set(store.list_keys(TRANSCRIPTS_PREFIX))
    return [
        key
        for sha256, key in sorted(media_keys(store).items())
        if transcript_key(sha256) not in outcomes and (retry_failed or failure_key(sha256) not in outcomes)
    ]


def transcribe_pending(
    store: ObjectStore,
    settings: Settings,
    *,
    on_progress: ProgressCallback | None = None,
    retry_failed: bool = False,
    transcriber: BaseTranscriber | None = None,
) -> TranscribeReport:
    """Transcribe every stored media asset that has no transcript yet.

    ``on_progress(done, total)`` is called before the first and after each pending asset.
    ``transcriber`` lets a long-lived worker reuse its loaded model; otherwise the model is
    loaded here, and only when something is pending.
    """
    started = time.perf_counter()
    report = TranscribeReport()
    # One listing rather than an existence check per asset: on S3 that is a request each.
    outcomes = set(store.list_keys(TRANSCRIPTS_PREFIX))
    pending: list[tuple[str, str]] = []
    for sha256, key in sorted(media_keys(store).items()):
        if transcript_key(sha256) in outcomes:
            report.skipped += 1
        elif failure_key(sha256) in outcomes and not retry_failed:
            report.previously_failed += 1
        else:
            pending.append((sha256, key))
    logger.info(
        "%d media pending, %d already transcribed, %d failed before%s",
        len(pending), report.skipped, report.previously_failed, " (retrying)" if retry_failed else "",
    )
    if on_progress:
        on_progress(0, len(pending))
    if pending:
        active = transcriber if transcriber is not None else load_transcriber(settings)
        for done, (sha256, key) in enumerate(pending, start=1):
            outcome = _transcribe_one(store, active, sha256, key, failed_before=failure_key(sha256) in outcomes)
            if outcome.status == "failed":
                report.failed.append(TranscribeFailure(sha256=sha256, reason=outcome.reason or ""))
            else:
                report.transcribed += 1
                report.audio_seconds += outcome.audio_seconds
            if on_progress:
                on_progress(done, len(pending))

    report.audio_seconds = round(report.audio_seconds, 3)
    report.wall_seconds = round(time.perf_counter() - started, 3)
    logger.info(
        "transcribed %d (%.0fs of audio) in %.1fs; %d failed",
        report.transcribed, report.audio_seconds, report.wall_seconds, len(report.failed),
    )
    return report


def transcribe_asset(
    store: ObjectStore,
    key: str,
    get_transcriber: Callable[[], BaseTranscriber],
    *,
    retry_failed: bool = False,
) -> AssetOutcome:
    """Transcribe one stored asset unless it already has an outcome; idempotent.

    ``get_transcriber`` is called only when there is work to do, so a worker that is
    handed media already transcribed never loads a model. ``InvalidInput`` for a key
    that is not ``raw/media/<sha256>.<ext>``; ``ObjectNotFound`` when nothing is stored
    there. Undecodable media is recorded as a failure, as ``transcribe_pending`` does.
    """
    sha256 = media_sha256(key)
    if store.exists(transcript_key(sha256)):
        logger.info("%s already has a transcript: skipped", key)
        return AssetOutcome(sha256=sha256, key=key, status="skipped")
    failed_before = store.exists(failure_key(sha256))
    if failed_before and not retry_failed:
        logger.info("%s failed in an earlier run: skipped (retry_failed to try again)", key)
        return AssetOutcome(sha256=sha256, key=key, status="previously_failed")
    return _transcribe_one(store, get_transcriber(), sha256, key, failed_before=failed_before)


def _transcribe_one(
    store: ObjectStore,
    transcriber: BaseTranscriber,
    sha256: str,
    key: str,
    *,
    failed_before: bool,
) -> AssetOutcome:
    """Transcribe one asset and store the transcript, or record why it cannot be."""
    try:
        with store.local_file(key) as path:
            transcript = transcriber.transcribe(path, media_sha256=sha256, media_key=key)
    except MediaError as exc:
        logger.warning("cannot transcribe %s: %s", key, exc)
        put_json(store, failure_key(sha256), {
            "sha256": sha256,
            "key": key,
            "reason": str(exc),
            "failed_at": datetime.now(UTC).isoformat(),
        })
        return AssetOutcome(sha256=sha256, key=key, status="failed", reason=str(exc))
    put_json(store, transcript_key(sha256), transcript.model_dump(mode="json"))
    if failed_before:
        store.delete(failure_key(sha256))  # a retry succeeded: the old failure no longer holds
    return AssetOutcome(sha256=sha256, key=key, status="transcribed", audio_seconds=transcript.duration_s or 0.0)
