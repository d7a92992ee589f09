"""transcribe_pending over a real local object store: idempotent, failures recorded, model loaded only when needed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import asr.stage
from asr.stage import TranscribeReport, failure_key, transcribe_pending, transcript_key
from asr.transcriber import Transcriber
from yuqing.settings import Settings
from yuqing.storage import LocalStore, get_json, put_json

pytestmark = pytest.mark.slow


def _put_media(store: LocalStore, file: Path) -> str:
    data = file.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    store.put_bytes(f"raw/media/{sha256}{file.suffix}", data)
    return sha256


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture
def no_model_load(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Records (and refuses) any attempt by the stage to load a model itself."""
    calls: list[Settings] = []

    def refuse(settings: Settings) -> Transcriber:
        calls.append(settings)
        raise AssertionError("the stage loaded a model although nothing was pending")

    monkeypatch.setattr(asr.stage, "load_transcriber", refuse)
    return calls


def test_a_batch_transcribes_good_media_records_the_corrupt_one_and_a_rerun_skips_everything(
    store: LocalStore, settings: Settings, media: Path, transcriber: Transcriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    speech = _put_media(store, media / "zh.mp3")
    silence = _put_media(store, media / "silence.wav")
    corrupt = _put_media(store, media / "corrupt.mp3")
    store.put_bytes("raw/media/not-a-hash.mp3", b"ignored: media keys are named by sha256")
    progress: list[tuple[int, int]] = []
    loads: list[Settings] = []

    def load(given: Settings) -> Transcriber:  # stands in for loading: hands over the session's model
        loads.append(given)
        return transcriber

    monkeypatch.setattr(asr.stage, "load_transcriber", load)

    report = transcribe_pending(store, settings, on_progress=lambda done, total: progress.append((done, total)))

    assert loads == [settings]
    assert report.transcribed == 2 and report.skipped == 0
    assert [(f.sha256, "cannot be opened" in f.reason) for f in report.failed] == [(corrupt, True)]
    assert report.audio_seconds == pytest.approx(15.0, abs=0.3)
    assert progress == [(0, 3), (1, 3), (2, 3), (3, 3)]

    heard = get_json(store, transcript_key(speech))
    assert heard["media_sha256"] == speech and heard["media_key"] == f"raw/media/{speech}.mp3"
    assert heard["language"] == "zh" and "新华" in heard["text"]
    assert get_json(store, transcript_key(silence))["segments"] == []
    failure = get_json(store, failure_key(corrupt))
    assert failure["sha256"] == corrupt and failure["key"] == f"raw/media/{corrupt}.mp3" and failure["reason"]
    assert not store.exists(transcript_key(corrupt))

    rerun = transcribe_pending(store, settings)
    assert (rerun.transcribed, rerun.skipped, rerun.previously_failed, rerun.failed) == (0, 2, 1, [])
    assert loads == [settings], "nothing pending: no model loaded"


def test_retry_failed_tries_failures_again_and_clears_them_on_success(
    store: LocalStore, settings: Settings, media: Path, transcriber: Transcriber
) -> None:
    silence = _put_media(store, media / "silence.wav")
    corrupt = _put_media(store, media / "corrupt.mp3")
    for sha256 in (silence, corrupt):
        put_json(store, failure_key(sha256), {"sha256": sha256, "reason": "failed in an earlier run"})

    skipped = transcribe_pending(store, settings, transcriber=transcriber)
    assert (skipped.transcribed, skipped.previously_failed) == (0, 2)

    retried = transcribe_pending(store, settings, transcriber=transcriber, retry_failed=True)
    assert retried.transcribed == 1 and [f.sha256 for f in retried.failed] == [corrupt]
    assert store.exists(transcript_key(silence)) and not store.exists(failure_key(silence))
    assert "cannot be opened" in get_json(store, failure_key(corrupt))["reason"]


def test_an_empty_store_reports_nothing_and_loads_no_model(
    store: LocalStore, settings: Settings, no_model_load: list[Settings]
) -> None:
    progress: list[tuple[int, int]] = []
    report = transcribe_pending(store, settings, on_progress=lambda done, total: progress.append((done, total)))
    assert report == TranscribeReport(wall_seconds=report.wall_seconds)
    assert progress == [(0, 0)] and no_model_load == []


@pytest.mark.integration
def test_the_stage_reads_media_from_s3_through_local_files(
    s3_settings: Settings, media: Path, transcriber: Transcriber
) -> None:
    from yuqing.storage import open_store

    store = open_store(s3_settings)
    silence_bytes = (media / "silence.wav").read_bytes()
    silence = hashlib.sha256(silence_bytes).hexdigest()
    store.put_bytes(f"raw/media/{silence}.wav", silence_bytes)
    store.put_bytes(f"raw/media/{'f' * 64}.mp3", (media / "corrupt.mp3").read_bytes())

    report = transcribe_pending(store, s3_settings, transcriber=transcriber)

    assert report.transcribed == 1 and [f.sha256 for f in report.failed] == ["f" * 64]
    assert get_json(store, transcript_key(silence))["duration_s"] == pytest.approx(3.0)
    assert store.exists(failure_key("f" * 64))
