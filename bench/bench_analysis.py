"""Offline analyzer throughput, as ratios to a bare jieba pass over the same text, measured in one run.

    python bench/bench_analysis.py [--docs 500]

Two corpora of the same size and shape:
  templated  documents assembled from a few dozen recurring sentences, as wire copy, reprints and
             boilerplate recur in a news stream; the analyzer memoises per sentence, so repeats are cheap
  unique     every sentence different (random figures, dates and company names): no memo hits at all
On the unique corpus the analyzer's two heaviest parts are also timed against what they replaced, taking
turns per document: the entity tagger (compiled Viterbi over the CRF's weights) against CRFsuite's own
tagger fed char_features, and the word segmenter (jieba-rs) against jieba's Tokenizer.cut(HMM=False).
Both pairs give the same output (tests/analysis/test_ner.py, test_offline.py check it).
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections.abc import Callable

import jieba
import pycrfsuite
from rich.progress import track

from analysis.lexicon import load_lexicon
from analysis.ner import MODEL_PATH, EntityTagger, char_features
from analysis.offline import OfflineAnalyzer, extra_words
from analysis.text import WordSegmenter, sentences
from yuqing.settings import WatchEntity

SENTENCES = [
    "{a}三季度净利润同比增长百分之三十，创下历史新高。",
    "因电池存在过热隐患，{a}宣布召回两万台设备。",
    "市场监管部门对{a}处以罚款，消费者投诉不断。",
    "{a}将于下周召开董事会，审议年度预算。",
    "{a}新工厂正式投产，年产能达到三十万辆。",
    "业内人士表示，行业竞争仍然激烈，价格战短期内难以结束。",
    "据统计，今年前十个月全国新能源汽车销量达到一千万辆。",
]
UNIQUE_SENTENCES = [
    "{a}{m}月{d}日公告，三季度净利润同比增长{p}%，营收{n}亿元。",
    "因电池存在过热隐患，{a}宣布召回{n}台设备，涉及{m}月前生产的产品。",
    "{c}市场监管局对{a}处以{n}万元罚款，消费者投诉达{p}起。",
    "{a}将于{m}月{d}日在{c}召开董事会，审议{n}亿元投资预算。",
    "{a}{c}新工厂正式投产，年产能达到{n}万辆，带动就业{p}人。",
    "记者{b}从{c}获悉，{a}与{e}签署合作协议，金额约{n}亿元。",
    "据统计，{m}月全国新能源汽车销量达到{n}万辆，同比增长{p}%。",
]
NAMES = ["星辰科技", "远航汽车", "蓝海航空", "青禾乳业"]
CITIES = ["北京", "上海", "深圳", "合肥", "杭州", "成都", "武汉", "西安"]
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = "明华强军平伟芳娜静敏磊洋"
SYLLABLES = "恒拓鼎泓澜舟禾穗翔鹭北屿云岫明澜安屿华朴青岚嘉和宏远"


def make_docs(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [
        "".join(rng.choice(SENTENCES).format(a=rng.choice(NAMES)) for _ in range(rng.randint(8, 30))) for _ in range(n)
    ]


def make_unique_docs(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)

    def sentence() -> str:
        return rng.choice(UNIQUE_SENTENCES).format(
            a=rng.choice(NAMES),
            b=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            c=rng.choice(CITIES),
            e="".join(rng.sample(SYLLABLES, 2)) + rng.choice(["科技", "材料", "集团", "物流"]),
            m=rng.randint(1, 12),
            d=rng.randint(1, 28),
            n=rng.randint(2, 99999),
            p=rng.randint(1, 999),
        )

    return ["".join(sentence() for _ in range(rng.randint(8, 30))) for _ in range(n)]


def interleaved(label: str, docs: list[str], workers: dict[str, Callable[[str], object]]) -> dict[str, float]:
    """Seconds each worker spends on the corpus, taking turns per document so machine load hits all alike."""
    spent = dict.fromkeys(workers, 0.0)
    for doc in track(docs, description=label, transient=True):
        for name, work in workers.items():
            started = time.perf_counter()
            work(doc)
            spent[name] += time.perf_counter() - started
    return spent


def crfsuite_tagger() -> Callable[[str], object]:
    """The tagger the analyzer used before: CRFsuite, one sentence at a time, features built in Python."""
    tagger = pycrfsuite.Tagger()
    tagger.open(str(MODEL_PATH))
    return lambda doc: [tagger.tag(char_features(s.text)) for s in sentences(doc)]


def jieba_words(watchlist: list[WatchEntity]) -> Callable[[str], object]:
    """The segmentation the analyzer used before: jieba's Python DAG walk with the same extra words."""
    tokenizer = jieba.Tokenizer()
    for word, frequency in extra_words(load_lexicon(), watchlist):
        tokenizer.add_word(word, frequency)
    return lambda doc: [list(tokenizer.cut(s.text, HMM=False)) for s in sentences(doc)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=500, help="documents per corpus (default 500)")
    args = parser.parse_args()
    templated, unique = make_docs(args.docs), make_unique_docs(args.docs)
    watchlist = [WatchEntity(id=f"e{i}", name=n) for i, n in enumerate(NAMES)]
    jieba.setLogLevel(logging.WARNING)
    jieba.lcut(templated[0])

    analyzer = OfflineAnalyzer(watchlist, tagger=EntityTagger())
    templated_s = interleaved(
        "templated corpus", templated, {"jieba": jieba.lcut, "analyzer": lambda d: analyzer.analyze("d", "", d)}
    )
    analyzer = OfflineAnalyzer(watchlist, tagger=EntityTagger())
    segmenter = WordSegmenter(extra_words(load_lexicon(), watchlist))
    unique_s = interleaved(
        "unique corpus", unique, {"jieba": jieba.lcut, "analyzer": lambda d: analyzer.analyze("d", "", d)}
    )
    unique_s |= interleaved(  # a pass of its own: the old parts' big dictionaries would slow the analyzer's turns
        "parts, old and new",
        unique,
        {
            "tagger": EntityTagger().tag,
            "crfsuite": crfsuite_tagger(),
            "segmenter": lambda d: [segmenter.cut(s.text) for s in sentences(d)],
            "jieba words": jieba_words(watchlist),
        },
    )
    jieba_templated, analyse_templated = templated_s["jieba"], templated_s["analyzer"]
    jieba_unique, analyse_unique = unique_s["jieba"], unique_s["analyzer"]

    n = args.docs
    chars_t, chars_u = sum(map(len, templated)), sum(map(len, unique))
    print(f"documents: {n} per corpus; characters: {chars_t} templated, {chars_u} unique")
    print(
        f"analyzer, templated: {n / analyse_templated:.0f} docs/s, {chars_t / analyse_templated / 1000:.0f} k chars/s, "
        f"{analyse_templated / jieba_templated:.2f}x one jieba pass"
    )
    print(
        f"analyzer, unique:    {n / analyse_unique:.0f} docs/s, {chars_u / analyse_unique / 1000:.0f} k chars/s, "
        f"{analyse_unique / jieba_unique:.2f}x one jieba pass"
    )
    for part, before, label in (("tagger", "crfsuite", "CRFsuite's tagger"), ("segmenter", "jieba words", "jieba")):
        seconds = unique_s[part]
        print(
            f"{part:9s} alone, unique: {n / seconds:.0f} docs/s, {unique_s[before] / seconds:.1f}x faster than "
            f"{label} on the same sentences, {seconds / analyse_unique:.0%} of the analyzer's time"
        )


if __name__ == "__main__":
    main()
