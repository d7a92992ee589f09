"""Text cleaning, one string at a time (no Spark)."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

import pytest

from cleaning.text import (
    TRANSCRIPT_HEADER,
    TRANSCRIPT_MARKER,
    clean_article,
    clean_line_text,
    content_hash,
    fingerprint,
    is_boilerplate,
    language_and_quality,
    language_of,
    normalise_line,
    normalise_unicode,
    quality_issues,
    split_lines,
    squeeze,
    strip_html,
    with_transcripts,
)


def test_strip_html_drops_tags_scripts_and_comments_and_keeps_paragraphs():
    html = "<div><p>第一段&nbsp;内容</p><script>var a = '<p>x</p>';</script><!-- 广告 --><p>第二段 &amp; <b>加粗</b></p></div>"
    assert split_lines(strip_html(html)) == ["第一段内容", "第二段 & 加粗"]


def test_strip_html_leaves_comparisons_alone():
    assert strip_html("若 a < b 且 b > c") == "若 a < b 且 b > c"


def test_nfkc_folds_full_width_latin_and_digits_but_keeps_chinese_punctuation():
    assert normalise_unicode("ＡＢＣ１２３，ｉＰｈｏｎｅ：好！（注）……\u3000完") == "ABC123，iPhone：好！（注）…… 完"


def test_lines_lose_invisible_characters_odd_spaces_and_empty_lines():
    text = "  第一\u200b段 \t 内容 \r\n\r\n\n  第二段\u00a0end  \n \n"
    assert split_lines(normalise_unicode(text)) == ["第一段内容", "第二段 end"]


def test_a_space_between_chinese_characters_is_removed_but_not_between_words():
    assert split_lines("上海 地铁 Line 18 开通， 首班车 6 点") == ["上海地铁 Line 18 开通，首班车 6 点"]


@pytest.mark.parametrize(
    "line",
    [
        "责任编辑：王小明",
        "（责任编辑：张三）",
        "编辑:李四",
        "来源：东方日报",
        "原标题：上海地铁十八号线二期开工",
        "【版权声明】本文版权归原作者所有，未经授权禁止转载。",
        "免责声明：本文仅代表作者本人观点。",
        "点击分享到微信",
        "扫一扫，分享到朋友圈",
        "分享到：",
        "未经授权，禁止转载",
    ],
)
def test_portal_boilerplate_lines_are_recognised(line):
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "点击量突破一亿次，创下新纪录。",
        "声明指出，双方将加强合作。",
        "记者：您如何看待这次调整？",
        "来源：据新华社报道，" + "这是一段很长的正文内容" * 10,
        "上海地铁十八号线二期工程今天正式开工建设。",
    ],
)
def test_article_lines_that_look_like_boilerplate_are_kept(line):
    assert not is_boilerplate(line)


def test_clean_article_converts_traditional_after_which_boilerplate_is_found():
    text = "<p>臺北市政府今日宣佈擴大服務。</p>\n責任編輯：張三\n點擊分享到微信"
    assert clean_article(text) == "台北市政府今日宣布扩大服务。"


def test_clean_article_handles_empty_and_missing_text():
    assert clean_article("") == "" and clean_article(None) == ""
    assert clean_article("<p> </p>\n责任编辑：王五") == ""


def test_clean_line_text_keeps_lines_that_look_like_boilerplate():
    # Transcripts are speech: a speaker saying "来源：" is content, not furniture.
    assert clean_line_text("來源：現場\n說話內容") == "来源：现场\n说话内容"


def test_squeeze_drops_whitespace_punctuation_and_symbols_of_every_plane():
    assert squeeze("上海，地铁 Line-18!\t😀 ©2026") == "上海地铁line182026"


def test_fingerprint_is_the_article_part_unless_the_page_is_only_transcripts():
    page = with_transcripts("正文，第一段。", ["讲话一", "讲话二"])
    assert page == "正文，第一段。" + TRANSCRIPT_HEADER + "讲话一" + TRANSCRIPT_HEADER + "讲话二"
    assert fingerprint(page) == "正文第一段"
    only_video = with_transcripts("", ["讲话一"])
    assert only_video == "【音频转写】\n讲话一" and fingerprint(only_video) == "音频转写讲话一"
    assert content_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# --- The fast paths give what the plain definitions give ------------------------------------------

# Characters each step treats specially: every kind of whitespace and line break, invisible ones, CJK and
# full-width forms, kana, Traditional characters, symbols of other planes, the transcript marker, a lone surrogate.
_TRICKY = (
    "上海 地铁\u3000 Line 18 开通， 首班车 6 点 \t\r\n\x0b\x0c\x85\u2028\u2029\u200b\u00ad\xa0\x1c，：；！？（）…～"
    "臺北責任編輯：來源ＡＢＣ１２３😀©ｉＰｈｏｎｅ かな カナ\ufeff\U00020001\u2e80<p>&amp;</p>\n\n 原标题：点击分享到微信\ud800"
) + TRANSCRIPT_MARKER


def _samples(count: int = 3000) -> list[str]:
    rng = random.Random(5)
    return ["".join(rng.choice(_TRICKY) for _ in range(rng.randint(0, 60))) for _ in range(count)]


def _plain_squeeze(text: str) -> str:
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PS" and c not in " \t\n\x0b\x0c\r").lower()


def _plain_language(text: str) -> str:
    letters = sum(c.isalpha() for c in text)
    han = len(re.findall("[\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                         "\U00020000-\U0003134f]", text))  # fmt: skip
    kana_class = "[\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fd-\u30ff\u31f0-\u31ff\uff66-\uff6f\uff71-\uff9d]"
    kana = len(re.findall(kana_class, text))
    if letters == 0:
        return "other"
    if han >= 0.3 * letters and kana < 0.1 * letters:
        return "zh"
    return "en" if len(re.findall("[A-Za-z]", text)) >= 0.7 * letters else "other"


def _plain_quality(text: str, min_chars: int) -> list[str]:
    visible = re.sub(f"{TRANSCRIPT_MARKER}|[ \t\n\x0b\x0c\r]", "", text)
    issues = ["too_short"] if len(visible) < min_chars else []
    if visible and sum(c.isalpha() for c in visible) < 0.5 * len(visible):
        issues.append("mostly_non_text")
    return issues


def test_squeeze_language_and_quality_count_characters_as_their_plain_definitions_do():
    for text in _samples():
        assert squeeze(text) == _plain_squeeze(text), repr(text)
        assert language_of(text) == _plain_language(text), repr(text)
        assert quality_issues(text, 10) == _plain_quality(text, 10), repr(text)
        assert language_and_quality(text, 10) == (language_of(text), quality_issues(text, 10))


def test_squeeze_drops_punctuation_and_symbols_of_every_plane_like_unicodedata():
    every_97th = "".join(chr(p) for p in range(0, sys.maxunicode + 1, 97))
    assert squeeze(every_97th) == _plain_squeeze(every_97th)


def test_whole_text_line_splitting_equals_normalising_each_line():
    for text in _samples():
        lines = (normalise_line(line) for line in re.sub(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]", "\n", text).split("\n"))
        assert split_lines(text) == [line for line in lines if line], repr(text)


def test_nfkc_keeps_chinese_punctuation_whatever_else_the_text_holds():
    for text in _samples():
        parked = text
        for i, mark in enumerate("，：；！？（）…～"):
            parked = parked.replace(mark, chr(0xF0000 + i))
        expected = unicodedata.normalize("NFKC", parked)
        for i, mark in enumerate("，：；！？（）…～"):
            expected = expected.replace(chr(0xF0000 + i), mark)
        assert normalise_unicode(text) == expected, repr(text)
