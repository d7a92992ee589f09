"""values.schema.json matches values.yaml, every value is commented, and bad values are refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.k8s.conftest import EXAMPLES
from tests.k8s.helm import CHART_DIR, Helm

SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
VALUES_TEXT = (CHART_DIR / "values.yaml").read_text(encoding="utf-8")
VALUES = yaml.safe_load(VALUES_TEXT)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _value_paths(value: Any, prefix: str = "") -> set[str]:
    """Dotted paths of every key in values.yaml."""
    if not isinstance(value, dict):
        return set()
    paths = set()
    for key, child in value.items():
        path = f"{prefix}.{key}" if prefix else key
        paths |= {path} | _value_paths(child, path)
    return paths


def _schema_paths(node: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of every property the schema names (free-form maps stop the walk)."""
    node = _resolve(node)
    paths = set()
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        paths |= {path} | _schema_paths(child, path)
    return paths


def _closed_paths(node: dict[str, Any], prefix: str = "") -> set[str]:
    """Paths of objects that refuse unknown keys: all their keys must be in the schema."""
    node = _resolve(node)
    paths = {prefix} if node.get("additionalProperties") is False else set()
    for key, child in node.get("properties", {}).items():
        paths |= _closed_paths(child, f"{prefix}.{key}" if prefix else key)
    return paths


def test_schema_and_values_name_the_same_keys() -> None:
    values, schema = _value_paths(VALUES), _schema_paths(SCHEMA)
    closed = _closed_paths(SCHEMA)
    undeclared = {p for p in values - schema if p.rpartition(".")[0] in closed}
    assert not undeclared, f"in values.yaml but not in values.schema.json: {sorted(undeclared)}"
    assert not schema - values, f"in values.schema.json but not in values.yaml: {sorted(schema - values)}"
    assert "" in closed, "the top level must refuse unknown keys"


@pytest.mark.parametrize("values_file", [CHART_DIR / "values.yaml", *EXAMPLES], ids=lambda p: p.name)
def test_values_files_satisfy_the_schema(values_file: Path) -> None:
    merged = yaml.safe_load(VALUES_TEXT)

    def merge(base: dict[str, Any], override: dict[str, Any]) -> None:  # Helm's merge: maps deep, the rest replaced
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value

    merge(merged, yaml.safe_load(values_file.read_text(encoding="utf-8")) or {})
    jsonschema.Draft7Validator(SCHEMA).validate(merged)


def _uncommented_keys(text: str) -> list[str]:
    """Keys of a values file with no comment above them, their group or their parent."""
    lines = text.splitlines()
    documented: dict[int, bool] = {}  # line number -> documented
    parents: list[tuple[int, int]] = []  # (indent, line number) of enclosing keys
    missing = []
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)([\w.\-/]+):", line)
        if not match or line.lstrip().startswith("#"):
            continue
        indent = len(match.group(1))
        while parents and parents[-1][0] >= indent:
            parents.pop()
        above = lines[number - 1].strip() if number else ""
        previous_sibling = next(
            (n for n in range(number - 1, -1, -1) if re.match(rf"^\s{{{indent}}}[\w.\-/]+:", lines[n])), None
        )  # fmt: skip
        ok = (
            above.startswith("#")
            or (
                re.match(rf"^\s{{{indent}}}[\w.\-/]+:", lines[number - 1] or "") is not None
                and documented.get(number - 1, False)
            )
            or (bool(parents) and documented[parents[-1][1]] and above != "")
            or (
                previous_sibling is not None
                and documented.get(previous_sibling, False)
                and above.endswith(("}", "]"))
                and above != ""
            )
        )
        documented[number] = ok
        if not ok:
            missing.append(f"line {number + 1}: {line.strip()}")
        parents.append((indent, number))
    return missing


def test_every_value_is_commented() -> None:
    assert not _uncommented_keys(VALUES_TEXT)


def test_the_comment_check_finds_an_uncommented_value() -> None:
    text = "# -- documented\na: 1\n\nb: 2\nc:\n  d: 3\n"
    assert _uncommented_keys(text) == ["line 4: b: 2", "line 5: c:", "line 6: d: 3"]


@pytest.mark.integration
def test_a_bad_values_file_is_refused_with_the_fields_named(helm: Helm, tmp_path: Path) -> None:
    bad = tmp_path / "bad-values.yaml"
    bad.write_text(
        "vllm:\n  tensorParallelSize: two\n"
        "crawl:\n  mode: daily\n"
        "api:\n  replcas: 3\n"
        "objectStore:\n  url: file:///data\n",
        encoding="utf-8",
    )
    for result in (helm.template_raw(bad), helm.lint(bad)):
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "values don't meet the specifications of the schema" in output
        assert "vllm.tensorParallelSize: Invalid type. Expected: integer, given: string" in output
        assert "crawl.mode: crawl.mode must be one of the following" in output
        assert "Additional property replcas is not allowed" in output
        assert "objectStore.url: Does not match pattern" in output


@pytest.mark.integration
def test_a_resource_without_limits_is_refused(helm: Helm, tmp_path: Path) -> None:
    bad = tmp_path / "no-limits.yaml"
    bad.write_text("api:\n  resources:\n    limits: null\n    requests: {cpu: 100m, memory: 128Mi}\n", encoding="utf-8")
    result = helm.template_raw(bad)
    assert result.returncode != 0
    assert "api.resources: limits is required" in result.stderr
