"""Windows cut at pauses: real speech (the zh clip) laid out in silence, Silero VAD as the transcriber runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from asr.audio import SAMPLING_RATE, decode_all
from asr.windows import MAX_PIECE_S, SpeechClock, Window, decoder_chunks, speech_pieces, speech_windows

SR = SAMPLING_RATE


@pytest.fixture(scope="module")
def speech(media: Path) -> np.ndarray:
    return decode_all(media / "zh.mp3")  # 12 s of Mandarin with short pauses between sentences


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), dtype=np.float32)


def _blocks(audio: np.ndarray, seconds: float = 30.0) -> Iterator[np.ndarray]:
    step = int(seconds * SR)
    for start in range(0, audio.shape[0], step):
        yield audio[start : start + step]


@pytest.fixture(scope="module")
def recording(speech: np.ndarray) -> np.ndarray:
    """Speech at 2 s, at 52 s (running across the first window's edge at 60 s) and at the very end."""
    return np.concatenate([_silence(2), speech, _silence(38), speech, _silence(70), speech])


def test_windows_hold_the_media_at_their_offsets_and_end_in_pauses(recording: np.ndarray) -> None:
    windows = list(speech_windows(_blocks(recording), window_s=40))
    assert len(windows) >= 3
    for window in windows:
        np.testing.assert_array_equal(window.audio, recording[window.offset : window.offset + window.audio.shape[0]])
        assert window.speech[0]["start"] == 0 and window.speech[-1]["end"] == window.audio.shape[0]
    assert [w.offset for w in windows] == sorted(w.offset for w in windows)
    assert all(a.offset + a.audio.shape[0] <= b.offset for a, b in zip(windows, windows[1:], strict=False))
    # Where one VAD pass over the whole recording hears speech, no window edge falls inside it.
    whole = speech_pieces(recording)
    tolerance = int(0.1 * SR)
    for window in windows[:-1]:
        end = window.offset + window.audio.shape[0]
        inside = [p for p in whole if p["start"] + tolerance < end < p["end"] - tolerance]
        assert not inside, f"window edge {end / SR:.2f}s cuts speech {inside}"
    # All the speech is in some window, once: the same amount as the whole-recording VAD hears.
    assert sum(w.speech_s for w in windows) == pytest.approx(sum(p["end"] - p["start"] for p in whole) / SR, rel=0.05)


def test_speech_running_across_a_window_edge_goes_whole_into_the_next_window(
    recording: np.ndarray, speech: np.ndarray
) -> None:
    windows = list(speech_windows(_blocks(recording), window_s=40))
    clip_start, clip_end = 52.0, 52.0 + speech.shape[0] / SR  # 52-64 s: the first buffer ends at 60 s
    holding = [w for w in windows if w.start_s < clip_end and w.end_s > clip_start]
    assert holding, "the straddling speech was dropped"
    assert holding[-1].end_s >= clip_end - 0.5, "the end of the straddling speech is missing"
    assert all(w.end_s <= 60.0 - 0.5 or w.end_s >= clip_end - 0.5 for w in holding), "a window ends mid-speech at 60 s"


def test_silence_yields_no_windows_and_a_short_clip_one() -> None:
    assert list(speech_windows(_blocks(_silence(95)), window_s=40)) == []


def test_a_clip_shorter_than_a_window_is_one_window(speech: np.ndarray) -> None:
    (window,) = speech_windows(_blocks(np.concatenate([_silence(1), speech])), window_s=240)
    assert window.start_s == pytest.approx(1.0, abs=0.5) and window.end_s == pytest.approx(13.0, abs=0.5)


def test_decoder_chunks_pack_consecutive_pieces_into_inputs_of_at_most_30_seconds() -> None:
    lengths_s = [12, 10, 9, 25, 3, 30, 1]
    pieces, position = [], 0
    for length in lengths_s:
        pieces.append({"start": position, "end": position + length * SR})
        position += (length + 5) * SR  # 5 s of silence between pieces
    chunks = decoder_chunks(pieces)
    assert chunks == [(0.0, 22.0), (22.0, 31.0), (31.0, 59.0), (59.0, 89.0), (89.0, 90.0)]
    assert all(end - start <= MAX_PIECE_S for start, end in chunks)


def test_the_speech_clock_keeps_a_segment_end_in_the_piece_it_ends() -> None:
    # Two 1 s pieces 9 s apart; joined they are 2 s long.
    clock = SpeechClock([{"start": 0, "end": SR}, {"start": 10 * SR, "end": 11 * SR}])
    assert clock.start(0.0) == 0.0 and clock.start(1.2) == pytest.approx(10.2)
    # Whisper's end timestamp lands 20 ms past the first piece: it still ends the first piece,
    # not 9 s later across the silence (faster-whisper's own restore does the latter).
    assert clock.end(1.02, start=0.0) == pytest.approx(1.0)
    assert clock.end(1.4, start=0.5) == pytest.approx(1.0), "an end inside the next piece's padding"
    assert clock.end(1.8, start=1.2) == pytest.approx(10.8)
    assert clock.end(1.8, start=0.5) == pytest.approx(10.8), "a segment that runs on into the next piece's speech"


def test_a_window_joins_its_speech_without_the_silence(speech: np.ndarray) -> None:
    audio = np.concatenate([speech[:SR], _silence(3), speech[:SR]])
    window = Window(offset=5 * SR, audio=audio, speech=[{"start": 0, "end": SR}, {"start": 4 * SR, "end": 5 * SR}])
    assert window.start_s == 5.0 and window.end_s == 10.0 and window.speech_s == 2.0
    np.testing.assert_array_equal(window.joined_speech(), np.concatenate([speech[:SR], speech[:SR]]))
