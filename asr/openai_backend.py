"""The openai-whisper backend (optional extra ``yuqing[openai-whisper]``): a ``.pt`` checkpoint through PyTorch.

For clusters that already run openai-whisper checkpoints (``YQ_ASR__BACKEND=openai-whisper``,
``YQ_ASR__MODEL=/models/large-v3.pt``, ``YQ_ASR__DEVICE=cuda``). The output contract is the
faster-whisper backend's: the same media decoding, the same Silero VAD speech regions (the
speech is cut out and joined before decoding, and segment times mapped back to the media),
the same decoding choices (temperature 0, no conditioning on previous text, beam size from
settings, no prompt), Simplified Chinese and the same hallucination guard.

openai-whisper has no ``hotwords``; ``compute_type`` is float16 on CUDA and float32 on CPU.
No checkpoint ships on PyPI and its download links are not reachable here: production points
``YQ_ASR__MODEL`` at a file, tests build a random-weight one from ``whisper.model.ModelDimensions``.
"""

from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asr.model import resolve_model
from asr.audio import SAMPLING_RATE
from asr.transcriber import BaseTranscriber, Recognized, RawSegment, cpu_threads
from asr.windows import SpeechClock, Window
from yuqing.errors import ConfigError
from yuqing.settings import ASRSettings, Settings

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

BACKEND = "openai-whisper"
INSTALL_HINT = "install the optional extra: pip install 'yuqing[openai-whisper]' (PyTorch CPU build, openai-whisper)"


def openai_whisper_available() -> bool:
    """Whether the optional extra is installed (``import whisper`` would succeed)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("whisper", "torch"))


class OpenAIWhisperTranscriber(BaseTranscriber):
    """A loaded openai-whisper checkpoint; ``transcribe`` may be called any number of times."""

    backend = BACKEND

    def __init__(
        self,
        checkpoint: Path,
        *,
        device: str = "cpu",
        cpu_threads: int = 0,
        beam_size: int = 5,
        language: str | None = None,
        max_duration_s: float = 4 * 3600,
        window_s: float = ASRSettings.model_fields["window_s"].default,
        initial_prompt: str | None = None,
    ) -> None:
        try:
            import torch
            import whisper
        except ImportError as exc:
            raise ConfigError(f"YQ_ASR__BACKEND=openai-whisper but {exc.name} is not installed; {INSTALL_HINT}") from exc

        started = time.perf_counter()
        checkpoint = Path(checkpoint)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                f"YQ_ASR__DEVICE=cuda but PyTorch {torch.__version__} sees no CUDA device here (a CPU build, or no "
                "NVIDIA GPU or driver); set YQ_ASR__DEVICE=cpu, or auto to use a GPU only where there is one"
            )
        super().__init__(
            model_name=checkpoint.stem, device=device, compute_type="float16" if device == "cuda" else "float32",
            beam_size=beam_size, language=language, max_duration_s=max_duration_s, window_s=window_s,
            initial_prompt=initial_prompt,
        )
        if cpu_threads and device == "cpu":
            torch.set_num_threads(cpu_threads)  # process-wide, like CTranslate2's intra-op threads
        try:
            self._model = whisper.load_model(str(checkpoint), device=device)
        except (OSError, RuntimeError, KeyError, TypeError, ValueError, pickle.UnpicklingError) as exc:
            raise ConfigError(
                f"cannot load the openai-whisper checkpoint {checkpoint} on {device}: {exc}; "
                "check YQ_ASR__MODEL (a .pt file saved by openai-whisper) and YQ_ASR__DEVICE"
            ) from exc
        self._model.eval()
        self._whisper = whisper
        self.load_seconds = time.perf_counter() - started
        logger.info("loaded openai-whisper %s on %s in %.1fs", self.model_name, device, self.load_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIWhisperTranscriber:
        asr = settings.asr
        return cls(
            resolve_model(asr, settings.cache_dir),
            device=asr.device,
            cpu_threads=cpu_threads(asr),
            beam_size=asr.beam_size,
            language=asr.language,
            max_duration_s=asr.max_duration_s,
            window_s=asr.window_s,
        )

    def decode_options(self, language: str | None) -> dict[str, Any]:
        return {**super().decode_options(language), "hotwords": None}

    def _recognize(self, audio: np.ndarray, speech: list[dict[str, int]], language: str | None) -> Recognized:
        import torch

        whisper = self._whisper
        voiced = Window(offset=0, audio=audio, speech=speech).joined_speech()
        probability = None
        with torch.inference_mode():
            if language is None:
                if not self._model.is_multilingual:
                    language = "en"
                else:
                    # The first 30 s of speech, as openai-whisper's own detection reads it, keeping the probability.
                    window = whisper.pad_or_trim(torch.from_numpy(voiced))
                    mel = whisper.log_mel_spectrogram(window, n_mels=self._model.dims.n_mels).to(self._model.device)
                    _, probabilities = self._model.detect_language(mel)
                    language = max(probabilities, key=probabilities.get)
                    probability = float(probabilities[language])
            result = whisper.transcribe(
                self._model,
                voiced,
                language=language,
                task="transcribe",
                temperature=0.0,
                condition_on_previous_text=False,
                initial_prompt=self.initial_prompt,
                beam_size=self.beam_size if self.beam_size > 1 else None,
                fp16=self.compute_type == "float16",
                verbose=None,  # no printing, no progress bar
            )
        clock = SpeechClock(speech)
        segments = [
            RawSegment(
                start=clock.start(float(s["start"])),
                end=clock.end(float(s["end"]), float(s["start"])),
                text=s["text"],
                avg_logprob=s.get("avg_logprob"),
                no_speech_prob=s.get("no_speech_prob"),
                compression_ratio=s.get("compression_ratio"),
            )
            for s in result["segments"]
        ]
        return Recognized(language, probability, voiced.shape[0] / SAMPLING_RATE, segments)
