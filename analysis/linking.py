"""Entity linking: which watched entity a name in the text refers to (used by both analyzers).

Names are compared after NFKC + casefold (Ａｐｐｌｅ = apple), per character so offsets into
the original text never move. An *ambiguous* entity (苹果公司, whose alias 苹果 is also the
fruit) counts only when the document confirms it: a confirming form of the entity anywhere in
the document (its full name, or a longer alias built on the short one: 苹果公司, Apple Inc), or
company context around its mentions (苹果发布新款手机, 苹果股价) outweighing common-word context
(苹果丰收, 每斤苹果). One sense per document: the mentions of an entity are decided together.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from analysis.lexicon import Lexicon, load_lexicon
from analysis.text import Span, sentences
from yuqing.contracts import EntityMention
from yuqing.settings import WatchEntity

# Legal-form and group suffixes that do not change which organisation is meant.
_ORG_SUFFIXES = re.compile(
    r"(?:股份有限公司|有限责任公司|有限公司|控股集团|集团公司|集团|控股|公司|"
    r"\s*(?:,\s*)?(?:inc|corp|corporation|co|ltd|limited|llc|plc|group|holdings?)\.?)+$"
)
_ADJACENT_CHARS = 4  # how far after a mention a cue counts as attached to it (苹果|发布, 蓝海|市场)
_LINK_THRESHOLD = 2  # context score an ambiguous entity needs without a confirming form


class _FoldTable(dict[int, str]):
    """str.translate table folding each character with NFKC + casefold when that keeps it one character."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = unicodedata.normalize("NFKC", char).casefold()
        self[code] = folded if len(folded) == 1 else char
        return self[code]


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """NFKC + casefold, one character for one character (offsets stay valid)."""
    return text.translate(_FOLD)


def normalise_name(name: str) -> str:
    """Comparable form of a name: folded, spaces collapsed, legal-form suffixes (有限公司, Inc.) removed."""
    key = " ".join(unicodedata.normalize("NFKC", name).casefold().split())
    stripped = _ORG_SUFFIXES.sub("", key).strip(" ,.")
    return stripped or key


def new_entity_id(name: str, type: str, *, normalised: bool = False) -> str:
    """A stable id for an organisation/person not on the watchlist: new:<type>:<normalised name>.

    ``normalised=True``: ``name`` is already normalise_name's output (saves doing it twice).
    """
    return f"new:{type.lower()}:{(name if normalised else normalise_name(name)).replace(' ', '-')}"


@dataclass(frozen=True)
class _Form:
    entity: WatchEntity
    confirming: bool  # names the entity beyond doubt (苹果公司), not a common word (苹果)


class EntityLinker:
    def __init__(self, watchlist: list[WatchEntity], lexicon: Lexicon | None = None) -> None:
        self.watchlist = list(watchlist)
        lexicon = lexicon or load_lexicon()
        self._org_cues = sorted(lexicon.org_cues, key=len, reverse=True)
        self._common_cues = sorted(lexicon.common_word_cues, key=len, reverse=True)
        self._forms: dict[str, _Form] = {}
        for entity in self.watchlist:
            for name in entity.names:
                if form := " ".join(fold(name).split()):  # stray spaces in a configured alias never matter
                    self._forms.setdefault(form, _Form(entity, _confirms(entity, name)))
        self._by_suffixless = {normalise_name(form): f for form, f in self._forms.items()}
        ordered = sorted(self._forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(_form_regex(f) for f in ordered)) if ordered else None

    # --- public interface -------------------------------------------------------------
    def find(self, text: str) -> list[EntityMention]:
        """Every watched-entity mention in text with offsets and entity_id.

        Ambiguous aliases are disambiguated by context.
        """
        candidates = self._candidates(text)
        accepted = self._accepted_entities(text, candidates)
        return [
            EntityMention(text=text[start:end], type=form.entity.type, start=start, end=end, entity_id=form.entity.id)
            for start, end, form in candidates
            if form.entity.id in accepted
        ]

    def link(self, mention: str, text: str) -> str | None:
        """The watchlist id a mention (from an LLM or the NER tagger) names, or None.

        Alias-normalised (阿里/阿里巴巴/Alibaba/阿里云 -> one id; case and width do not matter;
        有限公司/Inc. suffixes are ignored). An ambiguous alias (苹果) is accepted only when the
        document text confirms the entity.
        """
        return self.resolve(mention, text)[0]

    def resolve(self, mention: str, text: str) -> tuple[str | None, str]:
        """``link``'s answer and the mention's normalise_name (a new entity's id is built from it)."""
        normalised = normalise_name(mention)
        form = self._forms.get(" ".join(fold(mention).split())) or self._by_suffixless.get(normalised)
        if form is None:
            return None, normalised
        if form.confirming:
            return form.entity.id, normalised
        accepted = self._accepted_entities(text, self._candidates(text))
        return (form.entity.id if form.entity.id in accepted else None), normalised

    # --- internals ------------------------------------------------------------------
    def _candidates(self, text: str) -> list[tuple[int, int, _Form]]:
        if self._pattern is None or not text:
            return []
        return [(m.start(), m.end(), self._forms[m.group(0)]) for m in self._pattern.finditer(fold(text))]

    def _accepted_entities(self, text: str, candidates: list[tuple[int, int, _Form]]) -> set[str]:
        accepted = {form.entity.id for _, _, form in candidates if form.confirming}
        pending: dict[str, int] = {}
        folded = ""
        spans: list[Span] = []
        for start, end, form in candidates:
            entity_id = form.entity.id
            if entity_id in accepted:
                continue
            if not folded:
                folded, spans = fold(text), sentences(text)
            pending[entity_id] = pending.get(entity_id, 0) + self._context_score(folded, spans, start, end)
        return accepted | {entity_id for entity_id, score in pending.items() if score >= _LINK_THRESHOLD}

    def _context_score(self, folded: str, spans: list[Span], start: int, end: int) -> int:
        """Company context minus common-word context around one mention of an ambiguous alias."""
        sentence = next((s for s in spans if s.start <= start < s.end), None)
        lo, hi = (sentence.start, sentence.end) if sentence else (0, len(folded))
        after = folded[end : min(hi, end + _ADJACENT_CHARS)]
        before = folded[max(lo, start - 2) : start]
        around = folded[lo:hi]  # the sentence, mention included, so 一片蓝海 and 苹果树 are seen whole
        score = 0
        if any(after.startswith(cue) for cue in self._org_cues):
            score += 2
        if any(after.startswith(cue) or before.endswith(cue) for cue in self._common_cues):
            score -= 3
        score += min(2, sum(cue in around for cue in self._org_cues))
        score -= 2 * min(2, sum(cue in around for cue in self._common_cues))
        return score


def _form_regex(form: str) -> str:
    escaped = re.escape(form)
    if form.isascii() and form[:1].isalnum():
        # \b fails between a Latin letter and a CJK character (both are \w): look for Latin neighbours only.
        return rf"(?<![a-z0-9]){escaped}(?![a-z0-9])"
    return escaped


def _confirms(entity: WatchEntity, name: str) -> bool:
    """Whether this form names the entity beyond doubt.

    For an ambiguous entity that is its name, or a longer form built on a shorter alias
    (苹果公司 over 苹果, Xingchen Tech over Xingchen): the short form is the common word.
    """
    if not entity.ambiguous:
        return True
    name = fold(name)
    if name == fold(entity.name):
        return True
    return any(len(other) < len(name) and fold(other) in name for other in entity.names)
