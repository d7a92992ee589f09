import pytest

from analysis.offline import OfflineAnalyzer
from yuqing.settings import WatchEntity

WATCH = [
    WatchEntity(id="xingchen", name="星辰科技", aliases=["星辰", "Xingchen Tech"]),
    WatchEntity(id="yuanhang", name="远航汽车", aliases=["远航"]),
    WatchEntity(id="apple", name="苹果公司", aliases=["苹果", "Apple", "Apple Inc"], ambiguous=True),
]


@pytest.fixture(scope="module")
def analyzer():
    return OfflineAnalyzer(WATCH)


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("远航汽车三季度利润创新高", "远航汽车发布财报，三季度净利润同比增长62%，海外订单火爆，产品获得用户好评。", "positive"),
        ("星辰科技被处以罚款", "市场监管部门对星辰科技处以500万元罚款，原因是虚假宣传。消费者投诉不断，公司发表道歉声明。", "negative"),
        ("星辰科技将于下周召开董事会", "星辰科技公告称，公司将于11月20日在深圳召开董事会会议，审议年度预算等议案。", "neutral"),
    ],
)
def test_overall_sentiment(analyzer, title, text, expected):
    assert analyzer.analyze("d", title, text).sentiment == expected


def test_per_target_sentiment_differs_within_one_article(analyzer):
    result = analyzer.analyze(
        "d", "新能源车市场格局生变",
        "因电池存在过热隐患，星辰科技宣布召回两万台设备，消费者投诉不断。与此同时，远航汽车销量大幅增长，创下历史新高。",
    )
    targets = {t.entity_id: t.sentiment for t in result.targets}
    assert targets == {"xingchen": "negative", "yuanhang": "positive"}
    assert result.risk == "high"  # a recall


def test_evidence_offsets_point_into_the_text(analyzer):
    text = "据报道，星辰科技因数据泄露被监管部门立案调查。公司股价当日暴跌。"
    result = analyzer.analyze("d", "", text)
    assert result.sentiment == "negative"
    assert result.evidence, "a negative verdict must come with evidence"
    for quote in result.evidence + [e for t in result.targets for e in t.evidence]:
        assert text[quote.start : quote.end] == quote.quote


def test_negation_flips_polarity(analyzer):
    assert analyzer.analyze("d", "", "远航汽车表示，本次检测没有发现任何质量问题，产品不存在安全隐患。").sentiment != "negative"


def test_aliases_link_to_one_entity_and_entities_have_offsets(analyzer):
    text = "星辰发布新品。Xingchen Tech 的新品获得好评，星辰科技股价上涨。"
    result = analyzer.analyze("d", "", text)
    linked = [m for m in result.entities if m.entity_id == "xingchen"]
    assert {m.text for m in linked} == {"星辰", "Xingchen Tech", "星辰科技"}
    assert all(text[m.start : m.end] == m.text for m in result.entities)
    assert [t.entity_id for t in result.targets] == ["xingchen"]


def test_ambiguous_alias_needs_the_full_name(analyzer):
    fruit = analyzer.analyze("d", "", "今年山东苹果丰收，果农收入增长。")
    assert not fruit.targets
    company = analyzer.analyze("d", "", "苹果公司发布财报，苹果营收增长。")
    assert [t.entity_id for t in company.targets] == ["apple"]
    english = analyzer.analyze("d", "", "Apple Inc reported record revenue; Apple shares rose.")
    assert [t.entity_id for t in english.targets] == ["apple"]
    assert not analyzer.analyze("d", "", "An apple a day keeps the doctor away.").targets


def test_keywords_and_summary(analyzer):
    result = analyzer.analyze("d", "远航汽车新工厂投产", "远航汽车位于合肥的新工厂正式投产，年产能达到30万辆。")
    assert result.summary == "远航汽车新工厂投产"
    assert "工厂" in "".join(result.keywords)


def test_version_changes_when_the_lexicon_changes(analyzer, tmp_path, monkeypatch):
    import shutil

    import analysis.offline as offline

    copy = tmp_path / "lexicon"
    shutil.copytree(offline.LEXICON_DIR, copy)
    monkeypatch.setattr(offline, "LEXICON_DIR", copy)
    before = offline.analyzer_version()
    (copy / "positive.txt").write_text((copy / "positive.txt").read_text() + "新词\n", encoding="utf-8")
    assert offline.analyzer_version() != before
