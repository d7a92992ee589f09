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
    increases: frozenset[str]  # after a negative word (亏损扩大) they add to it instead of praising
    decreases: frozenset[str]  # after a negative word (亏损收窄) they turn it into relief
    high_risk: frozenset[str]
    stopwords: frozenset[str]
    neutral_phrases: frozenset[str]  # 背景调查, 风险提示: kept whole so their parts do not score
    contrast: frozenset[str]  # 但/然而/不过: the clause after weighs more than the one before
    denials: frozenset[str]  # 否认/辟谣/不实: what is denied is not evidence against the speaker
    rumours: frozenset[str]  # 网传/传闻: a claim reported, not established
    responses: frozenset[str]  # 回应/声明: a denial when the document reports a rumour
    injection: frozenset[str]  # text addressed to a model (忽略以上指令): never scored
    org_cues: frozenset[str]  # 公司/股价/发布: an ambiguous alias (苹果) means the company
    common_word_cues: frozenset[str]  # 果园/水果/斤: it means the common word

    def polarity(self, word: str) -> float:
        return self.positive.get(word, 0.0) - self.negative.get(word, 0.0)


@functools.cache
def load_lexicon() -> Lexicon:
    return Lexicon(
        positive=_read("positive.txt"),
        negative=_read("negative.txt"),
        negators=frozenset(_read("negators.txt")),
        intensifiers=_read("intensifiers.txt"),
        increases=frozenset(_read("increases.txt")),
        decreases=frozenset(_read("decreases.txt")),
        high_risk=frozenset(_read("risk_high.txt")),
        stopwords=frozenset(_read("stopwords.txt")),
        neutral_phrases=frozenset(_read("neutral_phrases.txt")),
        contrast=frozenset(_read("contrast.txt")),
        denials=frozenset(_read("denials.txt")),
        rumours=frozenset(_read("rumours.txt")),
        responses=frozenset(_read("responses.txt")),
        injection=frozenset(_read("injection.txt")),
        org_cues=frozenset(w.casefold() for w in _read("org_cues.txt")),
        common_word_cues=frozenset(w.casefold() for w in _read("common_word_cues.txt")),
    )
