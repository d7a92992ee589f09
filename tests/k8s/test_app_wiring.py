"""The chart configures Yuqing through settings and commands that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import BaseModel

from tests.k8s.conftest import EXAMPLES, Render
from tests.k8s.manifests import all_pod_specs, containers
from yuqing.celery_app import QUEUES
from yuqing.cli import app
from yuqing.settings import Settings

pytestmark = pytest.mark.integration

CASES = [pytest.param((), {}, id="defaults"), *(pytest.param((f,), {}, id=f.stem) for f in EXAMPLES)]
YUQING_IMAGES = ("/yuqing-app:", "/yuqing-crawler:", "/yuqing-asr-cuda:")
# Read by Settings.settings_customise_sources, not a field: the YAML file the chart mounts.
CONFIG_FILE_VARIABLE = "YQ_CONFIG"


def _setting_exists(env_name: str) -> bool:
    """YQ_LLM__BASE_URL -> Settings.llm.base_url, following nested models."""
    if env_name == CONFIG_FILE_VARIABLE:
        return True
    model: type[BaseModel] = Settings
    parts = env_name.removeprefix("YQ_").lower().split("__")
    for depth, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation: Any = field.annotation
        if depth < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def _yuqing_containers(documents: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (where, c) for where, spec in all_pod_specs(documents) for c in containers(spec)
        if any(tag in c.get("image", "") for tag in YUQING_IMAGES)
    ]  # fmt: skip


@pytest.mark.parametrize(("values_files", "set_values"), CASES)
def test_every_yq_variable_is_a_setting(
    render: Render, values_files: tuple[Path, ...], set_values: dict[str, str]
) -> None:
    names = {
        e["name"] for _, c in _yuqing_containers(render(*values_files, **set_values).documents)
        for e in c.get("env", []) if e["name"].startswith("YQ_")
    }  # fmt: skip
    assert {"YQ_DATABASE_URL", "YQ_BROKER_URL", "YQ_OBJECT_STORE_URL", "YQ_LLM__MODEL"} <= names
    unknown = sorted(n for n in names if not _setting_exists(n))
    assert not unknown, f"the chart sets variables yuqing/settings.py does not read: {unknown}"


def test_the_setting_check_rejects_a_misspelt_variable() -> None:
    assert _setting_exists("YQ_ASR__COMPUTE_TYPE")
    assert not _setting_exists("YQ_ASR__COMPUTE")
    assert not _setting_exists("YQ_DATABASE_URL__X")


@pytest.mark.parametrize(("values_files", "set_values"), CASES)
def test_every_command_and_queue_exists(
    render: Render, values_files: tuple[Path, ...], set_values: dict[str, str]
) -> None:
    cli = typer.main.get_command(app)
    assert hasattr(cli, "commands"), cli
    for where, container in _yuqing_containers(render(*values_files, **set_values).documents):
        args = container.get("args", [])
        if container.get("command"):
            continue  # a shell or the Spark wrapper, tested in test_images
        command = cli.commands.get(args[0])
        assert command is not None, f"{where}: `yuqing {args[0]}` is not a command"
        options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        flags = [a for a in args[1:] if a.startswith("--")]
        assert set(flags) <= options, f"{where}: `yuqing {args[0]}` has no option {set(flags) - options}"
        if args[0] == "worker":
            queues = args[args.index("--queues") + 1].split(",")
            assert set(queues) <= set(QUEUES), f"{where}: unknown queue {queues}"
