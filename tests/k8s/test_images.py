"""The Dockerfiles the chart's images come from, and the cleaning job's driver wrapper."""

from __future__ import annotations

import importlib.util
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from tests.k8s.helm import CHART_DIR

DOCKER_DIR = CHART_DIR.parent / "docker"
DOCKERFILES = sorted(DOCKER_DIR.glob("*.Dockerfile"))


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, heredoc bodies skipped."""
    text = re.sub(r"<<'?(\w+)'?\n.*?\n\1\n", "\n", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"\\\n", " ", text)
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _clean_job():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("clean_job", DOCKER_DIR / "spark" / "clean_job.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_is_a_dockerfile_for_every_yuqing_image_the_chart_uses() -> None:
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    repositories = {values["images"][name]["repository"] for name in ("app", "crawler", "spark", "asrCuda")}
    bake = (DOCKER_DIR / "docker-bake.hcl").read_text(encoding="utf-8")
    for repository in repositories:
        target = repository.removeprefix("yuqing-")
        assert (DOCKER_DIR / f"{target}.Dockerfile").is_file(), repository
        assert f'"${{REGISTRY}}/{repository}:${{TAG}}"' in bake, f"bake builds no {repository}"
        assert f'dockerfile = "docker/{target}.Dockerfile"' in bake


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_images_are_multi_stage_pinned_and_run_unprivileged(dockerfile: Path) -> None:
    instructions = _instructions(dockerfile)
    args = dict(re.match(r"(\w+)=(\S+)", rest).groups() for kw, rest in instructions if kw == "ARG" and "=" in rest)  # type: ignore[union-attr]
    froms = [rest.split()[0] for kw, rest in instructions if kw == "FROM"]
    stage_names = {rest.split()[-1] for kw, rest in instructions if kw == "FROM" and " AS " in rest.upper()}
    assert len(froms) >= 2 or froms == ["app"], f"{dockerfile.name}: a single stage not built on the app image"
    for base in froms:
        base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        if base in stage_names or base == "app":
            continue
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*", base), (
            f"{dockerfile.name}: base {base} is not pinned to a release"
        )
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1] == "10001:10001", f"{dockerfile.name}: the final stage must run as uid 10001"
    for _, pinned in (m for m in ((kw, rest) for kw, rest in instructions if kw == "RUN") if "pip install" in m[1]):
        for requirement in re.findall(r'"([\w.-]+)==\$\{?\w+\}?"', pinned):
            assert requirement, dockerfile.name


def test_the_app_image_installs_the_pinned_dependencies_of_pyproject() -> None:
    text = (DOCKER_DIR / "app.Dockerfile").read_text(encoding="utf-8")
    assert 'tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]' in text
    assert "pip install --requirement /tmp/requirements.txt" in text
    assert "pip install --no-deps ." in text
    assert 'ENTRYPOINT ["tini", "--", "yuqing"]' in text


def test_the_spark_image_carries_hadoop_aws_for_the_bundled_hadoop() -> None:
    text = (DOCKER_DIR / "spark.Dockerfile").read_text(encoding="utf-8")
    pyspark_jars = Path(importlib.util.find_spec("pyspark").origin).parent / "jars"  # type: ignore[union-attr, arg-type]
    hadoop = sorted(p.name for p in pyspark_jars.glob("hadoop-client-api-*.jar"))
    assert hadoop, "pyspark ships no hadoop-client-api jar"
    version = re.search(r"hadoop-client-api-([\d.]+)\.jar", hadoop[0]).group(1)  # type: ignore[union-attr]
    assert f"ARG HADOOP_AWS_VERSION={version}" in text, f"hadoop-aws must match PySpark's Hadoop {version}"
    assert "org.apache.hadoop:hadoop-aws:${HADOOP_AWS_VERSION}" in text
    assert 'ENTRYPOINT ["/opt/yuqing/spark-entrypoint.sh"]' in text


def test_the_clean_job_runs_clean_then_queues_analysis() -> None:
    clean_job = _clean_job()
    today = date(2026, 11, 27)
    assert clean_job.cli_commands(2, True, today) == [
        ["clean", "--since", "2026-11-25"],
        ["analyze", "--enqueue", "--no-wait"],
    ]
    assert clean_job.cli_commands(0, False, today) == [["clean"]]


def test_the_clean_job_stops_at_a_failing_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_job = _clean_job()
    monkeypatch.setenv("YQ_DATABASE_URL", "mysql://nowhere/db")
    assert clean_job.main(["--since-days", "0", "--enqueue-analysis"]) == 2
    assert "YQ_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL" in capsys.readouterr().out


def test_the_clean_job_refuses_negative_days(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _clean_job().main(["--since-days", "-1"])
    assert exit_info.value.code == 2
    assert "--since-days must be 0 or more" in capsys.readouterr().err
