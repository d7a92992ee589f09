"""The ASR stage run once over what is pending: ``raw/media/<sha256>.<ext>`` → ``transcripts/<sha256>.json``.

Idempotent and restartable: an asset with a transcript is skipped, each transcript is
written atomically as soon as it is done, so a killed run loses at most the file in hand.
Media that cannot be transcribed (``MediaError``) is recorded under
``transcripts/_failed/<sha256>.json`` with the reason and not tried again unless
``retry_failed=True``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePosixPath

from pydantic import BaseModel, Field

from asr.transcriber import Transcriber, load_transcriber
from yuqing.errors import MediaError
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


def media_keys(store: ObjectStore) -> dict[str, str]:
    """sha256 → key for every media object named ``raw/media/<sha256>.<ext>``."""
    keys: dict[str, str] = {}
    for key in store.list_keys(MEDIA_PREFIX):
        sha256 = PurePosixPath(key).name.split(".", 1)[0]
        if not _SHA256.match(sha256) or PurePosixPath(key).parent.as_posix() != MEDIA_PREFIX.rstrip("/"):
            logger.warning("ignoring %s: media keys are %s<sha256>.<ext>", key, MEDIA_PREFIX)
            continue
        keys.setdefault(sha256, key)
    return keys


def transcribe_pending(
    store: ObjectStore,
    settings: Settings,
    *,
    on_progress: ProgressCallback | None = None,
    retry_failed: bool = False,
    transcriber: Transcriber | None = None,
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
            _transcribe_one(store, active, sha256, key, report, failed_before=failure_key(sha256) in outcomes)
            if on_progress:
                on_progress(done, len(pending))

    report.audio_seconds = round(report.audio_seconds, 3)
    report.wall_seconds = round(time.perf_counter() - started, 3)
    logger.info(
        "transcribed %d (%.0fs of audio) in %.1fs; %d failed",
        report.transcribed, report.audio_seconds, report.wall_seconds, len(report.failed),
    )
    return report


def _transcribe_one(
    store: ObjectStore,
    transcriber: Transcriber,
    sha256: str,
    key: str,
    report: TranscribeReport,
    *,
    failed_before: bool,
) -> None:
    """Transcribe one asset and store the transcript, or record why it cannot be."""
    try:
        with store.local_file(key) as path:
            transcript = transcriber.transcribe(path, media_sha256=sha256, media_key=key)
    except MediaError as exc:
        logger.warning("cannot transcribe %s: %s", key, exc)
        report.failed.append(TranscribeFailure(sha256=sha256, reason=str(exc)))
        put_json(store, failure_key(sha256), {
            "sha256": sha256,
            "key": key,
            "reason": str(exc),
            "failed_at": datetime.now(UTC).isoformat(),
        })
        return
    put_json(store, transcript_key(sha256), transcript.model_dump(mode="json"))
    if failed_before:
        store.delete(failure_key(sha256))  # a retry succeeded: the old failure no longer holds
    report.transcribed += 1
    report.audio_seconds += transcript.duration_s or 0.0
