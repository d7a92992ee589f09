"""Text units over the original text: sentences and clauses (offsets always index the original), and words."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import jieba
import rjieba

_SENTENCE_END = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+[”’」』\"]?|\n|$)")
_CLAUSE_END = re.compile(r"[^，,；;：:。！？!?\n]*(?:[，,；;：:。！？!?]+[”’」』\"]?|\n|$)")
# Private-use characters: jieba and jieba-rs both cut them one by one, so a word made of them never matches.
_PADDING_WORD = "\ue000\ue000"


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


@dataclass(frozen=True)
class JiebaDictionary:
    """jieba's dict.txt as jieba reads it: the last line of a word wins, and the total counts every line."""

    frequencies: dict[str, int]
    tags: dict[str, str]  # part of speech, as jieba.posseg looks words up
    total: int


@functools.cache
def jieba_dictionary() -> JiebaDictionary:
    frequencies: dict[str, int] = {}
    tags: dict[str, str] = {}
    total = 0
    with jieba.get_dict_file() as lines:
        for line in lines:
            word, frequency, tag = line.strip().decode("utf-8").split(" ")
            frequencies[word] = int(frequency)
            tags[word] = tag
            total += int(frequency)
    return JiebaDictionary(frequencies, tags, total)


class WordSegmenter:
    """jieba's segmentation (its dictionary, HMM off) with extra words, as jieba.Tokenizer.cut(text, HMM=False).

    The words come from jieba-rs (rjieba), which runs jieba's algorithm on jieba's dictionary (it bundles the
    same dict.txt) ten times faster than jieba's pure-Python DAG walk, the analyzer's largest cost before.
    One difference is bridged here: adding a word the dictionary already holds, jieba adds the new frequency
    to its total while jieba-rs swaps the old one for it; the total scales every word's log-probability, so
    near ties would cut differently. A padding word that nothing matches makes the totals equal. The tests
    compare the two on real and on random text.
    """

    def __init__(self, extra_words: Iterable[tuple[str, int]] = ()) -> None:
        dictionary = jieba_dictionary()
        self._jieba = rjieba.Jieba()
        jieba_total = dictionary.total
        final: dict[str, int] = {}
        for word, frequency in extra_words:
            jieba_total += frequency  # jieba.Tokenizer.add_word: FREQ[word] = freq; total += freq
            final[word] = frequency
        rust_total = sum(dictionary.frequencies.values())
        for word, frequency in final.items():
            if word:
                self._jieba.add_word(word, frequency, None)
                rust_total += frequency - dictionary.frequencies.get(word, 0)
        if jieba_total > rust_total:
            self._jieba.add_word(_PADDING_WORD, jieba_total - rust_total, None)

    def cut(self, text: str) -> list[str]:
        return self._jieba.cut(text, False)
