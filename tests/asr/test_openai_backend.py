"""The openai-whisper backend's code path, on a random-weight checkpoint built from whisper's own ModelDimensions.

No openai-whisper checkpoint ships on PyPI and none can be downloaded here, so the model is
random: what it "hears" is noise (typically one looping token, which the guard flags). The
tests check the contract shared with the faster-whisper backend, never the words.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from asr.openai_backend import OpenAIWhisperTranscriber, openai_whisper_available
from asr.transcriber import load_transcriber
from yuqing.contracts import Transcript, TranscriptSegment
from yuqing.errors import ConfigError, MediaError
from yuqing.settings import ASRSettings, configure

needs_extra = pytest.mark.skipif(
    not openai_whisper_available(),
    reason="the openai-whisper extra is not installed (pip install -e '.[openai-whisper]')",
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight multilingual Whisper, saved in openai-whisper's checkpoint format (14 MB, 0.2 s)."""
    torch = pytest.importorskip("torch")
    model_module = pytest.importorskip("whisper.model")

    torch.manual_seed(0)
    dims = model_module.ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
        n_vocab=51865,  # the multilingual vocabulary: language detection and the zh tokenizer work
        n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1,
    )
    path = tmp_path_factory.mktemp("openai-whisper") / "random-tiny.pt"
    torch.save({"dims": dims.__dict__, "model_state_dict": model_module.Whisper(dims).state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def openai_transcriber(checkpoint: Path) -> OpenAIWhisperTranscriber:
    # Greedy: random weights never say end-of-text, so each 30 s window runs to openai-whisper's
    # 224-token limit; beam 5 makes that ~45 s a window on this machine, greedy ~7 s.
    return OpenAIWhisperTranscriber(checkpoint, cpu_threads=2, beam_size=1)


def _assert_contract(t: Transcript, duration: float) -> None:
    assert t.backend == "openai-whisper" and t.model == "random-tiny"
    assert t.duration_s == pytest.approx(duration, abs=0.2)
    assert t.segments, "the random model always emits something for speech"
    assert all(isinstance(s, TranscriptSegment) for s in t.segments)
    assert all(0 <= s.start <= s.end <= t.duration_s for s in t.segments)
    assert [s.start for s in t.segments] == sorted(s.start for s in t.segments)
    assert all(s.avg_logprob is not None and s.compression_ratio is not None for s in t.segments)
    assert all(s.reliable == (not s.flags) for s in t.segments), "the hallucination guard ran"
    assert Transcript.model_validate(t.model_dump(mode="json")) == t


@needs_extra
@pytest.mark.slow
def test_a_checkpoint_transcribes_to_the_shared_contract(openai_transcriber: OpenAIWhisperTranscriber, media: Path) -> None:
    import whisper.tokenizer

    t = openai_transcriber.transcribe(media / "zh.mp3")

    _assert_contract(t, 12.0)
    assert t.language in whisper.tokenizer.LANGUAGES  # detected (random weights: any language)
    assert t.language_probability is not None and 0 < t.language_probability <= 1
    assert t.decode_options == {
        "beam_size": 1, "temperature": 0.0, "condition_on_previous_text": False, "initial_prompt": None,
        "hotwords": None, "vad_filter": True, "window_s": 120, "language": None, "device": "cpu",
        "compute_type": "float32",
    }
    assert t.media_key == f"raw/media/{t.media_sha256}.mp3"


@needs_extra
@pytest.mark.slow
def test_a_forced_language_is_used_and_not_given_a_probability(
    openai_transcriber: OpenAIWhisperTranscriber, media: Path
) -> None:
    t = openai_transcriber.transcribe(media / "zh.mp4", language="zh")
    _assert_contract(t, 12.0)
    assert t.language == "zh" and t.language_probability is None
    assert t.decode_options["language"] == "zh"


@needs_extra
def test_silence_and_broken_media_take_the_shared_path(
    openai_transcriber: OpenAIWhisperTranscriber, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_decode(*_: object) -> None:
        raise AssertionError("the model ran on silence")

    monkeypatch.setattr(openai_transcriber, "_recognize", must_not_decode)
    silent = openai_transcriber.transcribe(media / "silence.wav")
    assert silent.segments == [] and silent.language is None and silent.backend == "openai-whisper"
    with pytest.raises(MediaError, match="cannot be opened as audio or video"):
        openai_transcriber.transcribe(media / "corrupt.mp3")


@needs_extra
def test_settings_select_the_backend_and_its_checkpoint(checkpoint: Path, tmp_path: Path) -> None:
    settings = configure(
        data_dir=tmp_path, asr={"backend": "openai-whisper", "model": str(checkpoint), "cpu_threads": 2, "beam_size": 3}
    )
    loaded = load_transcriber(settings)
    assert isinstance(loaded, OpenAIWhisperTranscriber) and loaded.model_name == "random-tiny"
    assert (loaded.beam_size, loaded.device, loaded.compute_type) == (3, "cpu", "float32")

    not_a_checkpoint = tmp_path / "broken.pt"
    not_a_checkpoint.write_bytes(b"not a torch file")
    with pytest.raises(ConfigError, match="cannot load the openai-whisper checkpoint .*broken.pt"):
        OpenAIWhisperTranscriber(not_a_checkpoint)


def test_the_backend_needs_a_checkpoint_file_in_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="openai-whisper loads a .pt checkpoint, but YQ_ASR__MODEL='base'"):
        ASRSettings(backend="openai-whisper")
    settings = configure(data_dir=tmp_path, asr={"backend": "openai-whisper", "model": str(tmp_path / "gone.pt")})
    with pytest.raises(ConfigError, match="gone.pt does not exist; openai-whisper needs a Whisper .pt checkpoint"):
        load_transcriber(settings)


def test_without_the_extra_loading_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "whisper", None)  # as if openai-whisper were not installed
    with pytest.raises(ConfigError, match=r"(torch|whisper) is not installed; install the optional extra: pip install 'yuqing\[openai-whisper\]'"):
        OpenAIWhisperTranscriber(tmp_path / "any.pt")
