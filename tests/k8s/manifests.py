"""Walking rendered manifests: the pod specs and containers inside workloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")
# Custom resources whose schemas ship with their operators, not with Kubernetes.
CUSTOM_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("sparkoperator.k8s.io/v1beta2", "ScheduledSparkApplication"),
}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment, StatefulSet, Job or CronJob."""
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def pod_labels(doc: dict[str, Any]) -> dict[str, str]:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return doc["spec"]["template"]["metadata"]["labels"]


def workloads(documents: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (d for d in documents if d["kind"] in WORKLOAD_KINDS)


def executor_pod_templates(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Pod templates Spark reads from a ConfigMap (its executors)."""
    for doc in documents:
        if doc["kind"] == "ConfigMap" and "executor-pod.yaml" in doc.get("data", {}):
            yield doc["metadata"]["name"], yaml.safe_load(doc["data"]["executor-pod.yaml"])["spec"]


def all_pod_specs(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, pod spec) for every pod the release creates, Spark executors included."""
    for doc in workloads(documents):
        yield f"{doc['kind']}/{doc['metadata']['name']}", pod_spec(doc)
    yield from executor_pod_templates(documents)


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def env_value(container: dict[str, Any], name: str) -> str | None:
    entry = env_of(container).get(name)
    return None if entry is None else entry.get("value")
