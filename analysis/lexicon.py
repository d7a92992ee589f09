"""Word lists shipped with the offline analyzer (analysis/lexicon/*.txt)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

LEXICON_DIR = Path(__file__).parent / "lexicon"


def _read(name: str) -> dict[str, float]:
    entries: dict[str, float] = {}
    for line in (LEXICON_DIR / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, weight = line.partition("\t")
        entries[word.strip()] = float(weight) if weight.strip() else 1.0
    return entries


@dataclass(frozen=True)
class Lexicon:
    positive: dict[str, float]
    negative: dict[str, float]
    negators: frozenset[str]
    intensifiers: dict[str, float]
    high_risk: frozenset[str]
    stopwords: frozenset[str]

    def polarity(self, word: str) -> float:
        return self.positive.get(word, 0.0) - self.negative.get(word, 0.0)


@functools.cache
def load_lexicon() -> Lexicon:
    return Lexicon(
        positive=_read("positive.txt"),
        negative=_read("negative.txt"),
        negators=frozenset(_read("negators.txt")),
        intensifiers=_read("intensifiers.txt"),
        high_risk=frozenset(_read("risk_high.txt")),
        stopwords=frozenset(_read("stopwords.txt")),
    )
