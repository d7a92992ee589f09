"""Hallucination guard: pure checks that mark a transcript segment unreliable.

Whisper (the base model especially) loops: it repeats a phrase, echoes its prompt or
fills silence with stock phrases. Unreliable segments stay in the transcript, with the
reason in ``flags``, but ``Transcript.text`` leaves them out, so nothing downstream
counts a company name that only a loop or a prompt put there.

Checks, each a flag name:
    compression_ratio   the text (or the 30 s window it was decoded in) compresses better
                        than Whisper's own 2.4 threshold: it is mostly repetition
    repetition_loop     one 2–8 character unit repeated at least 4 times in a row
    repeated_segment    the same text in 3 or more consecutive segments (a loop split up)
    prompt_echo         the text equals or contains a prompt/hotword given to the decoder
"""

from __future__ import annotations

import unicodedata
import zlib
from collections.abc import Iterable, Sequence

from yuqing.contracts import TranscriptSegment

COMPRESSION_RATIO_THRESHOLD = 2.4
MIN_LOOP_UNIT_CHARS = 2
MAX_LOOP_UNIT_CHARS = 8
MIN_LOOP_REPEATS = 4
MIN_REPEATED_SEGMENTS = 3

FLAG_COMPRESSION_RATIO = "compression_ratio"
FLAG_REPETITION_LOOP = "repetition_loop"
FLAG_REPEATED_SEGMENT = "repeated_segment"
FLAG_PROMPT_ECHO = "prompt_echo"

def compression_ratio(text: str) -> float:
    """UTF-8 bytes over zlib-compressed bytes, as Whisper computes it (0.0 for empty text)."""
    data = text.encode("utf-8")
    if not data:
        return 0.0
    return len(data) / len(zlib.compress(data))


def repetition_loop(text: str) -> str | None:
    """The shortest 2–8 character unit repeated ``MIN_LOOP_REPEATS`` or more times in a row, or None.

    A unit of one character doubled (哈哈, ……) is not a loop by itself: laughter and ellipses
    are real speech and punctuation; if they run on, the compression ratio catches them.
    """
    for size in range(MIN_LOOP_UNIT_CHARS, MAX_LOOP_UNIT_CHARS + 1):
        for start in range(len(text) - size * MIN_LOOP_REPEATS + 1):
            unit = text[start : start + size]
            is_word_like = len(set(unit)) > 1 and any(ch.isalnum() for ch in unit)
            if is_word_like and text.startswith(unit * MIN_LOOP_REPEATS, start):
                return unit
    return None


def normalize(text: str) -> str:
    """Casefolded text without whitespace or punctuation, for comparing what was said."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not (ch.isspace() or unicodedata.category(ch).startswith("P")))


def echoes_prompt(text: str, prompts: Iterable[str]) -> bool:
    """True when the text equals or contains one of the prompts (ignoring spacing and punctuation)."""
    said = normalize(text)
    return bool(said) and any((p := normalize(prompt)) and p in said for prompt in prompts)


def segment_flags(
    text: str, *, decoder_compression_ratio: float | None = None, prompts: Iterable[str] = ()
) -> list[str]:
    """Why one segment's text is unreliable; empty when it passes.

    ``decoder_compression_ratio`` is the ratio faster-whisper computed over the whole window
    the segment came from: a loop spread over several short segments shows there, not in
    each segment's own text.
    """
    flags: list[str] = []
    ratio = max(compression_ratio(text), decoder_compression_ratio or 0.0)
    if ratio > COMPRESSION_RATIO_THRESHOLD:
        flags.append(FLAG_COMPRESSION_RATIO)
    if repetition_loop(text) is not None:
        flags.append(FLAG_REPETITION_LOOP)
    if echoes_prompt(text, prompts):
        flags.append(FLAG_PROMPT_ECHO)
    return flags


def repeated_segment_runs(texts: Sequence[str], min_run: int = MIN_REPEATED_SEGMENTS) -> set[int]:
    """Indexes of segments inside a run of ``min_run`` or more consecutive identical texts."""
    keys = [normalize(t) for t in texts]
    flagged: set[int] = set()
    start = 0
    for end in range(1, len(keys) + 1):
        if end == len(keys) or keys[end] != keys[start]:
            if keys[start] and end - start >= min_run:
                flagged.update(range(start, end))
            start = end
    return flagged


def apply_guard(segments: Sequence[TranscriptSegment], *, prompts: Iterable[str] = ()) -> list[TranscriptSegment]:
    """Copies of the segments with ``reliable``/``flags`` set by every check above.

    ``segment.compression_ratio`` is read as the decoder's window ratio (it may be None).
    """
    prompts = [p for p in prompts if p and p.strip()]
    in_repeated_run = repeated_segment_runs([s.text for s in segments])
    guarded: list[TranscriptSegment] = []
    for index, segment in enumerate(segments):
        flags = [*segment.flags]
        for flag in segment_flags(segment.text, decoder_compression_ratio=segment.compression_ratio, prompts=prompts):
            if flag not in flags:
                flags.append(flag)
        if index in in_repeated_run and FLAG_REPEATED_SEGMENT not in flags:
            flags.append(FLAG_REPEATED_SEGMENT)
        guarded.append(segment.model_copy(update={"flags": flags, "reliable": segment.reliable and not flags}))
    return guarded
