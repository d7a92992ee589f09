"""Offline analyzer throughput, as a ratio to bare jieba tokenisation measured in the same run.

    python bench/bench_analysis.py [--docs 500]
"""

from __future__ import annotations

import argparse
import random
import time

import jieba

from analysis.offline import OfflineAnalyzer
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
NAMES = ["星辰科技", "远航汽车", "蓝海航空", "青禾乳业"]


def make_docs(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(SENTENCES).format(a=rng.choice(NAMES)) for _ in range(rng.randint(8, 30))) for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=500)
    args = parser.parse_args()
    docs = make_docs(args.docs)
    chars = sum(map(len, docs))
    analyzer = OfflineAnalyzer([WatchEntity(id=f"e{i}", name=n) for i, n in enumerate(NAMES)])
    analyzer.analyze("warm", "", docs[0])
    jieba.lcut(docs[0])

    t0 = time.perf_counter()
    for doc in docs:
        jieba.lcut(doc)
    tokenise = time.perf_counter() - t0

    t0 = time.perf_counter()
    for i, doc in enumerate(docs):
        analyzer.analyze(str(i), "", doc)
    analyse = time.perf_counter() - t0

    print(f"documents: {len(docs)}, characters: {chars}")
    print(f"offline analyzer: {len(docs) / analyse:.0f} docs/s, {chars / analyse / 1000:.0f} k chars/s")
    print(f"cost relative to one jieba pass over the same text: {analyse / tokenise:.1f}x")


if __name__ == "__main__":
    main()
