"""Text cleaning for one string at a time: pure Python, no Spark, so it is cheap to test.

``clean_article`` is what the Spark job applies (inside a pandas UDF) to every
document body; ``clean_line_text`` to titles and transcripts. The steps, in order:

1. HTML remnants: ``<script>``/``<style>`` blocks, comments and tags are removed
   (block tags become line breaks), then entities are unescaped.
2. Unicode NFKC, so full-width Latin letters and digits (``ＡＢＣ１２３``) and odd
   spaces become their ordinary forms; Chinese punctuation that NFKC would turn
   into ASCII (``，：；！？（）…～``) is kept as it is written, because readers
   and the analysis stage expect Chinese typography.
3. Traditional → Simplified with native OpenCC (``t2s``), before boilerplate
   matching so that ``責任編輯：`` is recognised as ``责任编辑：``.
4. Per line: invisible characters dropped, runs of spaces collapsed, a space
   between two Chinese characters or punctuation marks (a layout artefact; Chinese
   puts no spaces between words) removed, the line stripped.
5. Portal boilerplate lines dropped (``is_boilerplate``); empty lines dropped,
   so paragraphs end up separated by exactly one ``\\n``.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import sys
import unicodedata
from collections.abc import Sequence
from typing import Protocol

# --- HTML remnants -----------------------------------------------------------

_SCRIPT_OR_STYLE = re.compile(r"<(script|style|noscript)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# Tags that end a paragraph: replaced by a line break so paragraphs survive.
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|table|section|article|blockquote|pre)\b[^<>]*>", re.IGNORECASE
)
# Anything else that looks like a tag (a letter right after '<' or '</'); '1 < 2' is left alone.
_ANY_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")


def strip_html(text: str) -> str:
    """Remove HTML left over from extraction, keeping paragraph breaks."""
    text = _SCRIPT_OR_STYLE.sub("", text)
    text = _COMMENT.sub("", text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _ANY_TAG.sub("", text)
    return html.unescape(text)


# --- Unicode -----------------------------------------------------------------

# Chinese punctuation that NFKC would rewrite as ASCII. Each is parked on a code point
# in Supplementary Private Use Area-A (untouched by NFKC, never seen in news text) and put back.
_KEEP_AS_WRITTEN = "，：；！？（）…～"
_PARK = str.maketrans({c: chr(0xF0000 + i) for i, c in enumerate(_KEEP_AS_WRITTEN)})
_UNPARK = str.maketrans({chr(0xF0000 + i): c for i, c in enumerate(_KEEP_AS_WRITTEN)})


def normalise_unicode(text: str) -> str:
    """NFKC, except for the Chinese punctuation in ``_KEEP_AS_WRITTEN``."""
    return unicodedata.normalize("NFKC", text.translate(_PARK)).translate(_UNPARK)


# --- Whitespace --------------------------------------------------------------

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[^\S\n]+")  # whitespace other than the line break
# Han ideographs, CJK punctuation (、。「」【】) and full-width forms (，！（）).
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")


def normalise_line(line: str) -> str:
    line = _INVISIBLE.sub("", line)
    line = _SPACES.sub(" ", line).strip()
    return _SPACE_BETWEEN_CJK.sub("", line)


def split_lines(text: str) -> list[str]:
    """Normalised, non-empty lines."""
    lines = (normalise_line(line) for line in _LINE_BREAKS.sub("\n", text).split("\n"))
    return [line for line in lines if line]


# --- Boilerplate -------------------------------------------------------------

_OPEN = r"^[\[【（(]?\s*"
_COLON = r"\s*[:：]"
_CLOSE_OR_COLON = r"(?:\s*[\]】）)]|\s*[:：])"
# Label lines ("责任编辑：张三", "（来源：新华社）"). Only short lines are dropped, so a
# paragraph that happens to start with "来源：" survives. "记者：" is not here: interviews use it.
_LABEL_LINE = re.compile(
    _OPEN
    + r"(?:责任编辑|编辑|校对|审核|审校|监制|来源|本文来源|稿件来源|原标题|作者|图片来源|图源|原文链接|本文链接)"
    + _COLON
)
_LABEL_LINE_MAX_CHARS = 80
# Notices, whatever their length ("【版权声明】本文为……未经授权禁止转载").
_NOTICE_LINE = re.compile(
    _OPEN + r"(?:版权声明|免责声明|声明)" + _CLOSE_OR_COLON
    + r"|^(?:未经授权|未经许可)[^。]{0,20}(?:禁止|不得)转载"
    + r"|^转载请注明"
)
# Share buttons and navigation: short lines only ("点击量创新高" is news, "点击分享到微信" is not).
_WIDGET_LINE = re.compile(
    r"^[\[【]?(?:点击(?:分享|查看|阅读|进入|关注|下载|播放|收听|观看|这里|此处|图片)|扫一扫|扫描二维码|长按二维码|长按识别"
    r"|分享到|分享至|关注我们|返回顶部|返回首页|打印本页|关闭窗口|我要纠错|纠错)"
    r"|^(?:上一篇|下一篇|相关阅读|相关新闻|相关推荐|热门推荐)\s*[:：]?"
)
_WIDGET_LINE_MAX_CHARS = 40


def is_boilerplate(line: str) -> bool:
    """Whether ``line`` (already normalised) is portal furniture rather than article text."""
    if _NOTICE_LINE.search(line):
        return True
    if len(line) <= _WIDGET_LINE_MAX_CHARS and _WIDGET_LINE.search(line):
        return True
    return len(line) <= _LABEL_LINE_MAX_CHARS and _LABEL_LINE.search(line) is not None


# --- Traditional → Simplified ------------------------------------------------


class Converter(Protocol):
    def convert(self, text: str) -> str: ...


@functools.lru_cache(maxsize=1)
def traditional_to_simplified() -> Converter:
    """The OpenCC t2s converter, built once per process (a Spark Python worker is reused across tasks)."""
    import opencc

    return opencc.OpenCC("t2s.json")


# --- Whole documents ---------------------------------------------------------


def clean_article(text: str | None, converter: Converter | None = None) -> str:
    """Article text: HTML, Unicode, Traditional, whitespace and boilerplate handled (see module doc)."""
    if not text:
        return ""
    converter = converter or traditional_to_simplified()
    text = converter.convert(normalise_unicode(strip_html(text)))
    return "\n".join(line for line in split_lines(text) if not is_boilerplate(line))


def clean_line_text(text: str | None, converter: Converter | None = None) -> str:
    """Titles and transcripts: like ``clean_article`` without boilerplate removal, lines kept."""
    if not text:
        return ""
    converter = converter or traditional_to_simplified()
    return "\n".join(split_lines(converter.convert(normalise_unicode(strip_html(text)))))


# --- What the job measures on a cleaned document --------------------------------
# Python versions of what were Spark SQL expressions, so that one pass per document
# (``cleaning.transforms.clean_documents``) cleans, measures and fingerprints it.

TRANSCRIPT_MARKER = "【音频转写】"
# Put before each transcript appended to a document's text.
TRANSCRIPT_HEADER = f"\n\n{TRANSCRIPT_MARKER}\n"

QUALITY_TOO_SHORT = "too_short"
QUALITY_MOSTLY_NON_TEXT = "mostly_non_text"
QUALITY_ISSUES = (QUALITY_TOO_SHORT, QUALITY_MOSTLY_NON_TEXT)
# Below this share of letters among visible characters a text is mostly numbers, symbols or URLs.
MIN_LETTER_SHARE = 0.5

# Unicode scripts by code point ranges (Han also covers 々〇 and the radicals; kana the half-width forms).
_HAN = re.compile(
    "[\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0003134f]"
)
_KANA = re.compile("[\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fd-\u30ff\u31f0-\u31ff\uff66-\uff6f\uff71-\uff9d]")
_LATIN = re.compile("[A-Za-z]")
# What quality ignores: the transcript marker and whitespace (the ASCII kind; NFKC turned the rest into it).
_NOT_VISIBLE = re.compile(f"{TRANSCRIPT_MARKER}|[ \t\n\x0b\x0c\r]")


def with_transcripts(article: str, transcripts: Sequence[str]) -> str:
    """The article, then each transcript after a ``【音频转写】`` marker line; no leading blank lines."""
    return (article + "".join(TRANSCRIPT_HEADER + t for t in transcripts)).lstrip("\n")


def _count(pattern: re.Pattern[str], text: str) -> int:
    return len(text) - len(pattern.sub("", text))


def _letters(text: str) -> int:
    return sum(map(str.isalpha, text))


def language_of(text: str) -> str:
    """zh | en | other, from the script of the letters (a heuristic, good enough for routing).

    Among letters (Unicode category L): zh when at least 30% are Han and under 10%
    kana (Japanese also uses Han); en when at least 70% are ASCII Latin; otherwise,
    and for texts without letters, other. Han counts for more than its share of
    characters because one Han character carries about a word, so Chinese articles
    with English product names stay zh.
    """
    letters = _letters(text)
    if letters == 0:
        return "other"
    if _count(_HAN, text) >= 0.3 * letters and _count(_KANA, text) < 0.1 * letters:
        return "zh"
    return "en" if _count(_LATIN, text) >= 0.7 * letters else "other"


def quality_issues(text: str, min_text_chars: int) -> list[str]:
    """Why a document is weak (too_short, mostly_non_text), counting article and transcripts together.

    Characters are counted without whitespace and without the transcript marker (a
    video page with a one-line caption and a long transcript is not short).
    """
    visible = _NOT_VISIBLE.sub("", text)
    issues = []
    if len(visible) < min_text_chars:
        issues.append(QUALITY_TOO_SHORT)
    if visible and _letters(visible) < MIN_LETTER_SHARE * len(visible):
        issues.append(QUALITY_MOSTLY_NON_TEXT)
    return issues


@functools.lru_cache(maxsize=1)
def _squeezed_out() -> dict[int, None]:
    """Whitespace, punctuation (P*) and symbols (S*): every such code point, as a ``str.translate`` table.

    A translate table rather than one regex character class: with thousands of ranges
    (many above the BMP) the class made every character of a text a slow lookup.
    """
    return dict.fromkeys(
        point
        for point in range(sys.maxunicode + 1)
        if unicodedata.category(chr(point))[0] in "PS" or chr(point) in " \t\n\x0b\x0c\r"
    )


def squeeze(text: str) -> str:
    """Lower-cased, without whitespace, punctuation or symbols."""
    return text.translate(_squeezed_out()).lower()


def fingerprint(text: str) -> str:
    """What duplicates are judged on: the article part (before the first transcript marker), squeezed.

    Two different articles embedding the same clip are not duplicates; a page that is
    only a transcript falls back to its whole text.
    """
    return squeeze(text.split(TRANSCRIPT_HEADER, 1)[0]) or squeeze(text)


def content_hash(fingerprint_text: str) -> str:
    """sha256 (hex) of a fingerprint's UTF-8 bytes: what exact duplicates share."""
    return hashlib.sha256(fingerprint_text.encode("utf-8")).hexdigest()
