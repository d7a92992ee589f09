"""The clean job end to end on a synthetic zh/en corpus, against datasketch's MinHashLSH in one process.

    python bench/bench_cleaning.py [--docs 50000] [--master local[2]] [--no-baseline]

Needs the ``bench`` extra (``pip install -e '.[bench]'``) for the baseline.

The corpus: articles of words drawn (Zipf-like) from one shared vocabulary per
language (about 70 % Chinese, 30 % English), so unrelated documents share common
words as real news does. Of all documents, ``--exact`` (10 %) are exact reprints
of an earlier article (same text, a boilerplate line such as ``责任编辑：…`` added and
the line breaks changed, which cleaning removes) and ``--near`` (10 %) are edited
reprints: 0.2–5 % of the characters substituted, inserted or deleted at random
places, which puts their Jaccard similarity to the original on both sides of the
threshold. Reprints are published after their original.

Timed: ``run_clean`` on a local store holding the corpus as one raw JSON-lines
file (its own ``seconds``: reading, cleaning, de-duplication, writing Parquet and
the index), and, on the same machine in the same run, the baseline: for every
document its fingerprint, an exact-hash group, a datasketch ``MinHash`` (64
permutations, as many as the job's signature has bins) of the character 5-shingles
of each distinct fingerprint, ``MinHashLSH`` (threshold 0.8) query-then-insert,
candidates kept when the MinHash estimate is at least the threshold, then connected
components. The baseline does no HTML or boilerplate cleaning and writes nothing,
so the comparison favours it.

The machine's load average is printed before and after: on a shared machine both
sides get a share of the cores, not the cores, so the ratio moves with the load
(the job uses two cores only when they are free).

Truth is the exact Jaccard similarity of the shingle sets of the documents'
fingerprints (after the job's own text cleaning): two documents belong to one
story when a chain of pairs with Jaccard ≥ threshold joins them. Within a family
(an article and its reprints) every pair is checked exactly; unrelated documents
are far below the threshold by construction, and any predicted pair across
families is checked exactly too. Precision and recall are over same-story pairs.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import random
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cleaning import minhash
from cleaning.graph import connected_components
from cleaning.job import build_spark, run_clean
from cleaning.results import read_clean_documents
from cleaning.text import clean_article

ZH_ALPHABET = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所"
    "民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日"
    "那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想"
    "已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指"
)
EN_LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
EN_WEIGHTS = (12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0,
              0.8, 0.2, 0.2, 0.1, 0.1)  # fmt: skip
ZH_BOILERPLATE = ("责任编辑：", "来源：", "原标题：", "点击分享到微信")
EN_BOILERPLATE_SPACING = ("\n\n", "\n \n", "\n")


class Writer:
    """Random articles in one language; word ranks follow a Zipf law (exponent 0.8)."""

    def __init__(self, rng: random.Random, language: str, size: int = 6000) -> None:
        self.rng, self.language = rng, language
        if language == "zh":
            self.vocabulary = ["".join(rng.choices(ZH_ALPHABET, k=rng.choice((2, 2, 2, 3, 4)))) for _ in range(size)]
            self.alphabet = ZH_ALPHABET
        else:
            self.vocabulary = [
                "".join(rng.choices(EN_LETTERS, EN_WEIGHTS, k=rng.choice((2, 3, 4, 5, 6, 7, 8)))) for _ in range(size)
            ]
            self.alphabet = EN_LETTERS
        self.cum_weights = list(itertools.accumulate(1 / rank**0.8 for rank in range(1, size + 1)))

    def sentence(self) -> str:
        words = self.rng.choices(self.vocabulary, cum_weights=self.cum_weights, k=self.rng.randint(6, 14))
        if self.language == "zh":
            return "".join(words) + self.rng.choice("。，；")
        return " ".join(words).capitalize() + self.rng.choice(".,;")

    def article(self) -> str:
        sentences = [self.sentence() for _ in range(max(4, int(self.rng.lognormvariate(3.0, 0.5))))]
        per_line = self.rng.randint(2, 5)
        return "\n".join(
            ("" if self.language == "zh" else " ").join(sentences[i : i + per_line])
            for i in range(0, len(sentences), per_line)
        )

    def exact_copy(self, text: str) -> str:
        """The same text as cleaning sees it: a boilerplate line or different line breaks added."""
        if self.language == "zh":
            label = self.rng.choice(ZH_BOILERPLATE)
            return f"{text}\n{label}{self.rng.choice(self.vocabulary)}"
        return text.replace("\n", self.rng.choice(EN_BOILERPLATE_SPACING)) + "\n"

    def near_copy(self, text: str, share: float) -> str:
        """``share`` of the characters substituted, inserted or deleted at random places."""
        chars = list(text)
        for _ in range(max(1, round(share * len(chars)))):
            at = self.rng.randrange(len(chars))
            if chars[at] == "\n":
                continue
            operation = self.rng.random()
            if operation < 0.6:
                chars[at] = self.rng.choice(self.alphabet)
            elif operation < 0.8:
                chars.insert(at, self.rng.choice(self.alphabet))
            elif len(chars) > 1:
                del chars[at]
        return "".join(chars)


Row = tuple[str, str, datetime]


def make_corpus(
    n: int, exact: float, near: float, en_share: float, seed: int
) -> tuple[list[Row], dict[str, str], dict[str, str]]:
    """Rows (id, text, published_at), each document's family (its original's id) and kind (original|exact|near)."""
    rng = random.Random(seed)
    writers = {"zh": Writer(rng, "zh"), "en": Writer(rng, "en")}
    start = datetime(2026, 11, 1, tzinfo=UTC)
    originals: list[tuple[str, str, str, datetime]] = []
    rows: list[Row] = []
    family: dict[str, str] = {}
    kind: dict[str, str] = {}
    n_exact, n_near = round(n * exact), round(n * near)
    for i in range(n - n_exact - n_near):
        language = "en" if rng.random() < en_share else "zh"
        doc_id = f"d{i:07d}"
        published = start + timedelta(minutes=rng.randrange(60 * 24 * 20))
        text = writers[language].article()
        originals.append((doc_id, language, text, published))
        rows.append((doc_id, text, published))
        family[doc_id], kind[doc_id] = doc_id, "original"
    for copy_kind, count in (("exact", n_exact), ("near", n_near)):
        for i in range(count):
            base_id, language, text, published = rng.choice(originals)
            writer = writers[language]
            share = rng.uniform(0.002, 0.05)
            copied = writer.exact_copy(text) if copy_kind == "exact" else writer.near_copy(text, share)
            copy_id = f"{base_id}-{copy_kind}{i}"
            rows.append((copy_id, copied, published + timedelta(minutes=rng.randint(10, 48 * 60))))
            family[copy_id], kind[copy_id] = base_id, copy_kind
    rng.shuffle(rows)
    return rows, family, kind


# --- Truth -------------------------------------------------------------------


def fingerprint(text: str) -> str:
    """As the job's ``fingerprint_text``: lower case, without whitespace, punctuation (P*) or symbols (S*)."""
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PS").lower()


def same_story_pairs(story_of: dict[str, str]) -> set[tuple[str, str]]:
    stories: dict[str, list[str]] = {}
    for doc_id, story in story_of.items():
        stories.setdefault(story, []).append(doc_id)
    groups = (sorted(members) for members in stories.values() if len(members) > 1)
    return {pair for members in groups for pair in itertools.combinations(members, 2)}


def truth_edges(fingerprints: dict[str, str], family: dict[str, str], threshold: float) -> set[tuple[str, str]]:
    """Pairs within a family whose shingle sets have exact Jaccard ≥ threshold."""
    members: dict[str, list[str]] = {}
    for doc_id in sorted(fingerprints):
        members.setdefault(family[doc_id], []).append(doc_id)
    shingles = {doc_id: minhash.shingle_set(fp) for doc_id, fp in fingerprints.items()}
    edges = set()
    for group in members.values():
        for a, b in itertools.combinations(group, 2):
            if _jaccard(shingles[a], shingles[b]) >= threshold:
                edges.add((a, b))
    return edges


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def score(
    predicted: set[tuple[str, str]], edges: set[tuple[str, str]], fingerprints: dict[str, str], family: dict[str, str],
    threshold: float,
) -> tuple[float, float, int]:  # fmt: skip
    """(precision, recall, predicted pairs across families that are truly similar) over same-story pairs."""
    across = [(a, b) for a, b in predicted if family[a] != family[b]]
    similar_across = {
        (a, b) for a, b in across
        if minhash.text_jaccard(fingerprints[a], fingerprints[b]) >= threshold
    }  # fmt: skip
    truth = same_story_pairs(connected_components(edges | similar_across))
    # Documents in no true pair are their own story; connected_components only labels nodes with edges.
    hit = len(predicted & truth)
    return hit / max(len(predicted), 1), hit / max(len(truth), 1), len(similar_across)


# --- The job -----------------------------------------------------------------


def write_store(root: Path, rows: list[Row]) -> str:
    from yuqing.contracts import RawDocument
    from yuqing.storage import LocalStore

    store = LocalStore(root)
    crawled = datetime(2026, 11, 21, tzinfo=UTC)
    lines = [
        RawDocument(
            id=doc_id, url=f"https://x.example/{doc_id}", canonical_url=f"https://x.example/{doc_id}",
            source="bench", title=doc_id, text=text, published_at=published, crawled_at=crawled,
        ).model_dump_json()
        for doc_id, text, published in rows
    ]  # fmt: skip
    store.put_bytes("raw/docs/date=2026-11-21/bench.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    return store.uri()


def run_job(spark, rows: list[Row], threshold: float) -> tuple[float, dict[str, str], object]:
    with tempfile.TemporaryDirectory() as folder:
        uri = write_store(Path(folder), rows)
        report = run_clean(spark, uri, uri, threshold=threshold, run_id="bench")
        story_of = {d.id: d.story_id for d in read_clean_documents(uri + "/clean")}
    return report.seconds, story_of, report


# --- The baseline ------------------------------------------------------------


def run_datasketch(
    rows: list[Row], threshold: float, num_perm: int = minhash.DEFAULT_NUM_PERM
) -> tuple[float, dict[str, str]]:
    """datasketch in one process: exact groups by fingerprint, MinHashLSH over their representatives."""
    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    by_fingerprint: dict[str, list[tuple[datetime, str]]] = {}
    for doc_id, text, published in rows:
        by_fingerprint.setdefault(fingerprint(text), []).append((published, doc_id))
    keys = [fp for fp in by_fingerprint if len(fp) >= minhash.SHINGLE_CHARS]
    shingled = ([s.encode("utf-8") for s in minhash.shingle_set(fp)] for fp in keys)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    signatures: dict[str, MinHash] = {}
    edges: list[tuple[str, str]] = []
    for key, signature in zip(keys, MinHash.generator(shingled, num_perm=num_perm), strict=True):
        for other in lsh.query(signature):
            if signature.jaccard(signatures[other]) >= threshold:
                edges.append((key, other))
        lsh.insert(key, signature)
        signatures[key] = signature
    groups = connected_components(edges)
    story_of: dict[str, str] = {}
    members: dict[str, list[tuple[datetime, str]]] = {}
    for fp, docs in by_fingerprint.items():
        members.setdefault(groups.get(fp, fp), []).extend(docs)
    for docs in members.values():
        canonical = min(docs)[1]
        story_of.update((doc_id, canonical) for _, doc_id in docs)
    return time.perf_counter() - started, story_of


def _print_row(label: str, seconds: float, n: int, precision: float, recall: float) -> None:
    sys.stdout.write(
        f"{label:<28}{seconds:>8.1f} s {n / seconds:>9,.0f} docs/s   precision {precision:.4f}   recall {recall:.4f}\n"
    )


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--exact", type=float, default=0.1, help="share of documents that are exact reprints")
    parser.add_argument("--near", type=float, default=0.1, help="share of documents that are edited reprints")
    parser.add_argument("--en-share", type=float, default=0.3, help="share of originals written in English")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-baseline", action="store_true", help="skip the datasketch baseline")
    args = parser.parse_args(list(argv) if argv is not None else None)

    logging.basicConfig(level=logging.WARNING)
    out = sys.stdout.write
    out(f"load        {_load()} before\n")
    t0 = time.perf_counter()
    rows, family, kind = make_corpus(args.docs, args.exact, args.near, args.en_share, args.seed)
    fingerprints = {doc_id: fingerprint(clean_article(text)) for doc_id, text, _ in rows}
    edges = truth_edges(fingerprints, family, args.threshold)
    near_edges = [(a, b) for a, b in edges if "near" in kind[a] or "near" in kind[b]]
    mean_chars = sum(len(text) for _, text, _ in rows) / len(rows)
    out(f"corpus      {len(rows):,} documents (mean {mean_chars:.0f} chars), generated with truth in "
        f"{time.perf_counter() - t0:.1f} s\n")  # fmt: skip
    out(f"truth       {len(edges):,} pairs with exact Jaccard ≥ {args.threshold} within families "
        f"({len(near_edges):,} involving an edited reprint; "
        f"{sum(1 for k in kind.values() if k == 'near'):,} edited reprints in all)\n")  # fmt: skip

    spark = build_spark(args.master, app_name="bench-cleaning", extra_conf={"spark.driver.memory": args.driver_memory})
    try:
        seconds, story_of, report = run_job(spark, rows, args.threshold)
    finally:
        spark.stop()
    precision, recall, across = score(same_story_pairs(story_of), edges, fingerprints, family, args.threshold)
    out(f"clean job   {report.lsh_bands} bands x {report.lsh_rows} rows; {report.exact_duplicates:,} exact and "
        f"{report.near_duplicates:,} near duplicates in {report.clusters:,} stories; {across} similar pairs across "
        f"families\n")  # fmt: skip
    _print_row(f"run_clean ({args.master})", seconds, len(rows), precision, recall)
    if args.no_baseline:
        return
    base_seconds, base_story_of = run_datasketch(rows, args.threshold)
    base_precision, base_recall, _ = score(
        same_story_pairs(base_story_of), edges, fingerprints, family, args.threshold
    )
    _print_row("datasketch (1 process)", base_seconds, len(rows), base_precision, base_recall)
    out(f"ratio       run_clean is {base_seconds / seconds:.2f}x the datasketch baseline's docs/s\n")
    out(f"load        {_load()} after\n")


def _load() -> str:
    """The 1, 5 and 15-minute load averages and the number of CPUs, as ``uptime`` shows them."""
    return "average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


if __name__ == "__main__":
    main()
