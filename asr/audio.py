"""Media → 16 kHz mono float32 samples, streamed in blocks so an hour of audio never sits in memory.

    probe_duration   what the container header declares (no decoding)
    scan_duration    the packets' own durations, for containers without a header value (no decoding)
    decode_blocks    PyAV decoding + resampling, yielded in blocks of ``block_s`` seconds
    decode_all       the whole file at once (short clips, benchmarks)

Samples go through signed 16-bit before float32, exactly as ``faster_whisper.decode_audio``
does, so streamed and whole-file decoding feed Whisper the same numbers.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from yuqing.errors import MediaError

SAMPLING_RATE = 16_000
# Frames are resampled in groups: one resampler call per ~10 s rather than per 1,152-sample
# MP3 frame (the per-call overhead adds up to seconds over an hour).
_RESAMPLE_GROUP_S = 10.0


def probe_duration(path: Path) -> float | None:
    """Seconds of audio the container declares, without decoding it (None when it does not say).

    Raises ``MediaError`` when the file cannot be opened as media or has no audio stream.
    """
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise MediaError(f"{path.name} has no audio stream")
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / av.time_base
            return None
    except av.FFmpegError as exc:
        raise MediaError(f"{path.name} cannot be opened as audio or video: {reason(exc)}") from exc


def scan_duration(path: Path, *, stop_after_s: float) -> float:
    """Seconds of audio counted from packet durations (demuxing only), stopping once past ``stop_after_s``.

    For live recordings (webm, flv, MPEG-TS) whose header gives no duration: reading the
    packets costs a fraction of decoding them, and spares transcribing the first hours of
    a file that will be refused anyway.
    """
    seconds = 0.0
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                if packet.duration is not None and packet.time_base is not None:
                    seconds += float(packet.duration * packet.time_base)
                    if seconds > stop_after_s:
                        break
    except av.FFmpegError:
        pass  # a damaged tail: what was counted stands, decoding reports the damage
    return seconds


def decode_blocks(path: Path, *, block_s: float = 30.0, limit_s: float | None = None) -> Iterator[np.ndarray]:
    """Mono 16 kHz float32 samples in consecutive blocks of ``block_s`` seconds (the last may be shorter).

    Raises ``MediaError`` when the file cannot be decoded, holds no audio, or decodes to more
    than ``limit_s`` seconds (the check stops decoding right there). Undecodable data after
    some good audio ends the stream, as in faster-whisper: a truncated file yields what it has.
    """
    block = max(1, int(block_s * SAMPLING_RATE))
    limit = None if limit_s is None else int(limit_s * SAMPLING_RATE)
    pending: list[np.ndarray] = []
    pending_samples = 0
    total = 0
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise MediaError(f"{path.name} has no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLING_RATE)
            for samples in _resampled(_grouped(_valid_frames(container.decode(stream))), resampler):
                total += samples.size
                if limit is not None and total > limit:
                    raise MediaError(
                        f"{path.name} runs past max_duration_s={limit_s:.0f}s (YQ_ASR__MAX_DURATION_S): "
                        "decoding stopped there"
                    )
                pending.append(samples)
                pending_samples += samples.size
                while pending_samples >= block:
                    joined = np.concatenate(pending)
                    yield joined[:block]
                    rest = joined[block:]
                    pending, pending_samples = ([rest] if rest.size else []), rest.size
            del resampler
    except av.FFmpegError as exc:
        raise MediaError(f"{path.name} could not be decoded: {reason(exc)}") from exc
    finally:
        # PyAV's resampler keeps buffers alive until a collection (faster-whisper issue 390).
        gc.collect()
    if pending_samples:
        yield np.concatenate(pending)
    if total == 0:
        raise MediaError(f"{path.name} contains no decodable audio (corrupt or empty stream)")


def decode_all(path: Path, *, limit_s: float | None = None) -> np.ndarray:
    """The whole file as one array (use ``decode_blocks`` for anything long)."""
    return np.concatenate(list(decode_blocks(path, block_s=3600.0, limit_s=limit_s)))


def _valid_frames(frames: Iterator[av.AudioFrame]) -> Iterator[av.AudioFrame]:
    try:
        yield from frames
    except av.error.InvalidDataError:
        return  # damaged data: keep what decoded before it


def _grouped(frames: Iterator[av.AudioFrame]) -> Iterator[av.AudioFrame]:
    fifo = av.AudioFifo()
    for frame in frames:
        frame.pts = None  # the FIFO checks timestamps for gaps; damaged media has them
        fifo.write(frame)
        if fifo.samples >= _RESAMPLE_GROUP_S * frame.sample_rate:
            yield fifo.read()
    if fifo.samples:
        yield fifo.read()


def _resampled(frames: Iterator[av.AudioFrame], resampler: av.AudioResampler) -> Iterator[np.ndarray]:
    for frame in itertools.chain(frames, [None]):  # None flushes the resampler's delay line
        for out in resampler.resample(frame):
            yield out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0


def too_long(path: Path, seconds: float, limit: float) -> str:
    return f"{path.name} lasts {seconds:.0f}s, more than max_duration_s={limit:.0f}s (YQ_ASR__MAX_DURATION_S)"


def reason(exc: Exception) -> str:
    """FFmpeg's own words without the file path PyAV appends (the caller names the file)."""
    return getattr(exc, "strerror", None) or str(exc)
