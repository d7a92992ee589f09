"""Real transcription with faster-whisper and the bundled Whisper base, on committed clips.

zh.mp3 / zh.mp4 say (espeak-ng): 新华社北京电。今天下午，一辆公交车在路上起火。没有人受伤。公交公司公开道歉。警方已经开始调查。
Measured with this model (beam 5, int8): "新华社被经典经典下午,一两栋脚车在路上起 / 我们有人受伤栋脚栋司栋开到前方一间开始脚车"
(mp3) and "新华是北天天天天下午 …" (mp4): the key words asserted below are the ones that came through.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import opencc
import pytest

import asr.transcriber
from asr.transcriber import Transcriber, load_transcriber
from yuqing.contracts import Transcript
from yuqing.errors import ConfigError, MediaError
from yuqing.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mp3_transcript(transcriber: Transcriber, media: Path) -> Transcript:
    return transcriber.transcribe(media / "zh.mp3")


def _assert_simplified(text: str) -> None:
    assert text == opencc.OpenCC("t2s").convert(text), f"Traditional characters left in {text!r}"


def test_mandarin_mp3_is_detected_as_chinese_and_written_in_simplified(mp3_transcript: Transcript) -> None:
    t = mp3_transcript
    assert t.language == "zh" and t.language_probability is not None and t.language_probability > 0.9
    assert "新华" in t.text and "下午" in t.text, t.text
    _assert_simplified(t.text)
    assert t.duration_s == pytest.approx(12.0, abs=0.2)


def test_segments_have_ordered_timestamps_and_the_options_are_recorded(mp3_transcript: Transcript, media: Path) -> None:
    t = mp3_transcript
    assert t.segments and all(s.reliable for s in t.segments)
    assert all(0 <= s.start < s.end <= t.duration_s + 0.5 for s in t.segments)
    assert [s.start for s in t.segments] == sorted(s.start for s in t.segments)
    assert t.backend == "faster-whisper" and t.model == "whisper-base-ct2-1.0.0"
    assert t.decode_options | {} == {
        "beam_size": 5, "temperature": 0.0, "condition_on_previous_text": False, "initial_prompt": None,
        "hotwords": None, "vad_filter": True, "window_s": 120, "language": None, "device": "cpu",
        "compute_type": "int8", "batch_size": 8,
    }
    # Identity defaults to the crawler's naming when the caller gives none.
    assert t.media_key == f"raw/media/{t.media_sha256}.mp3"


def test_the_stored_json_loads_back_as_a_transcript(mp3_transcript: Transcript) -> None:
    stored = mp3_transcript.model_dump(mode="json")
    assert "text" in stored, "the cleaner reads the reliable text straight from the JSON"
    assert Transcript.model_validate(stored) == mp3_transcript


def test_the_audio_track_of_an_mp4_video_is_transcribed(transcriber: Transcriber, media: Path) -> None:
    t = transcriber.transcribe(media / "zh.mp4", media_sha256="a" * 64, media_key="raw/media/" + "a" * 64 + ".mp4")
    assert t.language == "zh"
    assert "新华" in t.text, t.text
    _assert_simplified(t.text)
    assert t.media_sha256 == "a" * 64 and t.media_key.endswith(".mp4")


def test_silence_gives_an_empty_transcript_not_an_error(transcriber: Transcriber, media: Path) -> None:
    t = transcriber.transcribe(media / "silence.wav")
    assert t.segments == [] and t.text == ""
    assert t.language is None and t.language_probability is None
    assert t.duration_s == pytest.approx(3.0)


def test_random_bytes_named_mp3_are_a_media_error(transcriber: Transcriber, media: Path) -> None:
    with pytest.raises(MediaError, match="corrupt.mp3 cannot be opened as audio or video: Invalid data"):
        transcriber.transcribe(media / "corrupt.mp3")


def test_a_video_without_sound_is_a_media_error(transcriber: Transcriber, media: Path) -> None:
    with pytest.raises(MediaError, match="no audio stream"):
        transcriber.transcribe(media / "video_only.mp4")


def test_a_clip_longer_than_the_limit_is_refused_before_decoding(
    transcriber: Transcriber, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transcriber, "max_duration_s", 5.0)

    def must_not_decode(path: Path, **_: object) -> None:
        raise AssertionError(f"{path} was decoded although its header says it is too long")

    monkeypatch.setattr(asr.transcriber, "decode_blocks", must_not_decode)
    with pytest.raises(MediaError, match=r"zh.mp3 lasts 12s, more than max_duration_s=5s"):
        transcriber.transcribe(media / "zh.mp3")


def test_a_live_recording_without_a_duration_is_measured_and_refused_before_decoding(
    transcriber: Transcriber, media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = tmp_path / "live.webm"
    with live.open("wb") as out:  # written to a pipe, as a live recorder does: no duration in the header
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(media / "zh.mp3"), "-c:a", "libopus",
                        "-f", "webm", "pipe:1"], stdout=out, check=True)
    monkeypatch.setattr(transcriber, "max_duration_s", 5.0)
    monkeypatch.setattr(asr.transcriber, "decode_blocks", lambda path, **_: pytest.fail(f"{path} was decoded"))
    with pytest.raises(MediaError, match=r"live.webm runs past max_duration_s=5s .*counted from its packets"):
        transcriber.transcribe(live)


def test_a_missing_file_is_a_media_error(transcriber: Transcriber, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="is not a file"):
        transcriber.transcribe(tmp_path / "gone.mp3")


def test_unknown_backends_are_a_config_error() -> None:
    settings = Settings()
    settings.asr.backend = "whisper.cpp"  # type: ignore[assignment]  # what a hand-built settings object could hold
    with pytest.raises(ConfigError, match="unknown ASR backend 'whisper.cpp'"):
        load_transcriber(settings)


def test_english_is_detected_and_keeps_its_spaces(transcriber: Transcriber, media: Path) -> None:
    t = transcriber.transcribe(media / "en.mp3")
    assert t.language == "en" and t.language_probability is not None and t.language_probability > 0.5
    heard = t.text.lower()
    assert "fire" in heard and "police" in heard, t.text
    assert " " in t.text and all(s.text.startswith(" ") for s in t.segments)
    assert all(0 <= s.start < s.end <= t.duration_s for s in t.segments)


class _CountingEncoder:
    """Stands in for the CTranslate2 model object, counting encoder passes."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.encodes = 0

    def encode(self, *args: object, **kwargs: object) -> object:
        self.encodes += 1
        return self.inner.encode(*args, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_language_detection_and_decoding_share_one_encoder_pass_on_a_short_clip(
    transcriber: Transcriber, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = _CountingEncoder(transcriber._model.model)
    monkeypatch.setattr(transcriber._model, "model", counting)
    t = transcriber.transcribe(media / "zh.mp3")
    assert t.language == "zh" and "新华" in t.text
    assert counting.encodes == 1, "a clip under 30 s needs one encoder pass (detection reuses it)"
    transcriber.transcribe(media / "zh.mp3", language="zh")
    assert counting.encodes == 2
