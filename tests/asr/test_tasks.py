"""The asr.transcribe_media task: a real Celery worker on a real Redis, fed by `yuqing transcribe --enqueue`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

import asr.tasks
from asr.stage import failure_key, transcript_key
from asr.tasks import transcribe_media
from asr.transcriber import Transcriber
from yuqing.errors import InvalidInput
from yuqing.settings import Settings
from yuqing.storage import LocalStore, get_json, put_json

REDIS_URL = os.environ.get("YQ_TEST_REDIS_URL_ASR", "redis://127.0.0.1:6379/9")


def _put_media(store: LocalStore, file: Path) -> tuple[str, str]:
    data = file.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    key = f"raw/media/{sha256}{file.suffix}"
    store.put_bytes(key, data)
    return sha256, key


@pytest.fixture
def fresh_worker_state() -> Iterator[None]:
    """The task's per-process caches, emptied so this test's settings (its data folder) apply."""
    asr.tasks._store.cache_clear()
    asr.tasks._transcriber.cache_clear()
    yield
    asr.tasks._store.cache_clear()
    asr.tasks._transcriber.cache_clear()


def test_the_task_skips_media_with_an_outcome_without_loading_a_model(
    settings: Settings, media: Path, monkeypatch: pytest.MonkeyPatch, fresh_worker_state: None
) -> None:
    def refuse(_: Settings) -> Transcriber:
        raise AssertionError("a model was loaded for media that needs no work")

    monkeypatch.setattr(asr.tasks, "load_transcriber", refuse)
    store = LocalStore(settings.data_dir / "store")
    done, done_key = _put_media(store, media / "zh.mp3")
    failed, failed_key = _put_media(store, media / "corrupt.mp3")
    put_json(store, transcript_key(done), {"already": "there"})
    put_json(store, failure_key(failed), {"sha256": failed, "reason": "earlier"})

    # Called in-process as the worker calls it; pydantic=True hands back the outcome as JSON data.
    assert transcribe_media(done_key) == {
        "sha256": done, "key": done_key, "status": "skipped", "reason": None, "audio_seconds": 0.0,
    }
    assert transcribe_media(failed_key)["status"] == "previously_failed"
    assert get_json(store, transcript_key(done)) == {"already": "there"}
    with pytest.raises(InvalidInput, match="not a media key"):
        transcribe_media("raw/media/../../etc/passwd")


@pytest.mark.slow
@pytest.mark.integration
def test_a_worker_on_the_asr_queue_transcribes_enqueued_media_into_the_store(
    tmp_path: Path, media: Path, model_dir: Path
) -> None:
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is needed at {REDIS_URL}: {exc}")
    data_dir = tmp_path / "data"
    store = LocalStore(data_dir / "store")
    speech, speech_key = _put_media(store, media / "zh.mp3")
    silence, _ = _put_media(store, media / "silence.wav")
    corrupt, corrupt_key = _put_media(store, media / "corrupt.mp3")
    env = {**os.environ, "YQ_DATA_DIR": str(data_dir), "YQ_BROKER_URL": REDIS_URL,
           "YQ_CACHE_DIR": str(model_dir.parent)}

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "yuqing.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    # Queued twice before the worker starts (as a re-run before the workers caught up would):
    # the messages wait in Redis, and the second copy of each finds the work done.
    for _ in range(2):
        assert "queued 3 media on redis://" in cli("transcribe", "--enqueue")
    worker = subprocess.Popen(
        [sys.executable, "-m", "yuqing.cli", "worker", "--queues", "asr", "--concurrency", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        expected = [transcript_key(speech), transcript_key(silence), failure_key(corrupt)]
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not all(store.exists(k) for k in expected):
            assert worker.poll() is None, "the worker exited"
            time.sleep(0.5)
        assert all(store.exists(k) for k in expected), [k for k in expected if not store.exists(k)]

        heard = get_json(store, transcript_key(speech))
        assert heard["media_key"] == speech_key and heard["language"] == "zh" and "新华" in heard["text"]
        assert heard["backend"] == "faster-whisper" and heard["segments"]
        assert get_json(store, transcript_key(silence))["segments"] == []
        failure = get_json(store, failure_key(corrupt))
        assert failure["key"] == corrupt_key and "cannot be opened" in failure["reason"]
        # Nothing is pending any more; a retry sends only the failure, and the worker runs it again.
        assert "queued 0 media" in cli("transcribe", "--enqueue")
        assert "queued 1 media" in cli("transcribe", "--enqueue", "--retry-failed")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and get_json(store, failure_key(corrupt))["failed_at"] == failure["failed_at"]:
            time.sleep(0.3)
        assert get_json(store, failure_key(corrupt))["failed_at"] != failure["failed_at"], "the retry never ran"
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    messages = []
    for line in output.splitlines():
        try:
            messages.append(json.loads(line)["message"])
        except (ValueError, KeyError, TypeError):
            continue  # Celery's start-up banner
    assert sum(m.startswith("loaded Whisper") for m in messages) == 1, "one model load per worker process"
    assert sum(m.startswith("transcribed ") for m in messages) == 1, "the speech was decoded once"
    assert sum("already has a transcript: skipped" in m for m in messages) == 2
    assert sum("failed in an earlier run: skipped" in m for m in messages) == 1


@pytest.mark.slow
@pytest.mark.integration
def test_the_worker_processes_share_the_cores_between_their_models(
    tmp_path: Path, media: Path, model_dir: Path
) -> None:
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is needed at {REDIS_URL}: {exc}")
    data_dir = tmp_path / "data"
    store = LocalStore(data_dir / "store")
    silence, _ = _put_media(store, media / "silence.wav")
    env = {**os.environ, "YQ_DATA_DIR": str(data_dir), "YQ_BROKER_URL": REDIS_URL, "YQ_CACHE_DIR": str(model_dir.parent)}
    subprocess.run([sys.executable, "-m", "yuqing.cli", "transcribe", "--enqueue"], env=env, check=True,
                   capture_output=True, timeout=120)
    worker = subprocess.Popen(
        [sys.executable, "-m", "yuqing.cli", "worker", "--queues", "asr", "--concurrency", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not store.exists(transcript_key(silence)):
            assert worker.poll() is None, "the worker exited"
            time.sleep(0.3)
        assert store.exists(transcript_key(silence))
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    loads = [line for line in output.splitlines() if "loaded Whisper" in line]
    # Two processes on this machine's cores: each model takes its share, not CTranslate2's 4 threads.
    threads = max(1, len(os.sched_getaffinity(0)) // 2)
    assert len(loads) == 1 and f"({threads} CPU threads)" in loads[0], loads
