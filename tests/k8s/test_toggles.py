"""What each switch in values.yaml turns on and off in the rendered manifests."""

from __future__ import annotations

import base64

import pytest
import yaml

from tests.k8s.conftest import Render, example
from tests.k8s.helm import Helm
from tests.k8s.manifests import env_of, env_value, pod_spec

pytestmark = pytest.mark.integration


def _worker(rendered, component: str) -> dict:  # type: ignore[no-untyped-def]
    return pod_spec(rendered.component("Deployment", component))["containers"][0]


# --- ASR on GPU or CPU ------------------------------------------------------------------------


def test_asr_on_cpu_uses_int8_and_no_gpu(render: Render) -> None:
    spec = pod_spec(render().component("Deployment", "asr-worker"))
    worker = spec["containers"][0]
    assert env_value(worker, "YQ_ASR__DEVICE") == "cpu"
    assert env_value(worker, "YQ_ASR__COMPUTE_TYPE") == "int8"
    assert "nvidia.com/gpu" not in worker["resources"]["limits"]
    assert "nvidia.com/gpu.present" not in spec.get("nodeSelector", {})
    assert worker["image"].endswith("/yuqing-app:0.1.0")
    assert worker["args"] == ["worker", "--queues", "asr", "--concurrency", "1"]


def test_asr_on_gpu_uses_cuda_float16_a_gpu_and_gpu_nodes(render: Render) -> None:
    spec = pod_spec(render(**{"asr.gpu": "true"}).component("Deployment", "asr-worker"))
    worker = spec["containers"][0]
    assert env_value(worker, "YQ_ASR__DEVICE") == "cuda"
    assert env_value(worker, "YQ_ASR__COMPUTE_TYPE") == "float16"
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert any(t["key"] == "nvidia.com/gpu" for t in spec["tolerations"])
    assert worker["image"].endswith("/yuqing-asr-cuda:0.1.0")


# --- vLLM ---------------------------------------------------------------------------------------


def _vllm(rendered) -> dict:  # type: ignore[no-untyped-def]
    return pod_spec(rendered.component("Deployment", "vllm"))["containers"][0]


def test_vllm_serves_qwen_with_prefix_caching_and_slow_start_tolerance(render: Render) -> None:
    rendered = render()
    vllm = _vllm(rendered)
    assert vllm["image"] == "vllm/vllm-openai:v0.33.0"
    assert vllm["args"][0] == "Qwen/Qwen2.5-7B-Instruct"
    assert "--served-model-name=qwen2.5-7b-instruct" in vllm["args"]
    assert "--tensor-parallel-size=1" in vllm["args"]
    assert "--enable-prefix-caching" in vllm["args"]
    assert "--max-model-len=8192" in vllm["args"]
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == 1
    startup = vllm["startupProbe"]
    assert startup["httpGet"]["path"] == "/health"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 20 * 60, "weights take minutes to load"
    assert vllm["readinessProbe"]["httpGet"]["path"] == vllm["livenessProbe"]["httpGet"]["path"] == "/health"
    mounts = {m["name"]: m["mountPath"] for m in vllm["volumeMounts"]}
    assert env_value(vllm, "HF_HOME") == mounts["model-cache"] + "/hf"
    assert rendered.component("PersistentVolumeClaim", "vllm")["spec"]["resources"]["requests"]["storage"] == "100Gi"
    # The analysis workers are pointed at it, by the name it serves.
    worker = _worker(rendered, "analysis-worker")
    assert env_value(worker, "YQ_LLM__BASE_URL") == "http://yq-yuqing-vllm:8000/v1"
    assert env_value(worker, "YQ_LLM__MODEL") == "qwen2.5-7b-instruct"


def test_lora_off_passes_no_lora_flags(render: Render) -> None:
    assert not [a for a in _vllm(render())["args"] if "lora" in a]


def test_lora_on_enables_and_lists_the_adapters(render: Render) -> None:
    args = _vllm(render(**{
        "vllm.lora.enabled": "true",
        "vllm.lora.adapters[0].name": "sentiment", "vllm.lora.adapters[0].path": "/models/lora/sentiment",
        "vllm.lora.adapters[1].name": "risk", "vllm.lora.adapters[1].path": "/models/lora/risk",
    }))["args"]  # fmt: skip
    assert "--enable-lora" in args
    at = args.index("--lora-modules")
    assert args[at + 1 : at + 3] == ["sentiment=/models/lora/sentiment", "risk=/models/lora/risk"]
    assert "--max-loras=4" in args and "--max-lora-rank=16" in args


def test_lora_on_without_adapters_is_refused(helm: Helm) -> None:
    result = helm.template_raw(set_values={"vllm.lora.enabled": "true"})
    assert result.returncode != 0
    assert "vllm.lora.enabled needs at least one adapter" in result.stderr


def test_tensor_parallel_size_sets_the_gpu_count(render: Render) -> None:
    vllm = _vllm(render(**{"vllm.tensorParallelSize": "2"}))
    assert "--tensor-parallel-size=2" in vllm["args"]
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == vllm["resources"]["requests"]["nvidia.com/gpu"] == 2


def test_secrets_of_vllm_come_from_existing_secrets(render: Render) -> None:
    rendered = render(**{"vllm.hfToken.secretName": "hf", "vllm.apiKey.secretName": "vllm-key"})
    env = env_of(_vllm(rendered))
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf", "key": "token"}
    assert env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vllm-key", "key": "api-key"}
    worker_env = env_of(_worker(rendered, "analysis-worker"))
    assert worker_env["YQ_LLM__API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "vllm-key", "key": "api-key"}


def test_without_vllm_the_workers_call_the_external_server(render: Render) -> None:
    rendered = render(**{"vllm.enabled": "false", "llm.baseUrl": "http://llm.ml:8000/v1", "llm.model": "qwen-72b"})
    assert not rendered.has_component("Deployment", "vllm")
    worker = _worker(rendered, "analysis-worker")
    assert env_value(worker, "YQ_LLM__BASE_URL") == "http://llm.ml:8000/v1"
    assert env_value(worker, "YQ_LLM__MODEL") == "qwen-72b"


def test_llm_analyzer_without_any_server_is_refused(helm: Helm) -> None:
    result = helm.template_raw(set_values={"vllm.enabled": "false"})
    assert result.returncode != 0
    assert "llm.baseUrl is empty" in result.stderr


# --- API Ingress ----------------------------------------------------------------------------------


def test_ingress_off_by_default(render: Render) -> None:
    assert not render().of_kind("Ingress")


def test_ingress_on_routes_the_host_to_the_api_service(render: Render) -> None:
    rendered = render(
        **{"api.ingress.enabled": "true", "api.ingress.host": "yq.example.org", "api.ingress.className": "nginx"}
    )
    ingress = rendered.component("Ingress", "api")
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "yq.example.org"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == rendered.component("Service", "api")["metadata"]["name"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert "tls" not in ingress["spec"]


def test_ingress_tls_names_the_certificate_secret(render: Render) -> None:
    ingress = render(**{"api.ingress.enabled": "true", "api.ingress.tls.enabled": "true"}).component("Ingress", "api")
    assert ingress["spec"]["tls"] == [{"hosts": ["yuqing.example.com"], "secretName": "yuqing-api-tls"}]


# --- Dependencies: external or bundled -------------------------------------------------------------


def test_external_dependencies_come_from_existing_secrets(render: Render) -> None:
    rendered = render()
    assert not rendered.of_kind("StatefulSet") and not rendered.of_kind("Secret")
    env = env_of(_worker(rendered, "analysis-worker"))
    assert env["YQ_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "yuqing-database", "key": "url"}
    assert env["YQ_BROKER_URL"]["valueFrom"]["secretKeyRef"] == {"name": "yuqing-broker", "key": "url"}
    assert env["YQ_S3__ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"] == "yuqing-s3"
    assert env["YQ_OBJECT_STORE_URL"]["value"] == "s3://yuqing-data/prod"
    assert "YQ_S3__ENDPOINT_URL" not in env


def test_bundled_dependencies_run_in_the_release_with_generated_secrets(render: Render) -> None:
    rendered = render(example("values-dev.yaml"))
    assert {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in rendered.of_kind("StatefulSet")} == {
        "redis", "postgresql", "minio",
    }  # fmt: skip
    env = env_of(_worker(rendered, "analysis-worker"))
    database = env["YQ_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    broker = env["YQ_BROKER_URL"]["valueFrom"]["secretKeyRef"]
    assert database == {"name": "yq-yuqing-postgresql", "key": "url"}
    assert broker == {"name": "yq-yuqing-redis", "key": "url"}
    assert env["YQ_OBJECT_STORE_URL"]["value"] == "s3://yuqing"
    assert env["YQ_S3__ENDPOINT_URL"]["value"] == "http://yq-yuqing-minio:9000"
    secrets = {d["metadata"]["name"]: d for d in rendered.of_kind("Secret")}
    url = base64.b64decode(secrets["yq-yuqing-postgresql"]["data"]["url"]).decode()
    password = base64.b64decode(secrets["yq-yuqing-postgresql"]["data"]["password"]).decode()
    assert url == f"postgresql+psycopg://yuqing:{password}@yq-yuqing-postgresql:5432/yuqing"
    assert len(password) == 32
    redis_url = base64.b64decode(secrets["yq-yuqing-redis"]["data"]["url"]).decode()
    assert redis_url.startswith("redis://:") and redis_url.endswith("@yq-yuqing-redis:6379/0")
    # The bucket Yuqing writes to is created once MinIO is up; the migration waits for the database.
    bucket_job = rendered.component("Job", "minio-bucket")
    assert 'mc mb --ignore-existing "yuqing/yuqing"' in pod_spec(bucket_job)["containers"][0]["args"][0]
    assert rendered.component("Job", "migrate")["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"


def test_no_database_configured_is_refused(helm: Helm) -> None:
    result = helm.template_raw(set_values={"database.existingSecret.name": ""})
    assert result.returncode != 0
    assert "no database" in result.stderr


# --- Autoscaling: HPA or KEDA ---------------------------------------------------------------------


def test_hpa_scales_the_analysis_workers_on_cpu(render: Render) -> None:
    rendered = render()
    hpa = rendered.component("HorizontalPodAutoscaler", "analysis-worker")
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert not rendered.of_kind("ScaledObject")
    assert "replicas" not in rendered.component("Deployment", "analysis-worker")["spec"], "the HPA owns replicas"


def test_keda_scales_on_the_analysis_queue_length(render: Render) -> None:
    rendered = render(example("values-gpu-production.yaml"))
    assert not rendered.of_kind("HorizontalPodAutoscaler")
    scaled = rendered.component("ScaledObject", "analysis-worker")
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "redis"
    assert trigger["metadata"] == {
        "address": "redis.internal:6379",
        "listName": "analysis",
        "listLength": "64",
        "databaseIndex": "0",
    }
    auth = rendered.component("TriggerAuthentication", "analysis-worker")
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "password", "name": "yuqing-broker", "key": "password"}]


def test_autoscaling_off_sets_fixed_replicas(render: Render) -> None:
    rendered = render(**{"analysis.autoscaling.enabled": "false", "analysis.replicas": "3"})
    assert not rendered.of_kind("HorizontalPodAutoscaler") and not rendered.of_kind("ScaledObject")
    assert rendered.component("Deployment", "analysis-worker")["spec"]["replicas"] == 3


# --- Crawls: beat or one CronJob per source -----------------------------------------------------------


def test_beat_mode_runs_one_beat_and_a_crawl_worker(render: Render) -> None:
    rendered = render(example("values-dev.yaml"))
    beat = rendered.component("Deployment", "beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    assert pod_spec(beat)["containers"][0]["args"] == ["schedule"]
    crawler = _worker(rendered, "crawl-worker")
    assert crawler["args"][:3] == ["worker", "--queues", "crawl"]
    assert crawler["image"].endswith("/yuqing-crawler:0.1.0")
    assert not rendered.has_component("CronJob", "crawl")
    sources = yaml.safe_load(rendered.component("ConfigMap", "sources")["data"]["sources.yaml"])
    assert [s["name"] for s in sources["sources"]] == ["people"]
    assert env_value(crawler, "YQ_CRAWL__SOURCES_FILE") == "/etc/yuqing/sources/sources.yaml"


def test_cronjob_mode_runs_one_cronjob_per_source_on_its_schedule(render: Render) -> None:
    rendered = render(example("values-gpu-production.yaml"))
    crawls = [
        d for d in rendered.of_kind("CronJob") if d["metadata"]["labels"]["app.kubernetes.io/component"] == "crawl"
    ]
    by_source = {d["metadata"]["labels"]["yuqing.io/source"]: d for d in crawls}
    assert {name: d["spec"]["schedule"] for name, d in by_source.items()} == {
        "people": "*/20 * * * *", "sina-finance": "*/15 * * * *", "thepaper": "0 * * * *",
    }  # fmt: skip
    job = by_source["thepaper"]
    assert job["spec"]["timeZone"] == "Asia/Shanghai" and job["spec"]["concurrencyPolicy"] == "Forbid"
    container = pod_spec(job)["containers"][0]
    assert container["args"] == ["crawl", "--source", "thepaper"]
    assert container["image"].endswith("/yuqing-crawler:0.1.0")
    assert any(v.get("emptyDir", {}).get("medium") == "Memory" for v in pod_spec(job)["volumes"]), (
        "Chromium needs /dev/shm"
    )
    assert not rendered.has_component("Deployment", "beat")


def test_a_source_named_twice_is_refused(helm: Helm) -> None:
    result = helm.template_raw(set_values={
        "crawl.sources[0].name": "a", "crawl.sources[0].start[0].url": "http://a", "crawl.sources[0].article_patterns[0]": "x",
        "crawl.sources[1].name": "a", "crawl.sources[1].start[0].url": "http://b", "crawl.sources[1].article_patterns[0]": "y",
    })  # fmt: skip
    assert result.returncode != 0
    assert 'the name "a" is used twice' in result.stderr


# --- Cleaning: a Job driving Spark on Kubernetes, or a SparkApplication -----------------------------------


def test_clean_job_runs_the_spark_driver_against_kubernetes(render: Render) -> None:
    rendered = render()
    cron = rendered.component("CronJob", "clean-driver")
    spec = pod_spec(cron)
    driver = spec["containers"][0]
    assert driver["command"] == ["python", "/opt/yuqing/clean_job.py"]
    assert driver["args"] == ["--since-days", "2", "--enqueue-analysis"]
    assert driver["image"].endswith("/yuqing-spark:0.1.0")
    assert env_value(driver, "YQ_CLEAN__SPARK_MASTER") == "k8s://https://kubernetes.default.svc:443"
    assert "spark.driver.host=$(POD_IP)" in env_value(driver, "PYSPARK_SUBMIT_ARGS")
    assert env_value(driver, "YQ_OBJECT_STORE_URL").startswith("s3://")
    # The driver alone may create executor pods.
    account = spec["serviceAccountName"]
    assert spec["automountServiceAccountToken"] is True
    binding = rendered.component("RoleBinding", "clean-driver")
    assert binding["subjects"][0]["name"] == account
    role = rendered.component("Role", "clean-driver")
    assert "pods" in role["rules"][0]["resources"] and "create" in role["rules"][0]["verbs"]
    conf = rendered.component("ConfigMap", "clean-driver")["data"]["spark-defaults.conf"]
    assert "spark.kubernetes.container.image                   ghcr.io/your-org/yuqing-spark:0.1.0" in conf
    assert "spark.kubernetes.authenticate.driver.serviceAccountName " + account in conf
    assert not rendered.of_kind("ScheduledSparkApplication")


def test_spark_application_mode_hands_the_same_job_to_spark_operator(render: Render) -> None:
    rendered = render(**{"clean.mode": "sparkApplication"})
    assert not rendered.has_component("CronJob", "clean-driver")
    app = rendered.component("ScheduledSparkApplication", "clean-driver")
    assert app["apiVersion"] == "sparkoperator.k8s.io/v1beta2"
    spec = app["spec"]
    assert spec["schedule"] == "15 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    template = spec["template"]
    assert (template["type"], template["mode"]) == ("Python", "cluster")
    assert template["mainApplicationFile"] == "local:///opt/yuqing/clean_job.py"
    assert template["arguments"] == ["--since-days", "2", "--enqueue-analysis"]
    assert (
        template["driver"]["serviceAccount"] == rendered.component("ServiceAccount", "clean-driver")["metadata"]["name"]
    )
    driver_env = {e["name"]: e for e in template["driver"]["env"]}
    assert driver_env["YQ_CLEAN__SPARK_MASTER"]["value"].startswith("k8s://")
    assert template["executor"]["labels"]["app.kubernetes.io/component"] == "clean-executor"


def test_full_clean_runs_without_since(render: Render) -> None:
    driver = pod_spec(
        render(**{"clean.sinceDays": "0", "clean.enqueueAnalysis": "false"}).component("CronJob", "clean-driver")
    )
    assert driver["containers"][0]["args"] == ["--since-days", "0"]


# --- Stage hand-offs and alerts ---------------------------------------------------------------------


def test_enqueue_cronjobs_hand_work_on_without_waiting(render: Render) -> None:
    rendered = render()
    jobs = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in rendered.of_kind("CronJob")}
    assert pod_spec(jobs["enqueue-transcribe"])["containers"][0]["args"] == ["transcribe", "--enqueue"]
    assert pod_spec(jobs["enqueue-analyze"])["containers"][0]["args"] == ["analyze", "--enqueue", "--no-wait"]
    assert pod_spec(jobs["alerts"])["containers"][0]["args"] == ["alerts"]
    assert {j["spec"]["timeZone"] for j in jobs.values()} == {"Asia/Shanghai"}
    assert "alerts" not in {
        d["metadata"]["labels"]["app.kubernetes.io/component"]
        for d in render(**{"enqueue.alertsSchedule": ""}).of_kind("CronJob")
    }
