"""ASR fixtures: the committed media clips and one Whisper model loaded for the whole session."""

from __future__ import annotations

import shutil
import subprocess
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


# The long recording: the English clip (~11 s) four times in 30 minutes of silence, placed so
# that one copy straddles the first window's edge (240 s) and the last one ends the file.
LONG_MEDIA_SECONDS = 1800.0
LONG_MEDIA_CLIP_STARTS = (0.0, 235.0, 900.0)  # the fourth copy is placed to end the file


@pytest.fixture(scope="session")
def long_media(request: pytest.FixtureRequest, media: Path) -> Path:
    """A 30-minute MP3 (press-conference length), made once with ffmpeg and sox and kept in pytest's cache."""
    folder = request.config.cache.mkdir("asr-long-media")
    path = folder / "en-30min.mp3"
    if path.is_file():
        return path
    for tool in ("ffmpeg", "sox", "soxi"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to make the long test recording: apt-get install ffmpeg sox")
    work = folder / "work"
    work.mkdir(exist_ok=True)
    clip = work / "en.wav"
    _run("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", media / "en.mp3", "-ar", "16000", "-ac", "1", clip)
    clip_s = float(_run("soxi", "-D", clip))
    starts = [*LONG_MEDIA_CLIP_STARTS, LONG_MEDIA_SECONDS - clip_s]
    parts: list[Path] = []
    position = 0.0
    for index, start in enumerate(starts):
        if start > position:
            gap = work / f"silence-{index}.wav"
            _run("sox", "-n", "-r", "16000", "-c", "1", "-b", "16", gap, "trim", "0", f"{start - position:.3f}")
            parts.append(gap)
        parts.append(clip)
        position = start + clip_s
    joined = work / "joined.wav"
    _run("sox", *parts, joined)
    partial = folder / "en-30min.partial.mp3"
    _run("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", joined, "-ac", "1", "-b:a", "32k", partial)
    partial.rename(path)  # only a complete file is ever found by the next session
    shutil.rmtree(work)
    return path


def _run(*command: object) -> str:
    return subprocess.run([str(c) for c in command], check=True, capture_output=True, text=True).stdout
