"""Text cleaning, one string at a time (no Spark)."""

from __future__ import annotations

import pytest

from cleaning.text import (
    TRANSCRIPT_HEADER,
    clean_article,
    clean_line_text,
    content_hash,
    fingerprint,
    is_boilerplate,
    normalise_unicode,
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
