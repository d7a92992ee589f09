"""Cut a stream of audio blocks into windows of speech, each ending in a pause, for bounded-memory ASR.

An hour-long press conference is ~230 MB of float32 samples, and Silero VAD over it takes ~5x
that again in activations. Instead blocks are gathered until ``window_s`` seconds are
buffered, Silero VAD (faster-whisper's, with its batched pipeline's settings: pauses of
160 ms, speech pieces of at most 30 s) marks the speech, and the buffer is cut before the piece
still running at its edge (and the pieces joined to it by short pauses), which are carried
into the next window. So no word or phrase is split at a window edge, every window is
transcribed on its own with its media offset, and memory stays at one window whatever the
length of the media.

A window holds only its speech span (first piece's start to last piece's end): silence
around it, and whole windows of silence, are never handed to Whisper. The VAD runs once:
the transcriber decodes these same pieces.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from asr.audio import SAMPLING_RATE

# Whisper's input window; the VAD never makes a speech piece longer (faster-whisper's
# batched pipeline uses the same bound).
MAX_PIECE_S = 30
PAUSE_MS = 160
# A piece ending this close to the buffer's edge may go on in the next block: its end is
# VAD padding (400 ms) + the pause it waits for (160 ms) + one 32 ms VAD frame away at most.
OPEN_EDGE_S = 1.0
# How far before a segment's end to look for the piece it ends in. Whisper often ends a segment
# where the next one starts, and the next piece opens with the VAD's 400 ms of padding: an end
# within that much of the next piece's start still ends the previous piece.
_END_NUDGE_S = 0.5
# Pieces closer than this (after the VAD's 400 ms padding on each side, so a pause under ~1.1 s)
# belong to one stretch of speech: a window is not cut between them.
CLEAR_PAUSE_S = 0.3
MAX_CARRY_S = 2 * MAX_PIECE_S
# A window must hold more than one piece and the open edge, or cutting could not advance.
MIN_WINDOW_S = MAX_PIECE_S + OPEN_EDGE_S + 1


@dataclass(frozen=True)
class Window:
    """Speech to transcribe: ``audio`` starts ``offset`` samples into the media."""

    offset: int
    audio: np.ndarray
    speech: list[dict[str, int]] = field(repr=False)  # VAD pieces, sample offsets into ``audio``

    @property
    def start_s(self) -> float:
        return self.offset / SAMPLING_RATE

    @property
    def end_s(self) -> float:
        return (self.offset + self.audio.shape[0]) / SAMPLING_RATE

    @property
    def speech_s(self) -> float:
        return sum(p["end"] - p["start"] for p in self.speech) / SAMPLING_RATE

    def joined_speech(self) -> np.ndarray:
        """The speech pieces joined, silence left out: what Whisper decodes (``SpeechClock`` maps its times back)."""
        return np.concatenate([self.audio[p["start"] : p["end"]] for p in self.speech])


def decoder_chunks(speech: list[dict[str, int]]) -> list[tuple[float, float]]:
    """(start, end) seconds in the joined speech of consecutive pieces packed into Whisper inputs of at most 30 s.

    The packing of faster-whisper's ``collect_chunks``: a piece that would overflow the
    current input starts the next one.
    """
    limit = MAX_PIECE_S * SAMPLING_RATE
    chunks: list[tuple[int, int]] = []
    start = end = 0
    for piece in speech:
        length = piece["end"] - piece["start"]
        if end > start and end - start + length > limit:
            chunks.append((start, end))
            start = end
        end += length
    chunks.append((start, end))
    return [(a / SAMPLING_RATE, b / SAMPLING_RATE) for a, b in chunks]


class SpeechClock:
    """Maps times in a window's joined speech back to times in the window.

    Like faster-whisper's ``restore_speech_timestamps``, except for segment ends: a segment
    that ends where its piece ends is kept in that piece, where faster-whisper's lookup can
    land it in the next one and stretch the segment over the whole silence between.
    """

    def __init__(self, speech: list[dict[str, int]]) -> None:
        from faster_whisper.vad import SpeechTimestampsMap

        self._map = SpeechTimestampsMap(speech, SAMPLING_RATE)

    def start(self, seconds: float) -> float:
        return self._map.get_original_time(seconds)

    def end(self, seconds: float, start: float) -> float:
        """The end of a segment that starts at ``start`` (both in joined-speech time)."""
        piece = self._map.get_chunk_index(max(seconds - _END_NUDGE_S, start))
        piece_end = self._map.chunk_end_sample[piece] / SAMPLING_RATE
        return self._map.get_original_time(min(seconds, piece_end), piece)


def speech_pieces(audio: np.ndarray) -> list[dict[str, int]]:
    """Where Silero VAD hears speech, in pieces of at most 30 s split at pauses (sample offsets); ~4 ms per audio second."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return get_speech_timestamps(
        audio, VadOptions(max_speech_duration_s=MAX_PIECE_S, min_silence_duration_ms=PAUSE_MS)
    )


def speech_windows(blocks: Iterable[np.ndarray], *, window_s: float) -> Iterator[Window]:
    """Windows of about ``window_s`` seconds (at least ``MIN_WINDOW_S``) cut at pauses; silent stretches yield nothing."""
    window = int(max(window_s, MIN_WINDOW_S) * SAMPLING_RATE)
    buffered: list[np.ndarray] = []
    buffered_samples = 0
    offset = 0  # media sample offset of the buffer's first sample
    for block in blocks:
        buffered.append(block)
        buffered_samples += block.shape[0]
        if buffered_samples < window:
            continue
        buffer = np.concatenate(buffered)
        pieces = speech_pieces(buffer)
        cut = _cut_point(pieces, buffer.shape[0])
        done = [p for p in pieces if p["end"] <= cut]
        if done:
            yield _window(buffer[:cut], done, offset)
        rest = buffer[cut:].copy()  # a copy, so the processed part of the buffer can be freed
        del buffer
        buffered, buffered_samples = [rest], rest.shape[0]
        offset += cut
    if buffered_samples:
        buffer = np.concatenate(buffered)
        pieces = speech_pieces(buffer)
        if pieces:
            yield _window(buffer, pieces, offset)


def _cut_point(pieces: list[dict[str, int]], length: int) -> int:
    """Sample where the buffer is cut: before the first piece that may still be running at its edge,
    and before the pieces that run into it without a clear pause.

    With no piece at the edge, the cut is ``OPEN_EDGE_S`` before it: a word starting in that
    last second may not have reached the VAD's threshold yet, so that second goes on too.
    Moving back over pieces joined by short pauses keeps a phrase with the rest of its
    sentence: "Reuters, Beijing." decoded alone, padded to a 30 s input, came out as "light
    is begging". At most ``MAX_CARRY_S`` (and half the buffer) is carried, so windows advance.
    """
    open_from = length - int(OPEN_EDGE_S * SAMPLING_RATE)
    running = [i for i, p in enumerate(pieces) if p["end"] > open_from]
    index = running[0] if running else len(pieces)
    cut = pieces[index]["start"] if running else open_from
    max_carry = min(int(MAX_CARRY_S * SAMPLING_RATE), length // 2)
    clear_pause = int(CLEAR_PAUSE_S * SAMPLING_RATE)
    while index > 0 and cut - pieces[index - 1]["end"] < clear_pause and length - pieces[index - 1]["start"] <= max_carry:
        index -= 1
        cut = pieces[index]["start"]
    return cut


def _window(audio: np.ndarray, pieces: list[dict[str, int]], offset: int) -> Window:
    start = pieces[0]["start"]
    shifted = [{"start": p["start"] - start, "end": p["end"] - start} for p in pieces]
    return Window(offset=offset + start, audio=audio[start : pieces[-1]["end"]], speech=shifted)
