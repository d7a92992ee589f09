"""Fixtures for the analysis stage: a real CPU vLLM server serving a tiny random-weight Qwen2."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.analysis.vllm_cpu import (
    TINY_MODEL_NAME,
    ServedModel,
    VLLMServer,
    VLLMSetupError,
    ensure_tiny_model,
    ensure_venv,
)


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedModel]:
    """vLLM (CPU build, its own venv) on a free port; the first run builds venv and model (~2 min)."""
    try:
        python = ensure_venv()
        model_dir = ensure_tiny_model()
        server = VLLMServer(
            model_dir, TINY_MODEL_NAME, python=python, log_path=tmp_path_factory.mktemp("vllm") / "server.log"
        )
        server.__enter__()
    except VLLMSetupError as exc:
        pytest.fail(f"the CPU vLLM server for the LLM tests could not be set up: {exc}")
    try:
        yield ServedModel(server.base_url, TINY_MODEL_NAME, server.log_path)
    finally:
        server.__exit__(None, None, None)
