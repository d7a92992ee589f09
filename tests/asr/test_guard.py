"""The hallucination guard: pure functions, no model."""

from __future__ import annotations

from asr.guard import (
    FLAG_COMPRESSION_RATIO,
    FLAG_PROMPT_ECHO,
    FLAG_REPEATED_SEGMENT,
    FLAG_REPETITION_LOOP,
    apply_guard,
    compression_ratio,
    echoes_prompt,
    repetition_loop,
    segment_flags,
)
from yuqing.contracts import Transcript, TranscriptSegment

NEWS = "新华社北京电，东方航空今天就航班延误向乘客道歉，有关部门已经介入调查。"


def _segment(text: str, start: float = 0.0, **extra: object) -> TranscriptSegment:
    return TranscriptSegment(start=start, end=start + 2.0, text=text, **extra)


def test_a_normal_chinese_sentence_is_not_flagged() -> None:
    assert segment_flags(NEWS) == []
    assert compression_ratio(NEWS) < 1.5
    assert repetition_loop(NEWS) is None


def test_a_looping_segment_is_flagged() -> None:
    looping = "虹桥机场" * 7
    assert repetition_loop(looping) == "虹桥机场"
    assert FLAG_REPETITION_LOOP in segment_flags(looping)


def test_a_loop_after_real_speech_is_found() -> None:
    text = "今天下午发布会上，公司表示谢谢大家谢谢大家谢谢大家谢谢大家"
    assert repetition_loop(text) == "谢谢大家"


def test_a_long_run_compresses_too_well() -> None:
    text = "翼" * 120
    assert compression_ratio(text) > 2.4
    assert segment_flags(text) == [FLAG_COMPRESSION_RATIO]


def test_the_decoders_window_ratio_flags_short_segments_of_a_loop() -> None:
    assert segment_flags("家公司", decoder_compression_ratio=3.1) == [FLAG_COMPRESSION_RATIO]
    assert segment_flags("家公司", decoder_compression_ratio=1.1) == []


def test_laughter_and_three_repeats_are_not_loops() -> None:
    assert repetition_loop("哈哈哈哈哈哈，真有意思") is None  # one character doubled is speech, not a loop
    assert repetition_loop("好的好的好的") is None  # three in a row is below the threshold


def test_prompt_echo_is_flagged_even_with_other_punctuation() -> None:
    prompt = "东方航空 虹桥机场"
    assert echoes_prompt("东方航空，虹桥机场。", [prompt])
    assert echoes_prompt("我们在说东方航空虹桥机场的事", [prompt])
    assert not echoes_prompt("东方航空今天道歉", [prompt])
    assert FLAG_PROMPT_ECHO in segment_flags("以下是普通话的句子。", prompts=["以下是普通话的句子"])
    assert not echoes_prompt("任何文字", ["", "  "])


def test_apply_guard_marks_runs_of_identical_segments_and_keeps_them_out_of_the_text() -> None:
    segments = [
        _segment("新华社北京电", 0.0),
        _segment("家公司", 2.0),
        _segment("家公司，", 4.0),
        _segment("家公司", 6.0),
        _segment("警方已经开始调查", 8.0),
    ]
    guarded = apply_guard(segments)
    assert [s.reliable for s in guarded] == [True, False, False, False, True]
    assert guarded[1].flags == [FLAG_REPEATED_SEGMENT]
    transcript = Transcript(
        media_sha256="0" * 64, media_key="raw/media/x.mp3", segments=guarded, backend="faster-whisper", model="m"
    )
    assert transcript.text == "新华社北京电警方已经开始调查"


def test_apply_guard_flags_prompt_echo_and_does_not_mutate_its_input() -> None:
    original = [_segment("东方航空东方航空东方航空东方航空"), _segment(NEWS, 2.0), _segment("警方已经开始调查", 4.0)]
    guarded = apply_guard(original, prompts=["东方航空"])
    assert guarded[0].flags == [FLAG_REPETITION_LOOP, FLAG_PROMPT_ECHO] and not guarded[0].reliable
    # A prompted name is never evidence of a mention, even inside a plausible sentence.
    assert guarded[1].flags == [FLAG_PROMPT_ECHO] and not guarded[1].reliable
    assert guarded[2].reliable and guarded[2].flags == []
    assert original[0].reliable and original[0].flags == []
