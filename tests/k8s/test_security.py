"""Every pod runs unprivileged with bounded resources; no secret is written from values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.k8s.conftest import EXAMPLES, Render
from tests.k8s.helm import Helm
from tests.k8s.manifests import all_pod_specs, containers, pod_spec, workloads

pytestmark = pytest.mark.integration

# The defaults, each example, and every optional part switched on at once.
EVERYTHING_ON = {
    "redis.enabled": "true", "postgresql.enabled": "true", "minio.enabled": "true",
    "asr.gpu": "true", "api.ingress.enabled": "true", "api.ingress.tls.enabled": "true",
    "vllm.chatTemplate": "a-template", "vllm.podDisruptionBudget.enabled": "true",
    "crawl.mode": "cronjob", "crawl.sources[0].name": "a", "crawl.sources[0].start[0].url": "http://a",
    "crawl.sources[0].article_patterns[0]": "x",
}  # fmt: skip
CASES = [
    pytest.param((), {}, id="defaults"),
    *(pytest.param((f,), {}, id=f.stem) for f in EXAMPLES),
    pytest.param((), EVERYTHING_ON, id="everything-on"),
]
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "API_KEY", "ACCESS_KEY", "DATABASE_URL", "BROKER_URL")


def _effective(spec: dict[str, Any], container: dict[str, Any], key: str) -> Any:
    return container.get("securityContext", {}).get(key, spec.get("securityContext", {}).get(key))


@pytest.mark.parametrize(("values_files", "set_values"), CASES)
def test_every_container_is_unprivileged_read_only_and_bounded(
    render: Render, values_files: tuple[Path, ...], set_values: dict[str, str]
) -> None:
    problems = []
    checked = 0
    for where, spec in all_pod_specs(render(*values_files, **set_values).documents):
        for container in containers(spec):
            checked += 1
            name = f"{where} container {container['name']}"
            context = container.get("securityContext", {})
            if _effective(spec, container, "runAsNonRoot") is not True:
                problems.append(f"{name}: runAsNonRoot is not true")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{name}: allowPrivilegeEscalation is not false")
            if "ALL" not in context.get("capabilities", {}).get("drop", []):
                problems.append(f"{name}: capabilities are not all dropped")
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{name}: root file system is writable")
            if spec.get("securityContext", {}).get("seccompProfile", {}).get("type") != "RuntimeDefault":
                problems.append(f"{name}: no RuntimeDefault seccomp profile")
            if "resources" not in container and where.startswith("yq-yuqing-spark-conf"):
                continue  # Spark sets an executor's resources from spark.executor.* itself
            for bound in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(container.get("resources", {}).get(bound, {}))
                if missing:
                    problems.append(f"{name}: no {bound} for {sorted(missing)}")
    assert checked >= 5
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("values_files", "set_values"), CASES)
def test_secrets_are_only_referenced_or_generated(
    render: Render, values_files: tuple[Path, ...], set_values: dict[str, str]
) -> None:
    rendered = render(*values_files, **set_values)
    for secret in rendered.of_kind("Secret"):
        # The only Secrets the chart writes hold passwords it generated for bundled services.
        assert secret["metadata"]["annotations"].get("yuqing.io/generated") == "true", secret["metadata"]["name"]
        assert secret["metadata"]["labels"]["app.kubernetes.io/component"] in {"redis", "postgresql", "minio"}
    for where, spec in all_pod_specs(rendered.documents):
        for container in containers(spec):
            for entry in container.get("env", []):
                if any(word in entry["name"] for word in SECRET_WORDS):
                    assert "secretKeyRef" in entry.get("valueFrom", {}), (
                        f"{where}: {entry['name']} is not from a Secret"
                    )
    for config_map in rendered.of_kind("ConfigMap"):
        text = str(config_map.get("data", {})).lower()
        assert "password" not in text and "secret_access_key" not in text, config_map["metadata"]["name"]


def test_a_url_with_a_password_in_values_is_refused(helm: Helm) -> None:
    result = helm.template_raw(set_values={
        "broker.existingSecret.name": "", "broker.url": "redis://:hunter2@redis:6379/0",
    })  # fmt: skip
    assert result.returncode != 0
    assert "broker.url carries a password; put the URL in a Secret" in result.stderr
    assert "hunter2" not in result.stdout


def test_a_url_without_a_password_is_used_as_is(render: Render) -> None:
    rendered = render(**{"broker.existingSecret.name": "", "broker.url": "redis://redis:6379/0"})
    worker = pod_spec(rendered.component("Deployment", "analysis-worker"))["containers"][0]
    assert {"name": "YQ_BROKER_URL", "value": "redis://redis:6379/0"} in worker["env"]


def test_only_the_spark_driver_gets_a_kubernetes_api_token(render: Render) -> None:
    rendered = render()
    with_token = [
        d["metadata"]["name"]
        for d in workloads(rendered.documents)
        if pod_spec(d).get("automountServiceAccountToken") is not False
    ]
    assert with_token == ["yq-yuqing-clean"]
    for account in rendered.of_kind("ServiceAccount"):
        if account["metadata"]["labels"]["app.kubernetes.io/component"] != "clean-driver":
            assert account["automountServiceAccountToken"] is False


def test_network_policies_deny_by_default_and_open_only_the_needed_paths(render: Render) -> None:
    rendered = render(*(f for f in EXAMPLES if f.name == "values-dev.yaml"))
    policies = {p["metadata"]["name"]: p["spec"] for p in rendered.of_kind("NetworkPolicy")}
    deny = policies["yq-yuqing-default-deny"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/instance": "yq"}}
    assert deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    postgres = policies["yq-yuqing-postgresql"]["ingress"][0]
    assert postgres["ports"] == [{"port": 5432}]
    assert postgres["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "yq"}}}]
    spark = policies["yq-yuqing-spark"]
    assert spark["podSelector"]["matchExpressions"][0]["values"] == ["clean-driver", "clean-executor"]
    production = {
        p["metadata"]["name"]: p["spec"]
        for p in render(*(f for f in EXAMPLES if f.stem.endswith("production"))).of_kind("NetworkPolicy")
    }
    vllm = production["yq-yuqing-vllm"]["ingress"][0]
    assert vllm["from"] == [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "yuqing", "app.kubernetes.io/instance": "yq", "app.kubernetes.io/component": "analysis-worker",
    }}}]  # fmt: skip
    api = production["yq-yuqing-api"]["ingress"][0]
    assert api["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
