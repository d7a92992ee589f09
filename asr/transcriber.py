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

Long media (an hour-long press conference) never sits in memory whole: PyAV decodes it in
30 s blocks (``asr.audio``), ``asr.windows`` gathers them into windows of ``window_s``
(default 120 s) cut where the speech pauses, and each window is decoded on its own and its
segments moved to media time. The language is detected in the first window that speaks and
kept for the rest. Memory is one window whatever the length: 30 minutes of audio added 9 MB
to the peak of a short clip, where decoding it as one window added ~500 MB (samples and VAD
activations for the whole file; with continuous speech, batches of 8 encoder inputs at ~70 MB
each would come on top).

Speed (bench/bench_asr.py; 2 CPU threads, base int8, beam 5): the batched pipeline decodes
the window's speech pieces (at most 30 s, cut at pauses, packed like faster-whisper packs its
own VAD's pieces) ``batch_size`` at a time. On 3 minutes of Chinese that took 0.097
CPU-seconds per audio second against 0.137 for sequential long-form decoding (1.4x). On a
short clip the fixed cost is the encoder pass over a 30 s window (padded), which language
detection would pay twice: ``_reuse_encoder_output`` lets detection and decoding share it
(12 s clip: 0.18 against 0.26 CPU-seconds per audio second). Beam 1 saves only 1.2-1.5x and
loses words on Chinese.

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
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asr.audio import SAMPLING_RATE, decode_blocks, probe_duration, scan_duration, too_long
from asr.guard import apply_guard
from asr.memory import keep_large_buffers_out_of_the_heap
from asr.model import resolve_model
from asr.windows import SpeechClock, Window, decoder_chunks, speech_windows
from yuqing.contracts import Transcript, TranscriptSegment
from yuqing.errors import ConfigError, MediaError
from yuqing.settings import ASRSettings, Settings

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

BACKEND = "faster-whisper"
# Decoded audio arrives in blocks of this many seconds; windows are gathered from them.
BLOCK_S = 30.0
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
        window_s: float,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
    ) -> None:
        from opencc import OpenCC

        keep_large_buffers_out_of_the_heap()
        self.model_name = model_name
        self.device = device
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.language = language
        self.max_duration_s = max_duration_s
        self.window_s = window_s
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
            "window_s": self.window_s,
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
            raise MediaError(too_long(path, declared, self.max_duration_s))
        # Live recordings declare no duration: count their packets rather than transcribe hours to be refused.
        if declared is None and scan_duration(path, stop_after_s=self.max_duration_s) > self.max_duration_s:
            raise MediaError(
                f"{path.name} runs past max_duration_s={self.max_duration_s:.0f}s (YQ_ASR__MAX_DURATION_S): "
                "counted from its packets, its header gives no duration"
            )

        started = time.perf_counter()
        decoded = _SampleCounter(decode_blocks(path, block_s=BLOCK_S, limit_s=self.max_duration_s))
        detected: Recognized | None = None
        raw_segments: list[tuple[RawSegment, float]] = []  # with the end of the window it came from
        speech_seconds = 0.0
        windows = 0
        for window in speech_windows(decoded, window_s=self.window_s):
            # After the first window that speaks, the language is known: later windows are
            # decoded in it (as one long-form pass would be), not re-detected each time.
            heard = self._recognize(window.audio, window.speech, forced_language or (detected and detected.language))
            windows += 1
            speech_seconds += heard.speech_seconds
            if detected is None and heard.language is not None:
                detected = heard
            raw_segments += [(_shifted(s, window.start_s), window.end_s) for s in heard.segments]
            del window, heard  # the next window is built while this name would still hold the old one
        duration = decoded.samples / SAMPLING_RATE

        transcript = Transcript(
            media_sha256=media_sha256,
            media_key=media_key,
            duration_s=round(duration, 3),
            backend=self.backend,
            model=self.model_name,
            decode_options=self.decode_options(forced_language),
        )
        if detected is None:
            # Silence is a fact about the media: Whisper never ran (it would spend a 30 s
            # encoder pass detecting the language of nothing, and its answer would mean nothing).
            logger.info("no speech in %s (%.1fs of audio): empty transcript", path.name, duration)
            return transcript
        transcript.language = detected.language
        # A forced language was not measured: no probability rather than a backend's 1.
        if not forced_language and detected.language_probability is not None:
            transcript.language_probability = round(detected.language_probability, 4)
        segments = [self._segment(s, detected.language, bound) for s, bound in raw_segments]
        transcript.segments = apply_guard(segments, prompts=[p for p in (self.initial_prompt, self.hotwords) if p])
        logger.info(
            "transcribed %s: %.1fs audio (%.1fs speech in %d windows), language %s, %d segments (%d unreliable) in %.1fs",
            path.name, duration, speech_seconds, windows, transcript.language, len(segments),
            sum(not s.reliable for s in transcript.segments), time.perf_counter() - started,
        )
        return transcript

    def _recognize(self, audio: np.ndarray, speech: list[dict[str, int]], language: str | None) -> Recognized:
        """Decode one window of ``audio`` (16 kHz mono, times relative to it); ``speech`` is where VAD heard speech
        (sample offsets, never empty). ``language=None``: detect it."""
        raise NotImplementedError

    def _segment(self, segment: RawSegment, language: str | None, bound: float) -> TranscriptSegment:
        """The contract's segment: Simplified if Chinese, spaced if the language spaces words, times within ``bound``."""
        text = segment.text.strip()
        if language in SIMPLIFY_LANGUAGES:
            text = self._to_simplified.convert(text)
        if language not in UNSPACED_LANGUAGES:
            text = " " + text
        start = min(max(segment.start, 0.0), bound)
        return TranscriptSegment(
            start=round(start, 3),
            end=round(min(max(segment.end, start), bound), 3),
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
        window_s: float = ASRSettings.model_fields["window_s"].default,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
    ) -> None:
        from faster_whisper import BatchedInferencePipeline  # heavy import (CTranslate2, onnxruntime) only when used

        started = time.perf_counter()
        self.model_dir = Path(model_dir)
        device = check_device(device, compute_type)
        super().__init__(
            model_name=self.model_dir.name, device=device, compute_type=compute_type, beam_size=beam_size,
            language=language, max_duration_s=max_duration_s, window_s=window_s,
            initial_prompt=initial_prompt, hotwords=hotwords,
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
        logger.info(
            "loaded Whisper %s on %s/%s (%s CPU threads) in %.1fs",
            self.model_name, device, compute_type, cpu_threads or "default", self.load_seconds,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Transcriber:
        asr = settings.asr
        return cls(
            resolve_model(asr, settings.cache_dir),
            device=asr.device,
            compute_type=asr.compute_type,
            cpu_threads=cpu_threads(asr),
            beam_size=asr.beam_size,
            batch_size=asr.batch_size,
            language=asr.language,
            max_duration_s=asr.max_duration_s,
            window_s=asr.window_s,
        )

    def decode_options(self, language: str | None) -> dict[str, Any]:
        return {**super().decode_options(language), "batch_size": self.batch_size}

    def _recognize(self, audio: np.ndarray, speech: list[dict[str, int]], language: str | None) -> Recognized:
        # The window's speech pieces (VAD already ran on it) are joined and packed into inputs
        # of at most 30 s, as the pipeline would pack its own VAD's pieces: handing them over
        # as clip_timestamps spares a second VAD pass over the window (time, and ~5x the
        # window's size in memory).
        window = Window(offset=0, audio=audio, speech=speech)
        joined = window.joined_speech()
        self._model.forget_encoder_output()
        try:
            raw_segments, info = self._pipeline.transcribe(
                joined,
                language=language,
                beam_size=self.beam_size,
                batch_size=self.batch_size,
                temperature=0.0,
                condition_on_previous_text=False,
                without_timestamps=False,  # segments with their own times, not one per 30 s piece
                initial_prompt=self.initial_prompt,
                hotwords=self.hotwords,
                vad_filter=False,
                clip_timestamps=[{"start": start, "end": end} for start, end in decoder_chunks(speech)],
            )
            # The generator does the decoding: consume it here, inside the worker.
            clock = SpeechClock(speech)
            segments = [
                RawSegment(
                    clock.start(s.start), clock.end(s.end, s.start), s.text, s.avg_logprob, s.no_speech_prob,
                    s.compression_ratio,
                )
                for s in raw_segments
            ]
        finally:
            self._model.forget_encoder_output()
        return Recognized(info.language, info.language_probability, window.speech_s, segments)


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


def cpu_threads(asr: ASRSettings) -> int:
    """Threads for one process's model: ``asr.cpu_threads``, or when 0 this machine's cores shared among
    ``asr.worker_processes`` (at least 1).

    CTranslate2 left to itself takes 4 threads per process: two worker processes on two cores
    would run eight threads on two cores and wait on each other's barriers.
    """
    if asr.cpu_threads:
        return asr.cpu_threads
    return max(1, len(os.sched_getaffinity(0)) // asr.worker_processes)


def check_device(device: str, compute_type: str) -> str:
    """The device CTranslate2 will run on (``auto`` resolved), or ``ConfigError`` naming what to set.

    Checked before loading: without it a missing GPU surfaces as CTranslate2's "CUDA driver
    version is insufficient", and float16 on a CPU as "efficient float16 computation".
    """
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    if device == "cuda" and gpus == 0:
        raise ConfigError(
            "YQ_ASR__DEVICE=cuda but CTranslate2 sees no CUDA device on this machine (no NVIDIA GPU, driver "
            "or CUDA 12 runtime visible); set YQ_ASR__DEVICE=cpu with YQ_ASR__COMPUTE_TYPE=int8, or "
            "YQ_ASR__DEVICE=auto to use a GPU only where there is one"
        )
    resolved = device if device != "auto" else ("cuda" if gpus else "cpu")
    supported = ctranslate2.get_supported_compute_types(resolved)
    if compute_type not in supported | {"default", "auto"}:
        raise ConfigError(
            f"YQ_ASR__COMPUTE_TYPE={compute_type} is not supported on {resolved} here; choose one of "
            f"{', '.join(sorted(supported))} (int8 on CPU, float16 on CUDA)"
        )
    return resolved


def _shifted(segment: RawSegment, seconds: float) -> RawSegment:
    """The segment with its times moved from its window's clock to the media's."""
    return replace(segment, start=segment.start + seconds, end=segment.end + seconds)


class _SampleCounter:
    """Passes audio blocks through, counting their samples (the media's duration once consumed)."""

    def __init__(self, blocks: Iterable[np.ndarray]) -> None:
        self._blocks = blocks
        self.samples = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for block in self._blocks:
            self.samples += block.shape[0]
            yield block


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
