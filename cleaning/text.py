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

import numpy as np

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
    if "<" not in text and "&" not in text:  # no tag, no entity: nothing to do (most extracted text)
        return text
    text = _SCRIPT_OR_STYLE.sub("", text)
    text = _COMMENT.sub("", text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _ANY_TAG.sub("", text)
    return html.unescape(text)


# --- Unicode -----------------------------------------------------------------

# Chinese punctuation that NFKC would rewrite as ASCII. Each is parked on a code point
# in Supplementary Private Use Area-A (untouched by NFKC, never seen in news text) and put back.
_KEEP_AS_WRITTEN = "，：；！？（）…～"
_PARKED = tuple((c, chr(0xF0000 + i)) for i, c in enumerate(_KEEP_AS_WRITTEN))


def normalise_unicode(text: str) -> str:
    """NFKC, except for the Chinese punctuation in ``_KEEP_AS_WRITTEN``."""
    if text.isascii():  # NFKC leaves ASCII as it is
        return text
    # One str.replace per parked character: each is a C-speed scan, where a translate
    # table costs a dictionary lookup per character of the text.
    for written, parked in _PARKED:
        text = text.replace(written, parked)
    text = unicodedata.normalize("NFKC", text)
    for written, parked in _PARKED:
        text = text.replace(parked, written)
    return text


# --- Whitespace --------------------------------------------------------------

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[^\S\n]+")  # whitespace other than the line break
# Han ideographs, CJK punctuation (、。「」【】) and full-width forms (，！（）).
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
# The space comes first so that the regex engine can jump from space to space; the lookbehind then checks
# the character before it.
_SPACE_BETWEEN_CJK = re.compile(rf" (?<=[{_CJK}] )(?=[{_CJK}])")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")


_ANY_OTHER_LINE_BREAK = re.compile("[\r\u2028\u2029\x0b\x0c\x85]")  # one scan to learn if _LINE_BREAKS has work


def normalise_line(line: str) -> str:
    line = _INVISIBLE.sub("", line)
    line = _SPACES.sub(" ", line).strip()
    return _SPACE_BETWEEN_CJK.sub("", line) if " " in line else line


def split_lines(text: str) -> list[str]:
    """Normalised, non-empty lines: ``normalise_line`` of each line, the same result for less work.

    ``" ".join(line.split())`` is ``_SPACES.sub(" ", line).strip()`` (both split on
    ``str.isspace``) at C speed; the other steps are skipped when they have nothing to
    find (every invisible and CJK character is beyond ASCII).
    """
    if _ANY_OTHER_LINE_BREAK.search(text):
        text = _LINE_BREAKS.sub("\n", text)
    ascii_only = text.isascii()
    if not ascii_only:
        text = _INVISIBLE.sub("", text)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    if not ascii_only:
        lines = [_SPACE_BETWEEN_CJK.sub("", line) if " " in line else line for line in lines]
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
    # Every pattern is anchored at the line's start, so match() (one attempt) finds what search() would.
    if _NOTICE_LINE.match(line):
        return True
    if len(line) <= _WIDGET_LINE_MAX_CHARS and _WIDGET_LINE.match(line):
        return True
    return len(line) <= _LABEL_LINE_MAX_CHARS and _LABEL_LINE.match(line) is not None


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
    text = _to_simplified(normalise_unicode(strip_html(text)), converter)
    return "\n".join(line for line in split_lines(text) if not is_boilerplate(line))


def clean_line_text(text: str | None, converter: Converter | None = None) -> str:
    """Titles and transcripts: like ``clean_article`` without boilerplate removal, lines kept."""
    if not text:
        return ""
    converter = converter or traditional_to_simplified()
    return "\n".join(split_lines(_to_simplified(normalise_unicode(strip_html(text)), converter)))


def _to_simplified(text: str, converter: Converter) -> str:
    return text if text.isascii() else converter.convert(text)  # OpenCC has nothing to convert in ASCII


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


def with_transcripts(article: str, transcripts: Sequence[str]) -> str:
    """The article, then each transcript after a ``【音频转写】`` marker line; no leading blank lines."""
    return (article + "".join(TRANSCRIPT_HEADER + t for t in transcripts)).lstrip("\n")


# Bits of ``_classes()``: what each code point is, for counting and dropping characters with
# numpy over a text's code points instead of a Python step (or a regex pass) per character.
_LETTER = 1  # str.isalpha: Unicode category L*
_IS_HAN = 2  # matches _HAN
_IS_KANA = 4  # matches _KANA
_IS_LATIN = 8  # matches _LATIN
_SQUEEZED_OUT = 16  # punctuation (P*), symbols (S*) or ASCII whitespace: what ``squeeze`` drops
_INVISIBLE_SPACE = 32  # ASCII whitespace, which quality does not count
_ASCII_WHITESPACE = " \t\n\x0b\x0c\r"
_MARKER_LETTERS = sum(map(str.isalpha, TRANSCRIPT_MARKER))
# Every Unicode general category.
_CATEGORIES = (
    "Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So Zs Zl Zp Cc Cf Cs Co Cn"
).split()


@functools.lru_cache(maxsize=1)
def _classes() -> np.ndarray:
    """One byte of the bits above per code point (built once per process, about a second)."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    # str.isalpha is exactly the categories L* (Python's documentation); P* and S* are squeezed out.
    bits_of = {
        category: _LETTER if category[0] == "L" else _SQUEEZED_OUT if category[0] in "PS" else 0
        for category in _CATEGORIES
    }
    # map() and fromiter() keep the 1.1 million steps in C.
    table = np.fromiter(map(bits_of.__getitem__, map(unicodedata.category, every)), np.uint8, len(every))
    for bit, pattern in ((_IS_HAN, _HAN), (_IS_KANA, _KANA), (_IS_LATIN, _LATIN)):
        table[[match.start() for match in pattern.finditer(every)]] |= bit
    for char in _ASCII_WHITESPACE:
        table[ord(char)] |= _SQUEEZED_OUT | _INVISIBLE_SPACE
    return table


def _code_points(text: str) -> np.ndarray:
    # surrogatepass: a lone surrogate is a code point like any other here, not an error.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _counts(text: str) -> np.ndarray:
    """How many characters of ``text`` have each combination of ``_classes`` bits (64 counts)."""
    return np.bincount(_classes()[_code_points(text)], minlength=64)


def _with_bit(bit: int) -> np.ndarray:
    return np.array([combination & bit != 0 for combination in range(64)])


_LETTERS, _HANS, _KANAS, _LATINS, _INVISIBLES = map(
    _with_bit, (_LETTER, _IS_HAN, _IS_KANA, _IS_LATIN, _INVISIBLE_SPACE)
)


def language_of(text: str) -> str:
    """zh | en | other, from the script of the letters (a heuristic, good enough for routing).

    Among letters (Unicode category L): zh when at least 30% are Han and under 10%
    kana (Japanese also uses Han); en when at least 70% are ASCII Latin; otherwise,
    and for texts without letters, other. Han counts for more than its share of
    characters because one Han character carries about a word, so Chinese articles
    with English product names stay zh.
    """
    return _language(_counts(text))


def _language(counts: np.ndarray) -> str:
    letters = counts[_LETTERS].sum()
    if letters == 0:
        return "other"
    if counts[_HANS].sum() >= 0.3 * letters and counts[_KANAS].sum() < 0.1 * letters:
        return "zh"
    return "en" if counts[_LATINS].sum() >= 0.7 * letters else "other"


def quality_issues(text: str, min_text_chars: int) -> list[str]:
    """Why a document is weak (too_short, mostly_non_text), counting article and transcripts together.

    Characters are counted without whitespace (the ASCII kind; NFKC turned the rest into
    it) and without the transcript marker (a video page with a one-line caption and a
    long transcript is not short).
    """
    return _quality_issues(text, _counts(text), min_text_chars)


def _quality_issues(text: str, counts: np.ndarray, min_text_chars: int) -> list[str]:
    markers = text.count(TRANSCRIPT_MARKER)  # holds no whitespace, so the two are counted apart
    visible = len(text) - int(counts[_INVISIBLES].sum()) - markers * len(TRANSCRIPT_MARKER)
    letters = int(counts[_LETTERS].sum()) - markers * _MARKER_LETTERS
    issues = []
    if visible < min_text_chars:
        issues.append(QUALITY_TOO_SHORT)
    if visible and letters < MIN_LETTER_SHARE * visible:
        issues.append(QUALITY_MOSTLY_NON_TEXT)
    return issues


def language_and_quality(text: str, min_text_chars: int) -> tuple[str, list[str]]:
    """``language_of`` and ``quality_issues`` together, counting the text's characters once."""
    counts = _counts(text)
    return _language(counts), _quality_issues(text, counts, min_text_chars)


def squeeze(text: str) -> str:
    """Lower-cased, without whitespace (ASCII), punctuation (P*) or symbols (S*) of any plane."""
    if text.isascii():
        return text.encode("ascii").translate(None, _ASCII_SQUEEZED_OUT).decode("ascii").lower()
    points = _code_points(text)
    kept = points[(_classes()[points] & _SQUEEZED_OUT) == 0]
    return kept.tobytes().decode("utf-32-le", "surrogatepass").lower()


_ASCII_SQUEEZED_OUT = bytes(
    point for point in range(128) if unicodedata.category(chr(point))[0] in "PS" or chr(point) in _ASCII_WHITESPACE
)


def fingerprint(text: str) -> str:
    """What duplicates are judged on: the article part (before the first transcript marker), squeezed.

    Two different articles embedding the same clip are not duplicates; a page that is
    only a transcript falls back to its whole text.
    """
    return squeeze(text.split(TRANSCRIPT_HEADER, 1)[0]) or squeeze(text)


def content_hash(fingerprint_text: str) -> str:
    """sha256 (hex) of a fingerprint's UTF-8 bytes: what exact duplicates share."""
    return hashlib.sha256(fingerprint_text.encode("utf-8")).hexdigest()
