"""Streaming decode of media into 16 kHz blocks, and what a container says about its length."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio

from asr.audio import SAMPLING_RATE, decode_all, decode_blocks, probe_duration, scan_duration
from yuqing.errors import MediaError


@pytest.fixture(scope="module")
def live_webm(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """zh.mp3 as Opus in WebM written to a pipe, as a live recorder does: no duration in the header."""
    path = tmp_path_factory.mktemp("live") / "live.webm"
    with path.open("wb") as out:
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(media / "zh.mp3"), "-c:a", "libopus", "-f", "webm",
             "pipe:1"],
            stdout=out, check=True,
        )
    return path


@pytest.mark.parametrize("clip", ["zh.mp3", "zh.mp4", "en.mp3"])
def test_blocks_join_into_exactly_what_faster_whisper_decodes(media: Path, clip: str) -> None:
    blocks = list(decode_blocks(media / clip, block_s=2.0))
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    assert [b.size for b in blocks[:-1]] == [2 * SAMPLING_RATE] * (len(blocks) - 1)
    assert 0 < blocks[-1].size <= 2 * SAMPLING_RATE
    assert np.array_equal(np.concatenate(blocks), decode_audio(str(media / clip), sampling_rate=SAMPLING_RATE))


def test_decoding_stops_with_a_media_error_once_past_the_limit(media: Path) -> None:
    blocks = decode_blocks(media / "zh.mp3", block_s=1.0, limit_s=5.0)
    received = []
    with pytest.raises(MediaError, match=r"zh.mp3 runs past max_duration_s=5s .*decoding stopped there"):
        for block in blocks:
            received.append(block)
    assert sum(b.size for b in received) <= 5 * SAMPLING_RATE


def test_a_header_without_duration_is_counted_from_its_packets(live_webm: Path) -> None:
    assert probe_duration(live_webm) is None
    assert scan_duration(live_webm, stop_after_s=3600) == pytest.approx(12.0, abs=0.1)
    assert 5.0 < scan_duration(live_webm, stop_after_s=5.0) < 5.5, "the scan stops once past the limit"
    assert decode_all(live_webm).size / SAMPLING_RATE == pytest.approx(12.0, abs=0.1)


def test_bad_media_is_a_media_error_with_the_reason(media: Path) -> None:
    with pytest.raises(MediaError, match="corrupt.mp3 could not be decoded: Invalid data"):
        list(decode_blocks(media / "corrupt.mp3"))
    with pytest.raises(MediaError, match="video_only.mp4 has no audio stream"):
        list(decode_blocks(media / "video_only.mp4"))


def test_a_truncated_file_yields_the_audio_before_the_damage(media: Path, tmp_path: Path) -> None:
    data = (media / "zh.mp3").read_bytes()
    truncated = tmp_path / "truncated.mp3"
    truncated.write_bytes(data[: len(data) // 2])
    seconds = decode_all(truncated).size / SAMPLING_RATE
    assert 5.0 < seconds < 7.0
