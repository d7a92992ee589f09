"""The chart lints, renders for the defaults and each example, and every manifest validates strictly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest

from tests.k8s.conftest import EXAMPLES, Render
from tests.k8s.helm import Helm
from tests.k8s.manifests import CUSTOM_KINDS, pod_labels, pod_spec, workloads

pytestmark = pytest.mark.integration

VALUES_FILES = [pytest.param((), id="defaults"), *(pytest.param((f,), id=f.stem) for f in EXAMPLES)]
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest kubernetes-validate knows.
KUBE_VERSIONS = ["1.29.0", kubernetes_validate.latest_version() + ".0"]
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)


def test_there_are_example_values_for_dev_and_gpu_production() -> None:
    assert {f.name for f in EXAMPLES} >= {"values-dev.yaml", "values-gpu-production.yaml"}


@pytest.mark.parametrize("values_files", VALUES_FILES)
def test_helm_lint_strict_passes(helm: Helm, values_files: tuple[Path, ...]) -> None:
    result = helm.lint(*values_files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values_files", VALUES_FILES)
@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_manifest_validates_strictly(render: Render, values_files: tuple[Path, ...], kube_version: str) -> None:
    rendered = render(*values_files)
    failures = []
    for doc in rendered.documents:
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue  # no schema in kubernetes-validate; test_toggles checks their fields
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {'.'.join(map(str, exc.path))}: {exc.message}")
    assert not failures, "\n".join(failures)
    assert {d["kind"] for d in rendered.documents} - {k for _, k in CUSTOM_KINDS}, "nothing was validated"


def test_kubernetes_validate_command_accepts_the_production_manifests(render: Render, tmp_path: Path) -> None:
    rendered = render(*(f for f in EXAMPLES if f.name == "values-gpu-production.yaml"))
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(rendered.text, encoding="utf-8")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("kubernetes-validate")), "--strict", "--quiet", "-k", KUBE_VERSIONS[-1], str(manifest)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout


def test_defaults_render_every_component(render: Render) -> None:
    rendered = render()
    deployments = {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in rendered.of_kind("Deployment")}
    assert deployments == {"vllm", "api", "analysis-worker", "asr-worker", "crawl-worker"}
    assert rendered.has_component("Service", "vllm") and rendered.has_component("Service", "api")
    assert rendered.has_component("CronJob", "clean-driver")
    assert rendered.has_component("HorizontalPodAutoscaler", "analysis-worker")
    assert {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in rendered.of_kind("PodDisruptionBudget")} == {
        "api", "analysis-worker",
    }  # fmt: skip
    migrate = rendered.component("Job", "migrate")
    assert migrate["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert pod_spec(migrate)["containers"][0]["args"] == ["migrate"]


@pytest.mark.parametrize("values_files", VALUES_FILES)
def test_every_object_has_the_standard_labels(render: Render, values_files: tuple[Path, ...]) -> None:
    for doc in render(*values_files).documents:
        labels = doc["metadata"].get("labels", {})
        missing = [label for label in STANDARD_LABELS if label not in labels]
        assert not missing, f"{doc['kind']}/{doc['metadata']['name']} lacks {missing}"
        assert labels["app.kubernetes.io/instance"] == "yq"


@pytest.mark.parametrize("values_files", VALUES_FILES)
def test_selectors_find_their_pods(render: Render, values_files: tuple[Path, ...]) -> None:
    rendered = render(*values_files)
    pod_label_sets = [pod_labels(d) for d in workloads(rendered.documents)]

    def selects_some_pod(selector: dict[str, str]) -> bool:
        return any(selector.items() <= labels.items() for labels in pod_label_sets)

    for doc in rendered.of_kind("Deployment") + rendered.of_kind("StatefulSet"):
        assert doc["spec"]["selector"]["matchLabels"].items() <= pod_labels(doc).items(), doc["metadata"]["name"]
    for doc in rendered.of_kind("Service"):
        assert selects_some_pod(doc["spec"]["selector"]), f"Service {doc['metadata']['name']} selects no pod"
    for doc in rendered.of_kind("PodDisruptionBudget"):
        assert selects_some_pod(doc["spec"]["selector"]["matchLabels"]), f"PDB {doc['metadata']['name']} selects no pod"
    deployment_names = {d["metadata"]["name"] for d in rendered.of_kind("Deployment")}
    for doc in rendered.of_kind("HorizontalPodAutoscaler") + rendered.of_kind("ScaledObject"):
        assert doc["spec"]["scaleTargetRef"]["name"] in deployment_names


@pytest.mark.parametrize("values_files", VALUES_FILES)
def test_mounted_config_maps_and_claims_are_rendered(render: Render, values_files: tuple[Path, ...]) -> None:
    rendered = render(*values_files)
    config_maps = {d["metadata"]["name"] for d in rendered.of_kind("ConfigMap")}
    claims = {d["metadata"]["name"] for d in rendered.of_kind("PersistentVolumeClaim")}
    for doc in workloads(rendered.documents):
        for volume in pod_spec(doc).get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, f"{doc['metadata']['name']}: {volume}"
            if "persistentVolumeClaim" in volume and doc["kind"] == "Deployment" and "vllm" in doc["metadata"]["name"]:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
