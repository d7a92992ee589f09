"""ASR fixtures: the committed media clips and one Whisper model loaded for the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from asr.model import bundled_model_dir
from asr.transcriber import Transcriber
from yuqing.settings import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def media() -> Path:
    """Folder of the clips made by fixtures/make_fixtures.sh."""
    return FIXTURES


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The bundled Whisper base in the real cache (assembled once per machine, reused after)."""
    return bundled_model_dir(Settings.model_fields["cache_dir"].default)


@pytest.fixture(scope="session")
def transcriber(model_dir: Path) -> Transcriber:
    """Loaded once (about a second): every transcription test shares it, as a worker would."""
    return Transcriber(model_dir, cpu_threads=2, beam_size=5)
