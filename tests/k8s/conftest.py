"""Fixtures of the chart tests: the helm binary (cached outside the clone) and rendered manifests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.k8s.helm import CHART_DIR, Helm, HelmUnavailable, Rendered, helm_binary
from yuqing.settings import Settings

EXAMPLES = sorted((CHART_DIR / "examples").glob("*.yaml"))

Render = Callable[..., Rendered]


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    try:
        binary = helm_binary(Settings().cache_dir)
    except HelmUnavailable as exc:
        pytest.fail(f"no helm binary for the chart tests: {exc}")
    return Helm(binary, tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="session")
def render(helm: Helm) -> Render:
    """``render(*values_files, **{"a.b": "v"})``: ``helm template`` output, parsed, memoised per arguments."""
    cache: dict[tuple[object, ...], Rendered] = {}

    def _render(*values_files: Path, **set_values: str) -> Rendered:
        key = (values_files, tuple(sorted(set_values.items())))
        if key not in cache:
            cache[key] = helm.template(*values_files, set_values=set_values)
        return cache[key]

    return _render


def example(name: str) -> Path:
    path = CHART_DIR / "examples" / name
    assert path.is_file(), f"no example values file {path}"
    return path
