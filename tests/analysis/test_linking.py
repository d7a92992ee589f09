import pytest

from analysis.linking import EntityLinker, new_entity_id
from yuqing.settings import WatchEntity

WATCH = [
    WatchEntity(id="alibaba", name="阿里巴巴", aliases=["阿里", "Alibaba", "阿里云"]),
    WatchEntity(id="apple", name="苹果公司", aliases=["苹果", "Apple", "Apple Inc"], ambiguous=True),
    WatchEntity(id="lanhai", name="蓝海航空", aliases=["蓝海", "Lanhai"], ambiguous=True),
    WatchEntity(id="xingchen", name="星辰科技", aliases=["星辰", "星辰云"], ambiguous=True),
    WatchEntity(id="han", name="韩启明", type="PER"),
]


@pytest.fixture(scope="module")
def linker():
    return EntityLinker(WATCH)


def ids(mentions):
    return [m.entity_id for m in mentions]


def test_aliases_of_one_entity_link_to_one_id_with_offsets(linker):
    text = "阿里巴巴旗下的阿里云宣布降价；Alibaba 股价随之上涨，阿里内部人士表示欢迎。"
    found = linker.find(text)
    assert [m.text for m in found] == ["阿里巴巴", "阿里云", "Alibaba", "阿里"]
    assert set(ids(found)) == {"alibaba"}
    assert all(text[m.start : m.end] == m.text for m in found)
    assert all(m.type == "ORG" for m in found)


@pytest.mark.parametrize(
    "mention",
    [
        "阿里",
        "阿里巴巴",
        "Alibaba",
        "阿里云",
        "ALIBABA",
        "ａｌｉｂａｂａ",
        "阿里巴巴集团",
        "Alibaba Group Holding Ltd.",
    ],
)
def test_link_normalises_aliases_case_width_and_legal_suffixes(linker, mention):
    assert linker.link(mention, "") == "alibaba"


def test_link_returns_none_for_names_not_on_the_watchlist(linker):
    assert linker.link("腾讯", "腾讯发布财报。") is None
    assert linker.link("", "") is None


def test_find_matches_width_and_case_variants_in_the_text(linker):
    text = "ＡＬＩＢＡＢＡ与alibaba是同一家公司。"
    found = linker.find(text)
    assert ids(found) == ["alibaba", "alibaba"]
    assert [m.text for m in found] == ["ＡＬＩＢＡＢＡ", "alibaba"]  # the original characters, not the folded ones


@pytest.mark.parametrize(
    "text",
    [
        "今年山东苹果丰收，果农收入增长。",
        "超市里的苹果每斤涨了两元，红富士最受欢迎。",
        "An apple a day keeps the doctor away.",
        "苹果价格上涨。",  # no context either way: an ambiguous alias is not linked on a guess
    ],
)
def test_apple_the_fruit_is_not_the_company(linker, text):
    assert "apple" not in ids(linker.find(text))
    assert linker.link("苹果", text) is None


@pytest.mark.parametrize(
    "text",
    [
        "苹果发布新款iPhone，股价随之上涨。",
        "苹果公司发布财报，苹果营收增长。",
        "据报道，苹果CEO将于下月访华。",
        "Apple Inc reported record revenue; Apple shares rose.",
        "Apple shares rose after the iPhone launch.",
    ],
)
def test_apple_the_company_is_linked_by_context_or_its_full_name(linker, text):
    found = linker.find(text)
    assert found and set(ids(found)) == {"apple"}
    assert linker.link("苹果", text) == "apple"


def test_one_confirming_form_confirms_every_mention_in_the_document(linker):
    text = "苹果公司今天开了发布会。会后，苹果的一位发言人接受了采访。"
    assert [m.text for m in linker.find(text)] == ["苹果公司", "苹果"]


def test_common_words_that_contain_an_alias_are_not_the_company(linker):
    assert not linker.find("低温鲜奶市场仍是一片蓝海，多家公司加大投入。")
    assert not linker.find("我们的征途是星辰大海。")
    assert ids(linker.find("星辰云发生宕机，星辰随后致歉。")) == ["xingchen", "xingchen"]
    assert ids(linker.find("蓝海宣布新开三条航线。")) == ["lanhai"]


def test_latin_aliases_match_whole_words_only(linker):
    assert not linker.find("Applebee's opened a new restaurant; pineapple prices fell.")
    assert ids(linker.find("Apple发布了新手机，Apple股价上涨。")) == ["apple", "apple"]


def test_person_on_the_watchlist(linker):
    found = linker.find("韩启明出席了发布会。")
    assert [(m.text, m.type, m.entity_id) for m in found] == [("韩启明", "PER", "han")]


def test_new_entity_ids_are_stable_across_spellings():
    assert new_entity_id("青禾乳业股份有限公司", "ORG") == new_entity_id("青禾乳业", "ORG") == "new:org:青禾乳业"
    assert new_entity_id("Foo Bar Inc.", "ORG") == new_entity_id("ＦＯＯ  bar", "ORG") == "new:org:foo-bar"
    assert new_entity_id("王立新", "PER") == "new:per:王立新"
    assert new_entity_id("王立新", "PER") != new_entity_id("王立新", "ORG")


def test_an_empty_watchlist_finds_nothing():
    empty = EntityLinker([])
    assert empty.find("阿里巴巴发布财报。") == []
    assert empty.link("阿里巴巴", "") is None
