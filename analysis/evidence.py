"""Quote verification: a quote counts only if it occurs in the document; offsets are ours.

Matching is on NFKC-normalised, case-folded text with whitespace ignored, so a model that
writes a full-width comma as ``,`` or drops a line break still matches, while the returned
offsets index the original text.
"""

from __future__ import annotations

import re
import unicodedata

from yuqing.contracts import Evidence

MIN_QUOTE_CHARS = 4  # shorter "quotes" (公司, 召回) match almost any article and prove nothing

_INJECTION = re.compile(
    r"(忽略|无视|忘记|忽视)(以上|上述|之前|前面|所有|全部)?的?(指令|指示|提示|要求|规则)"
    r"|(把|将)(本文|这篇|文章|情感|情绪|倾向)?.{0,6}(判为|判断为|标为|标注为|评为|输出为?)(正面|负面|中性|积极|消极|positive|negative)"
    r"|ignore (all |the )?(previous|above|prior) (instructions|prompts?)"
    r"|(system|系统)\s*(prompt|提示词)",
    re.IGNORECASE,
)


def _fold(char: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", char).casefold() if not c.isspace())


class EvidenceLocator:
    def __init__(self, text: str) -> None:
        self.text = text
        folded: list[str] = []
        self._origin: list[int] = []  # folded index -> original index
        for index, char in enumerate(text):
            for piece in _fold(char):
                folded.append(piece)
                self._origin.append(index)
        self._folded = "".join(folded)
        self.injections = [(m.start(), m.end()) for m in _INJECTION.finditer(text)]

    def find(self, quote: str, *, min_chars: int = MIN_QUOTE_CHARS) -> Evidence | None:
        """The quote's span in the original text, or None when it is not there (or too short to prove anything)."""
        needle = "".join(_fold(c) for c in quote)
        if len(needle) < max(min_chars, 1):
            return None
        at = self._folded.find(needle)
        if at < 0:
            return None
        start, end = self._origin[at], self._origin[at + len(needle) - 1] + 1
        return Evidence(quote=self.text[start:end], start=start, end=end)

    def quotes_injection(self, evidence: Evidence) -> bool:
        """True when the evidence overlaps text that tries to instruct the analyzer."""
        return any(evidence.start < end and start < evidence.end for start, end in self.injections)
