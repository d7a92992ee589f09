"""Sentence and clause spans over the original text (offsets always index the original)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+[”’」』\"]?|\n|$)")
_CLAUSE_END = re.compile(r"[^，,；;：:。！？!?\n]*(?:[，,；;：:。！？!?]+[”’」』\"]?|\n|$)")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


def _spans(pattern: re.Pattern[str], text: str, offset: int = 0) -> list[Span]:
    spans = []
    for match in pattern.finditer(text):
        raw = match.group(0)
        stripped = raw.strip()
        if not stripped:
            continue
        lead = len(raw) - len(raw.lstrip())
        start = offset + match.start() + lead
        spans.append(Span(start, start + len(stripped), stripped))
    return spans


def sentences(text: str) -> list[Span]:
    return _spans(_SENTENCE_END, text)


def clauses(sentence: Span) -> list[Span]:
    return _spans(_CLAUSE_END, sentence.text, sentence.start)
