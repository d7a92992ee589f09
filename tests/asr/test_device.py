"""Where the model runs: CUDA float16 when a GPU is there, a clear ConfigError when it is not, threads per process."""

from __future__ import annotations

import os
from pathlib import Path

import ctranslate2
import pytest

from asr.transcriber import Transcriber, check_device, cpu_threads, load_transcriber
from yuqing.errors import ConfigError
from yuqing.settings import ASRSettings, Settings

has_cuda = ctranslate2.get_cuda_device_count() > 0
needs_no_gpu = pytest.mark.skipif(has_cuda, reason="this machine has a CUDA device")


@needs_no_gpu
def test_cuda_without_a_gpu_is_a_config_error_that_says_what_to_set(model_dir: Path) -> None:
    settings = Settings(asr=ASRSettings(device="cuda", compute_type="float16", model=str(model_dir)))
    with pytest.raises(ConfigError, match=r"YQ_ASR__DEVICE=cuda but CTranslate2 sees no CUDA device.*YQ_ASR__DEVICE=cpu"):
        load_transcriber(settings)


def test_float16_on_a_cpu_is_a_config_error_naming_the_supported_types() -> None:
    with pytest.raises(ConfigError, match=r"YQ_ASR__COMPUTE_TYPE=float16 is not supported on cpu here; choose one of .*int8"):
        check_device("cpu", "float16")
    with pytest.raises(ConfigError, match="YQ_ASR__COMPUTE_TYPE=int9"):
        check_device("cpu", "int9")


@needs_no_gpu
def test_auto_runs_on_the_cpu_here_and_the_transcript_says_so(model_dir: Path) -> None:
    transcriber = Transcriber(model_dir, device="auto", compute_type="int8", cpu_threads=1)
    assert transcriber.device == "cpu"
    assert transcriber.decode_options("zh")["device"] == "cpu"


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not has_cuda, reason="needs a CUDA device visible to CTranslate2")
def test_cuda_float16_transcribes_the_chinese_clip(model_dir: Path, media: Path) -> None:
    transcriber = Transcriber(model_dir, device="cuda", compute_type="float16")
    t = transcriber.transcribe(media / "zh.mp3")
    assert t.language == "zh" and "新华" in t.text
    assert t.decode_options["device"] == "cuda" and t.decode_options["compute_type"] == "float16"


def test_threads_default_to_the_cores_shared_among_the_worker_processes() -> None:
    cores = len(os.sched_getaffinity(0))
    assert cpu_threads(ASRSettings()) == cores
    assert cpu_threads(ASRSettings(worker_processes=2)) == max(1, cores // 2)
    assert cpu_threads(ASRSettings(worker_processes=cores * 4)) == 1
    assert cpu_threads(ASRSettings(cpu_threads=3, worker_processes=8)) == 3, "an explicit setting wins"
