"""Offline analyzer: no GPU, no network. jieba + a news sentiment lexicon + the watchlist.

Per-target sentiment is scored on the clauses that name a watched entity; sentences that
name no entity are credited, at half weight, to the entity named last (news prose says
"该公司" after the first mention). Evidence quotes are spans of the document text with
offsets computed here, so they always verify.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jieba
import jieba.analyse
import jieba.posseg

from analysis.lexicon import LEXICON_DIR, Lexicon, load_lexicon
from analysis.text import Span, clauses, sentences
from yuqing.contracts import Analysis, EntityMention, Evidence, Sentiment, TargetSentiment
from yuqing.settings import WatchEntity

logger = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)

ANALYZER_NAME = "offline-lexicon"
_CODE_VERSION = "1"
_NEUTRAL_BAND = 0.2
_POS_TO_TYPE = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
_WINDOW = 3  # tokens a negator or intensifier reaches forward


def analyzer_version() -> str:
    digest = hashlib.sha256(_CODE_VERSION.encode())
    for path in sorted(LEXICON_DIR.glob("*.txt")):
        digest.update(path.read_bytes())
    return f"{ANALYZER_NAME}-{_CODE_VERSION}.{digest.hexdigest()[:8]}"


@dataclass
class _Polarity:
    positive: float = 0.0
    negative: float = 0.0
    high_risk: set[str] = field(default_factory=set)

    def add(self, other: _Polarity, weight: float = 1.0) -> None:
        self.positive += other.positive * weight
        self.negative += other.negative * weight
        self.high_risk |= other.high_risk

    @property
    def score(self) -> float:
        return (self.positive - self.negative) / (self.positive + self.negative + 2.0)

    @property
    def label(self) -> Sentiment:
        if self.score > _NEUTRAL_BAND:
            return "positive"
        if self.score < -_NEUTRAL_BAND:
            return "negative"
        return "neutral"


class OfflineAnalyzer:
    def __init__(self, watchlist: list[WatchEntity], lexicon: Lexicon | None = None) -> None:
        self.watchlist = watchlist
        self.lexicon = lexicon or load_lexicon()
        self.version = analyzer_version()
        self.tokenizer = jieba.Tokenizer()
        for word in (*self.lexicon.positive, *self.lexicon.negative, *self.lexicon.negators):
            self.tokenizer.add_word(word, freq=50000)
        for entity in watchlist:
            tag = {"ORG": "nt", "PER": "nr", "LOC": "ns", "PRODUCT": "nz"}[entity.type]
            for name in entity.names:
                self.tokenizer.add_word(name, freq=100000, tag=tag)
        self.pos_tokenizer = jieba.posseg.POSTokenizer(self.tokenizer)
        self.keyword_extractor = jieba.analyse.TFIDF()
        self.keyword_extractor.tokenizer = self.tokenizer
        self.keyword_extractor.postokenizer = self.pos_tokenizer
        self.keyword_extractor.stop_words |= set(self.lexicon.stopwords)
        names = sorted({(n, e.id) for e in watchlist for n in e.names}, key=lambda p: len(p[0]), reverse=True)
        self._alias_entity = {n.lower(): eid for n, eid in names}
        self._alias_pattern = (
            re.compile("|".join(_alias_regex(n) for n, _ in names), re.IGNORECASE) if names else None
        )
        self._entities = {e.id: e for e in watchlist}

    # --- scoring -----------------------------------------------------------------
    def _polarity(self, text: str) -> _Polarity:
        result = _Polarity()
        tokens = [t for t in self.tokenizer.lcut(text) if t.strip()]
        for i, token in enumerate(tokens):
            word = token.lower()
            value = self.lexicon.polarity(word)
            if not value:
                continue
            before = [t.lower() for t in tokens[max(0, i - _WINDOW) : i]]
            if any(b in self.lexicon.negators for b in before):
                value = -value * 0.8
            for b in before:
                value *= self.lexicon.intensifiers.get(b, 1.0)
            if value > 0:
                result.positive += value
            else:
                result.negative -= value
                if word in self.lexicon.high_risk:
                    result.high_risk.add(word)
        return result

    # --- entities ------------------------------------------------------------------
    def _watch_mentions(self, text: str) -> list[EntityMention]:
        if self._alias_pattern is None:
            return []
        found = []
        for match in self._alias_pattern.finditer(text):
            entity = self._entities[self._alias_entity[match.group(0).lower()]]
            found.append(EntityMention(text=match.group(0), type=entity.type, start=match.start(), end=match.end(), entity_id=entity.id))
        # An ambiguous alias (苹果) counts only when an unambiguous form of the entity also appears.
        confirmed = {m.entity_id for m in found if _confirms(self._entities[m.entity_id], m.text)}
        return [m for m in found if m.entity_id in confirmed]

    def _other_mentions(self, text: str, taken: list[EntityMention]) -> list[EntityMention]:
        mentions = []
        offset = 0
        occupied = [(m.start, m.end) for m in taken]
        for pair in self.pos_tokenizer.cut(text):
            start, end = offset, offset + len(pair.word)
            offset = end
            kind = _POS_TO_TYPE.get(pair.flag)
            if kind is None or len(pair.word.strip()) < 2:
                continue
            if any(s < end and start < e for s, e in occupied):
                continue
            mentions.append(EntityMention(text=pair.word, type=kind, start=start, end=end))  # type: ignore[arg-type]
        return mentions

    # --- main --------------------------------------------------------------------
    def analyze(self, doc_id: str, title: str, text: str) -> Analysis:
        title_polarity = self._polarity(title)
        title_mentions = self._watch_mentions(title)
        watch_mentions = self._watch_mentions(text)
        overall = _Polarity()
        overall.add(title_polarity, weight=2.0)
        per_entity: dict[str, _Polarity] = {}
        per_entity_evidence: dict[str, list[tuple[float, Span]]] = {}
        sentence_scores: list[tuple[float, Span]] = []

        for m in title_mentions:
            per_entity.setdefault(m.entity_id, _Polarity()).add(title_polarity, weight=2.0)  # type: ignore[arg-type]
        last_named: str | None = title_mentions[-1].entity_id if title_mentions else None
        for sentence in sentences(text):
            sentence_polarity = self._polarity(sentence.text)
            overall.add(sentence_polarity)
            sentence_scores.append((sentence_polarity.score, sentence))
            named_here = [m for m in watch_mentions if sentence.start <= m.start < sentence.end]
            if not named_here:
                if last_named is not None:
                    per_entity.setdefault(last_named, _Polarity()).add(sentence_polarity, weight=0.5)
                continue
            for clause in clauses(sentence):
                in_clause = {m.entity_id for m in named_here if clause.start <= m.start < clause.end}
                if not in_clause:
                    continue
                clause_polarity = self._polarity(clause.text)
                if not (clause_polarity.positive or clause_polarity.negative):
                    clause_polarity = sentence_polarity  # the verdict is elsewhere in the sentence
                for entity_id in in_clause:
                    per_entity.setdefault(entity_id, _Polarity()).add(clause_polarity)  # type: ignore[arg-type]
                    per_entity_evidence.setdefault(entity_id, []).append((clause_polarity.score, sentence))  # type: ignore[arg-type]
            last_named = named_here[-1].entity_id

        label = overall.label
        evidence = _pick_evidence(sentence_scores, label, text)
        targets = []
        for entity_id, polarity in per_entity.items():
            entity = self._entities[entity_id]
            targets.append(
                TargetSentiment(
                    entity_id=entity_id,
                    name=entity.name,
                    sentiment=polarity.label,
                    score=round(polarity.score, 4),
                    evidence=_pick_evidence(per_entity_evidence.get(entity_id, []), polarity.label, text, limit=1),
                )
            )
        negative_targets = any(t.sentiment == "negative" for t in targets)
        if (label == "negative" or negative_targets) and overall.high_risk:
            risk = "high"
        elif label == "negative" or negative_targets:
            risk = "medium"
        else:
            risk = "low"
        entities = watch_mentions + self._other_mentions(text, watch_mentions)
        keywords = [k for k in self.keyword_extractor.extract_tags(f"{title}\n{text}", topK=8) if not k.isdigit()]
        summary = title.strip() or (sentences(text)[0].text[:120] if text.strip() else "")
        return Analysis(
            doc_id=doc_id,
            analyzer=ANALYZER_NAME,
            analyzer_version=self.version,
            sentiment=label,
            score=round(overall.score, 4),
            targets=sorted(targets, key=lambda t: t.name),
            entities=sorted(entities, key=lambda m: m.start),
            keywords=keywords,
            summary=summary,
            evidence=evidence,
            risk=risk,
            low_confidence=label != "neutral" and not evidence,
            created_at=datetime.now(UTC),
        )


def _alias_regex(alias: str) -> str:
    escaped = re.escape(alias)
    return rf"\b{escaped}\b" if alias.isascii() else escaped


def _pick_evidence(scored: list[tuple[float, Span]], label: Sentiment, text: str, limit: int = 2) -> list[Evidence]:
    if label == "neutral":
        return []
    sign = 1 if label == "positive" else -1
    chosen = sorted((s for s in scored if s[0] * sign > 0), key=lambda s: -abs(s[0]))[:limit]
    quotes = []
    for _, span in sorted(chosen, key=lambda s: s[1].start):
        assert text[span.start : span.end] == span.text
        quotes.append(Evidence(quote=span.text, start=span.start, end=span.end))
    return quotes


def _confirms(entity: WatchEntity, mention: str) -> bool:
    """Whether this form names the entity beyond doubt.

    For an ambiguous entity that is its name, or a longer form built on a shorter alias
    (苹果公司 over 苹果, Xingchen Tech over Xingchen): the short form is the common word.
    """
    if not entity.ambiguous:
        return True
    mention = mention.lower()
    if mention == entity.name.lower():
        return True
    return any(len(other) < len(mention) and other.lower() in mention for other in entity.names)
