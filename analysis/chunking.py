"""Split long documents on sentence boundaries so each piece fits the model's context."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[”’」』\"]?|\n+|$)")


@dataclass(frozen=True)
class Chunk:
    start: int  # offset of the chunk in the document
    text: str


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.end() > m.start()]


def chunk_text(text: str, max_chars: int) -> list[Chunk]:
    """Consecutive pieces of at most ``max_chars`` characters that end at sentence ends.

    A single sentence longer than ``max_chars`` is cut at ``max_chars``: rare in news, and the
    model still sees every character. Concatenating the chunks gives back the text.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    if len(text) <= max_chars:
        return [Chunk(0, text)]
    chunks: list[Chunk] = []
    start = end = 0
    for s_start, s_end in _sentence_spans(text):
        if s_end - start > max_chars and end > start:
            chunks.append(Chunk(start, text[start:end]))
            start = end
        while s_end - start > max_chars:
            chunks.append(Chunk(start, text[start : start + max_chars]))
            start += max_chars
        end = s_end
    if end > start:
        chunks.append(Chunk(start, text[start:end]))
    return chunks
