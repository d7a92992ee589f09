"""Speech → ``Transcript``: media decoded by PyAV, speech found by Silero VAD, then a Whisper backend.

Two backends share everything but the decoder (``BaseTranscriber.transcribe``):
    faster-whisper  ``Transcriber`` (default): CTranslate2, int8 on CPU, float16 on CUDA
    openai-whisper  ``asr.openai_backend.OpenAIWhisperTranscriber`` (optional extra): a ``.pt``
                    checkpoint through PyTorch, for clusters that already run it

Decoding is deterministic and prompt-free on purpose (see MODELS.md): ``temperature=0``
and ``condition_on_previous_text=False`` keep greedy/beam decoding of Chinese out of
temperature-retry loops, and any prompt makes the base model echo it. Silero VAD (shipped
inside faster-whisper) drops non-speech before decoding, which both saves time and removes
the silence on which Whisper invents text.

Speed (bench/bench_asr.py; 2 CPU threads, base int8, beam 5): faster-whisper's batched
pipeline cuts the speech at VAD pauses into pieces of at most 30 s and decodes ``batch_size``
of them at once, with timestamps. On 3 minutes of Chinese that took 0.097 CPU-seconds per
audio second against 0.137 for sequential long-form decoding (1.4x; 1.6x in wall time), and
since every piece starts at a pause no word is cut at a window edge. On a short clip the fixed
cost is the encoder pass over a 30 s window (padded), which language detection would pay
twice: ``_reuse_encoder_output`` lets detection and decoding share it (12 s clip: 0.18 against
0.26 CPU-seconds per audio second). Beam 1 saves only 1.2-1.5x and loses words on Chinese.

Outcomes:
    speech              a Transcript with segments (unreliable ones flagged by ``asr.guard``)
    silence / no speech a Transcript with zero segments and ``language=None``: silence is a
                        fact about the media, not a failure, so the stage stores it and never
                        retries it
    undecodable, no audio stream, longer than ``max_duration_s``
                        ``MediaError`` with the reason (recorded by the stage, not retried)
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

from asr.guard import apply_guard
from asr.model import resolve_model
from yuqing.contracts import Transcript, TranscriptSegment
from yuqing.errors import ConfigError, MediaError
from yuqing.settings import Settings

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

BACKEND = "faster-whisper"
SAMPLING_RATE = 16_000
# Whisper writes Chinese in Traditional characters as often as not; analysts and the
# analyzers' lexicons work in Simplified.
SIMPLIFY_LANGUAGES = frozenset({"zh"})
OPENCC_CONFIG = "t2s"  # native OpenCC 1.4.2 accepts the config stem ("t2s") or file name ("t2s.json")
# Languages written without spaces between words: segments are joined as they are.
# Elsewhere Whisper's leading space is kept so Transcript.text reads as words.
UNSPACED_LANGUAGES = frozenset({"zh", "yue", "ja", "th", "lo", "my", "km", "bo"})


@dataclass(frozen=True)
class RawSegment:
    """One segment as a backend decoded it, times in seconds of the original media."""

    start: float
    end: float
    text: str
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None


@dataclass(frozen=True)
class Recognized:
    """What a backend heard: ``language=None`` and no segments when it heard no speech."""

    language: str | None
    language_probability: float | None
    speech_seconds: float
    segments: list[RawSegment]


class BaseTranscriber:
    """Media handling, Simplified output and the hallucination guard, shared by the backends.

    A subclass loads its model in ``__init__`` and implements ``_recognize``. One instance
    transcribes one file at a time (a worker process holds one).
    """

    backend: str = ""

    def __init__(
        self,
        *,
        model_name: str,
        device: str,
        compute_type: str,
        beam_size: int,
        language: str | None,
        max_duration_s: float,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
    ) -> None:
        from opencc import OpenCC

        self.model_name = model_name
        self.device = device
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.language = language
        self.max_duration_s = max_duration_s
        self.initial_prompt = initial_prompt
        self.hotwords = hotwords
        self._to_simplified = OpenCC(OPENCC_CONFIG)

    def decode_options(self, language: str | None) -> dict[str, Any]:
        """The options the decoder ran with, recorded in every Transcript."""
        return {
            "beam_size": self.beam_size,
            "temperature": 0.0,
            "condition_on_previous_text": False,
            "initial_prompt": self.initial_prompt,
            "hotwords": self.hotwords,
            "vad_filter": True,
            "language": language,
            "device": self.device,
            "compute_type": self.compute_type,
        }

    def transcribe(
        self,
        path: Path | str,
        *,
        language: str | None = None,
        media_sha256: str | None = None,
        media_key: str | None = None,
    ) -> Transcript:
        """Transcribe one audio or video file.

        ``language`` forces the language (else ``settings.asr.language``, else detection).
        ``media_sha256``/``media_key`` identify the asset; when not given they are computed
        from the file as the crawler would store it (``raw/media/<sha256><suffix>``).

        Raises ``MediaError`` for corrupt, audio-less or too-long media.
        """
        path = Path(path)
        if not path.is_file():
            raise MediaError(f"{path} is not a file")
        media_sha256 = media_sha256 or _file_sha256(path)
        media_key = media_key or f"raw/media/{media_sha256}{path.suffix.lower()}"
        forced_language = language or self.language

        declared = probe_duration(path)
        if declared is not None and declared > self.max_duration_s:
            raise MediaError(_too_long(path, declared, self.max_duration_s))
        audio = _decode(path)
        duration = audio.shape[0] / SAMPLING_RATE
        if declared is None and duration > self.max_duration_s:  # containers without a duration header
            raise MediaError(_too_long(path, duration, self.max_duration_s))

        transcript = Transcript(
            media_sha256=media_sha256,
            media_key=media_key,
            duration_s=round(duration, 3),
            backend=self.backend,
            model=self.model_name,
            decode_options=self.decode_options(forced_language),
        )
        speech = speech_timestamps(audio)
        if not speech:
            # Skip Whisper entirely: it would still spend a 30 s encoder pass detecting the
            # language of nothing (seconds on a CPU), and its answer would mean nothing.
            logger.info("no speech in %s (%.1fs of audio): empty transcript", path.name, duration)
            return transcript

        started = time.perf_counter()
        heard = self._recognize(audio, speech, forced_language)
        transcript.language = heard.language
        # A forced language was not measured: no probability rather than a backend's 1.
        if heard.language and not forced_language and heard.language_probability is not None:
            transcript.language_probability = round(heard.language_probability, 4)
        segments = [self._segment(s, heard.language, duration) for s in heard.segments]
        transcript.segments = apply_guard(segments, prompts=[p for p in (self.initial_prompt, self.hotwords) if p])
        logger.info(
            "transcribed %s: %.1fs audio (%.1fs speech), language %s, %d segments (%d unreliable) in %.1fs",
            path.name, duration, heard.speech_seconds, transcript.language, len(segments),
            sum(not s.reliable for s in transcript.segments), time.perf_counter() - started,
        )
        return transcript

    def _recognize(self, audio: np.ndarray, speech: list[dict[str, int]], language: str | None) -> Recognized:
        """Decode ``audio`` (16 kHz mono); ``speech`` is where VAD heard speech (sample offsets)."""
        raise NotImplementedError

    def _segment(self, segment: RawSegment, language: str | None, duration: float) -> TranscriptSegment:
        text = segment.text.strip()
        if language in SIMPLIFY_LANGUAGES:
            text = self._to_simplified.convert(text)
        if language not in UNSPACED_LANGUAGES:
            text = " " + text
        start = min(max(segment.start, 0.0), duration)
        return TranscriptSegment(
            start=round(start, 3),
            end=round(min(max(segment.end, start), duration), 3),
            text=text,
            avg_logprob=_rounded(segment.avg_logprob),
            no_speech_prob=_rounded(segment.no_speech_prob),
            compression_ratio=_rounded(segment.compression_ratio),
        )


class Transcriber(BaseTranscriber):
    """faster-whisper (CTranslate2) with its batched pipeline; the model is loaded once.

    ``initial_prompt`` and ``hotwords`` exist for experiments only (settings do not expose
    them): with the base model they cause loops, so segments echoing them are flagged.
    """

    backend = BACKEND

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = 5,
        batch_size: int = 8,
        language: str | None = None,
        max_duration_s: float = 4 * 3600,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
    ) -> None:
        from faster_whisper import BatchedInferencePipeline  # heavy import (CTranslate2, onnxruntime) only when used

        started = time.perf_counter()
        self.model_dir = Path(model_dir)
        super().__init__(
            model_name=self.model_dir.name, device=device, compute_type=compute_type, beam_size=beam_size,
            language=language, max_duration_s=max_duration_s, initial_prompt=initial_prompt, hotwords=hotwords,
        )
        self.batch_size = batch_size
        try:
            self._model = _reuse_encoder_output()(
                str(self.model_dir), device=device, compute_type=compute_type, cpu_threads=cpu_threads
            )
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"cannot load the Whisper model in {self.model_dir} on {device}/{compute_type}: {exc}; "
                "check YQ_ASR__MODEL, YQ_ASR__DEVICE and YQ_ASR__COMPUTE_TYPE"
            ) from exc
        self._pipeline = BatchedInferencePipeline(self._model)
        self.load_seconds = time.perf_counter() - started
        logger.info("loaded Whisper %s on %s/%s in %.1fs", self.model_name, device, compute_type, self.load_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> Transcriber:
        asr = settings.asr
        return cls(
            resolve_model(asr, settings.cache_dir),
            device=asr.device,
            compute_type=asr.compute_type,
            cpu_threads=asr.cpu_threads,
            beam_size=asr.beam_size,
            batch_size=asr.batch_size,
            language=asr.language,
            max_duration_s=asr.max_duration_s,
        )

    def decode_options(self, language: str | None) -> dict[str, Any]:
        return {**super().decode_options(language), "batch_size": self.batch_size}

    def _recognize(self, audio: np.ndarray, speech: list[dict[str, int]], language: str | None) -> Recognized:
        # The pipeline runs its own VAD (pauses of 160 ms, pieces of at most 30 s): its cut
        # points matter for batching, and 12 s of audio costs it ~50 ms.
        self._model.forget_encoder_output()
        try:
            raw_segments, info = self._pipeline.transcribe(
                audio,
                language=language,
                beam_size=self.beam_size,
                batch_size=self.batch_size,
                temperature=0.0,
                condition_on_previous_text=False,
                without_timestamps=False,  # segments with their own times, not one per 30 s piece
                initial_prompt=self.initial_prompt,
                hotwords=self.hotwords,
                vad_filter=True,
            )
            if info.duration_after_vad <= 0:
                return Recognized(None, None, 0.0, [])
            # The generator does the decoding: consume it here, inside the worker.
            segments = [
                RawSegment(s.start, s.end, s.text, s.avg_logprob, s.no_speech_prob, s.compression_ratio)
                for s in raw_segments
            ]
        finally:
            self._model.forget_encoder_output()
        return Recognized(info.language, info.language_probability, info.duration_after_vad, segments)


@functools.cache
def _reuse_encoder_output() -> type:
    """``WhisperModel`` that hands language detection's encoder output on to the decoding.

    faster-whisper detects the language with an encoder pass over the first 30 s window,
    then encodes that same window again to decode it: on a clip under 30 s that second pass
    is a third of the work. The window differs between the two calls by at most its last
    10 ms frame (detection keeps one frame more, or a dummy one, where decoding pads), so an
    input equal to the previous one but for one column that is padding in either reuses the
    previous output. Anything else is encoded as usual: a faster-whisper that stops calling
    ``encode`` this way loses the saving, never correctness.
    """
    import numpy as np
    from faster_whisper import WhisperModel

    class EncoderReusingWhisperModel(WhisperModel):  # type: ignore[misc]
        _last: tuple[np.ndarray, Any] | None = None

        def forget_encoder_output(self) -> None:
            self._last = None

        def encode(self, features: np.ndarray) -> Any:
            batch = features if features.ndim == 3 else features[None]
            if self._last is not None and _same_window(self._last[0], batch):
                return self._last[1]
            output = super().encode(features)
            self._last = (batch.copy(), output)
            return output

    def _same_window(a: np.ndarray, b: np.ndarray) -> bool:
        if a.shape != b.shape or a.shape[0] != 1:
            return False
        differing = np.flatnonzero((a[0] != b[0]).any(axis=0))
        if differing.size == 0:
            return True
        column = differing[0]
        return differing.size == 1 and (not a[0, :, column].any() or not b[0, :, column].any())

    return EncoderReusingWhisperModel


def load_transcriber(settings: Settings) -> BaseTranscriber:
    """The transcriber for ``settings.asr.backend``; loads the model (seconds, once per worker)."""
    backend = settings.asr.backend
    if backend == BACKEND:
        return Transcriber.from_settings(settings)
    if backend == "openai-whisper":
        from asr.openai_backend import OpenAIWhisperTranscriber

        return OpenAIWhisperTranscriber.from_settings(settings)
    raise ConfigError(f"unknown ASR backend {backend!r}; set YQ_ASR__BACKEND=faster-whisper or openai-whisper")


def probe_duration(path: Path) -> float | None:
    """Seconds of audio the container declares, without decoding it (None when it does not say).

    Raises ``MediaError`` when the file cannot be opened as media or has no audio stream.
    """
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise MediaError(f"{path.name} has no audio stream")
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / av.time_base
            return None
    except av.FFmpegError as exc:
        raise MediaError(f"{path.name} cannot be opened as audio or video: {_reason(exc)}") from exc


def _decode(path: Path) -> np.ndarray:
    """Mono 16 kHz float32 samples via faster-whisper's PyAV decoder."""
    from faster_whisper import decode_audio

    try:
        audio = decode_audio(str(path), sampling_rate=SAMPLING_RATE)
    except (av.FFmpegError, ValueError) as exc:
        raise MediaError(f"{path.name} could not be decoded: {_reason(exc)}") from exc
    if audio.size == 0:
        raise MediaError(f"{path.name} contains no decodable audio (corrupt or empty stream)")
    return audio


def speech_timestamps(audio: np.ndarray) -> list[dict[str, int]]:
    """Where Silero VAD (faster-whisper's defaults) hears speech, as sample offsets; ~4 ms per second of audio."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return get_speech_timestamps(audio, VadOptions())


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _too_long(path: Path, seconds: float, limit: float) -> str:
    return f"{path.name} lasts {seconds:.0f}s, more than max_duration_s={limit:.0f}s (YQ_ASR__MAX_DURATION_S)"


def _reason(exc: Exception) -> str:
    """FFmpeg's own words without the file path PyAV appends (the caller names the file)."""
    return getattr(exc, "strerror", None) or str(exc)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
