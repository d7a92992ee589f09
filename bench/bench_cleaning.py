"""Near-duplicate detection on synthetic Chinese news: throughput, precision and recall.

    python bench/bench_cleaning.py [--docs 20000] [--master local[2]] [--full]

Documents are sentences of words drawn (Zipf-like) from one shared vocabulary, so
unrelated documents share common words, as real news does. A tenth of them get
copies: exact reprints, light edits (a sentence or a few words changed, mostly
Jaccard ≥ 0.8) and heavy edits (half rewritten: hard negatives).

Timed: the near-duplicate step alone (exact groups, MinHash, LSH, verification,
components, story assignment) on cached, fingerprinted documents; with ``--full``
also ``run_clean`` end to end on a temporary local store.
Truth: two documents belong together when the exact Jaccard of their shingle sets
is ≥ the threshold (computed within each family of copies; unrelated documents are
far below it). Precision counts predicted same-story pairs from different families
as errors; recall is over true pairs.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import random
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cleaning import minhash
from cleaning.job import build_spark, run_clean
from cleaning.transforms import add_fingerprint, deduplicate

# ~3500 common characters' worth of variety from a small seed alphabet is enough.
ALPHABET = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所"
    "民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日"
    "那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想"
    "已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指"
)
CLOSERS = "。，；"


class Writer:
    """Random sentences from one vocabulary; word ranks follow a Zipf law (exponent 0.8, top word ~4%)."""

    def __init__(self, rng: random.Random, size: int = 6000) -> None:
        self.rng = rng
        self.vocabulary = ["".join(rng.choices(ALPHABET, k=rng.choice((2, 2, 2, 3, 4)))) for _ in range(size)]
        self.cum_weights = list(itertools.accumulate(1 / rank**0.8 for rank in range(1, size + 1)))

    def sentence(self) -> str:
        words = self.rng.choices(self.vocabulary, cum_weights=self.cum_weights, k=self.rng.randint(6, 14))
        return "".join(words) + self.rng.choice(CLOSERS)

    def article(self) -> list[str]:
        return [self.sentence() for _ in range(max(4, int(self.rng.lognormvariate(3.0, 0.5))))]

    def light_edit(self, sentences: list[str]) -> list[str]:
        edited = list(sentences)
        for _ in range(self.rng.choice((1, 1, 2))):
            edited[self.rng.randrange(len(edited))] = self.sentence()
        if self.rng.random() < 0.5:
            edited.append("（来源：" + self.rng.choice(self.vocabulary) + "网）")
        return edited

    def heavy_edit(self, sentences: list[str]) -> list[str]:
        return [s if self.rng.random() < 0.5 else self.sentence() for s in sentences]


def make_corpus(n: int, dup_rate: float, seed: int) -> tuple[list[tuple[str, str, datetime]], dict[str, str]]:
    """Rows (id, text, published_at) and each document's family (the id of the article it copies)."""
    rng = random.Random(seed)
    writer = Writer(rng)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows: list[tuple[str, str, datetime]] = []
    family: dict[str, str] = {}
    while len(rows) < n:
        base_id = f"d{len(rows):07d}"
        sentences = writer.article()
        published = start + timedelta(minutes=rng.randrange(60 * 24 * 20))
        rows.append((base_id, "\n".join(sentences), published))
        family[base_id] = base_id
        if rng.random() < dup_rate:
            for copy in range(rng.choice((1, 1, 2, 3))):
                kind = rng.choices(("exact", "light", "heavy"), weights=(3, 5, 2))[0]
                edit = {"exact": list, "light": writer.light_edit, "heavy": writer.heavy_edit}[kind]
                copy_id = f"{base_id}-{kind}{copy}"
                rows.append((copy_id, "\n".join(edit(sentences)), published + timedelta(hours=rng.randint(1, 48))))
                family[copy_id] = base_id
    return rows[:n], family


def _fingerprint(text: str) -> str:
    return re.sub(r"[\s\W_]", "", text).lower()


def true_pairs(rows: list[tuple[str, str, datetime]], family: dict[str, str], threshold: float) -> set[tuple[str, str]]:
    members: dict[str, list[tuple[str, str]]] = {}
    for doc_id, text, _ in rows:
        members.setdefault(family[doc_id], []).append((doc_id, text))
    pairs = set()
    for group in members.values():
        fingerprints = sorted((doc_id, _fingerprint(text)) for doc_id, text in group)
        for (a, fa), (b, fb) in itertools.combinations(fingerprints, 2):
            if minhash.text_jaccard(fa, fb) >= threshold:
                pairs.add((a, b))
    return pairs


def predicted_pairs(story_of: dict[str, str]) -> set[tuple[str, str]]:
    stories: dict[str, list[str]] = {}
    for doc_id, story in story_of.items():
        stories.setdefault(story, []).append(doc_id)
    groups = (sorted(members) for members in stories.values() if len(members) > 1)
    return {pair for members in groups for pair in itertools.combinations(members, 2)}


def bench_near_duplicates(spark, rows, family, threshold: float) -> None:
    docs = spark.createDataFrame(rows, "id string, text string, published_at timestamp")
    prepared = add_fingerprint(docs).persist()
    prepared.count()  # load and fingerprint outside the timed part

    started = time.perf_counter()
    stories = deduplicate(prepared, threshold).select("id", "story_id", "duplicate_kind").persist()
    stories.count()
    seconds = time.perf_counter() - started

    story_of = {row.id: row.story_id for row in stories.collect()}
    kinds = {row.duplicate_kind: row["count"] for row in stories.groupBy("duplicate_kind").count().collect()}
    truth = true_pairs(rows, family, threshold)
    predicted = predicted_pairs(story_of)
    correct = {p for p in predicted if family[p[0]] == family[p[1]]}
    bands, rows_per_band = minhash.choose_banding(minhash.DEFAULT_NUM_PERM, threshold)
    print(f"documents            {len(rows):>10,}  (mean {sum(len(r[1]) for r in rows) / len(rows):.0f} chars)")
    print(f"banding              {bands} bands x {rows_per_band} rows, threshold {threshold}")
    print(f"near-dup step        {seconds:>10.1f} s   {len(rows) / seconds:,.0f} docs/s")
    print(f"duplicates found     exact {kinds.get('exact', 0):,}, near {kinds.get('near', 0):,}")
    print(f"true pairs (J>=t)    {len(truth):>10,}")
    print(f"predicted pairs      {len(predicted):>10,}")
    print(f"precision            {len(correct) / max(len(predicted), 1):>10.4f}  (pairs from different families are errors)")
    print(f"  of which J < t     {len(correct - truth):>10,}  (same story through a chain of similar copies)")
    print(f"recall               {len(truth & predicted) / max(len(truth), 1):>10.4f}")
    stories.unpersist()
    prepared.unpersist()


def bench_full_job(spark, rows, threshold: float) -> None:
    from yuqing.contracts import RawDocument
    from yuqing.storage import LocalStore

    with tempfile.TemporaryDirectory() as folder:
        store = LocalStore(Path(folder))
        crawled = datetime(2026, 11, 21, tzinfo=UTC)
        lines = [
            RawDocument(
                id=doc_id, url=f"https://x.example/{doc_id}", canonical_url=f"https://x.example/{doc_id}",
                source="bench", title=doc_id, text=text, published_at=published, crawled_at=crawled,
            ).model_dump_json()
            for doc_id, text, published in rows
        ]  # fmt: skip
        store.put_bytes("raw/docs/date=2026-11-21/bench.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
        report = run_clean(spark, store.uri(), store.uri(), threshold=threshold, run_id="bench")
    print(f"run_clean end to end {report.seconds:>10.1f} s   {len(rows) / report.seconds:,.0f} docs/s "
          f"({report.exact_duplicates:,} exact, {report.near_duplicates:,} near, {report.clusters:,} stories)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--dup-rate", type=float, default=0.1, help="share of articles that get copies")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--full", action="store_true", help="also time run_clean end to end")
    args = parser.parse_args()

    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    rows, family = make_corpus(args.docs, args.dup_rate, args.seed)
    print(f"generated {len(rows):,} documents in {time.perf_counter() - t0:.1f} s")
    spark = build_spark(args.master, app_name="bench-cleaning", extra_conf={"spark.driver.memory": args.driver_memory})
    try:
        bench_near_duplicates(spark, rows, family, args.threshold)
        if args.full:
            bench_full_job(spark, rows, args.threshold)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
