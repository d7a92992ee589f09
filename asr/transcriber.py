"""Speech → ``Transcript`` with faster-whisper: the model is loaded once, files decoded by PyAV.

Decoding is deterministic and prompt-free on purpose (see MODELS.md): ``temperature=0``
and ``condition_on_previous_text=False`` keep greedy/beam decoding of Chinese out of
temperature-retry loops, and any prompt makes the base model echo it. Silero VAD (shipped
inside faster-whisper) drops non-speech before decoding, which both saves time and removes
the silence on which Whisper invents text.

Outcomes:
    speech              a Transcript with segments (unreliable ones flagged by ``asr.guard``)
    silence / no speech a Transcript with zero segments and ``language=None``: silence is a
                        fact about the media, not a failure, so the stage stores it and never
                        retries it
    undecodable, no audio stream, longer than ``max_duration_s``
                        ``MediaError`` with the reason (recorded by the stage, not retried)
"""

from __future__ import annotations

import hashlib
import logging
import time
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
# Elsewhere faster-whisper's leading space is kept so Transcript.text reads as words.
UNSPACED_LANGUAGES = frozenset({"zh", "yue", "ja", "th", "lo", "my", "km", "bo"})


class Transcriber:
    """A loaded faster-whisper model; ``transcribe`` may be called any number of times.

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
        language: str | None = None,
        max_duration_s: float = 4 * 3600,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
    ) -> None:
        from faster_whisper import WhisperModel  # heavy import (CTranslate2, onnxruntime) only when used
        from opencc import OpenCC

        started = time.perf_counter()
        self.model_dir = Path(model_dir)
        self.model_name = self.model_dir.name
        self.device = device
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.language = language
        self.max_duration_s = max_duration_s
        self.initial_prompt = initial_prompt
        self.hotwords = hotwords
        try:
            self._model = WhisperModel(
                str(self.model_dir), device=device, compute_type=compute_type, cpu_threads=cpu_threads
            )
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"cannot load the Whisper model in {self.model_dir} on {device}/{compute_type}: {exc}; "
                "check YQ_ASR__MODEL, YQ_ASR__DEVICE and YQ_ASR__COMPUTE_TYPE"
            ) from exc
        self._to_simplified = OpenCC(OPENCC_CONFIG)
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
            language=asr.language,
            max_duration_s=asr.max_duration_s,
        )

    def decode_options(self, language: str | None) -> dict[str, Any]:
        """The options given to faster-whisper, recorded in every Transcript."""
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
        if not _has_speech(audio):
            # Skip Whisper entirely: it would still spend a 30 s encoder pass detecting the
            # language of nothing (seconds on a CPU), and its answer would mean nothing.
            logger.info("no speech in %s (%.1fs of audio): empty transcript", path.name, duration)
            return transcript

        started = time.perf_counter()
        raw_segments, info = self._model.transcribe(
            audio,
            language=forced_language,
            beam_size=self.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=self.initial_prompt,
            hotwords=self.hotwords,
            vad_filter=True,
        )
        heard_speech = info.duration_after_vad > 0
        transcript.language = info.language if heard_speech else None
        # A forced language was not measured: no probability rather than faster-whisper's 1.
        if heard_speech and not forced_language:
            transcript.language_probability = round(info.language_probability, 4)
        # The generator does the decoding: consume it here, inside the worker.
        segments = [self._segment(s, transcript.language) for s in raw_segments] if heard_speech else []
        transcript.segments = apply_guard(segments, prompts=[p for p in (self.initial_prompt, self.hotwords) if p])
        logger.info(
            "transcribed %s: %.1fs audio (%.1fs speech), language %s, %d segments (%d unreliable) in %.1fs",
            path.name, duration, info.duration_after_vad, transcript.language, len(segments),
            sum(not s.reliable for s in transcript.segments), time.perf_counter() - started,
        )
        return transcript

    def _segment(self, segment: Any, language: str | None) -> TranscriptSegment:
        text = segment.text.strip()
        if language in SIMPLIFY_LANGUAGES:
            text = self._to_simplified.convert(text)
        if language not in UNSPACED_LANGUAGES:
            text = " " + text
        return TranscriptSegment(
            start=round(max(segment.start, 0.0), 3),
            end=round(max(segment.end, 0.0), 3),
            text=text,
            avg_logprob=round(segment.avg_logprob, 4),
            no_speech_prob=round(segment.no_speech_prob, 4),
            compression_ratio=round(segment.compression_ratio, 4),
        )


def load_transcriber(settings: Settings) -> Transcriber:
    """The transcriber for ``settings.asr.backend``; loads the model (seconds, once per worker)."""
    backend = settings.asr.backend
    if backend == BACKEND:
        return Transcriber.from_settings(settings)
    if backend == "openai-whisper":
        raise ConfigError(
            "YQ_ASR__BACKEND=openai-whisper is not implemented yet; set YQ_ASR__BACKEND=faster-whisper "
            "(the default) and YQ_ASR__MODEL to 'base' or a CTranslate2 model directory"
        )
    raise ConfigError(f"unknown ASR backend {backend!r}; set YQ_ASR__BACKEND=faster-whisper")


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


def _has_speech(audio: np.ndarray) -> bool:
    """Whether Silero VAD (faster-whisper's defaults) finds any speech; ~3 ms per second of audio."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return bool(get_speech_timestamps(audio, VadOptions()))


def _too_long(path: Path, seconds: float, limit: float) -> str:
    return f"{path.name} lasts {seconds:.0f}s, more than max_duration_s={limit:.0f}s (YQ_ASR__MAX_DURATION_S)"


def _reason(exc: Exception) -> str:
    """FFmpeg's own words without the file path PyAV appends (the caller names the file)."""
    return getattr(exc, "strerror", None) or str(exc)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
