"""Make the default voice clip set ONCE with Debian's espeak-ng and sox; the result is committed.

    python -m display.make_clips [--out display/clips/default] [--voice cmn-latn-pinyin+f2]

The server never runs espeak: it only joins these clips (display/voice.py). espeak's `cmn` voice
reads tone-numbered pinyin as English; `cmn-latn-pinyin` reads both Hanzi and pinyin as Mandarin
and reads Latin letters the way Chinese speakers say them (B "bì", C "sēi"), which is how halls
announce ticket prefixes. Each clip is one syllable or one fixed phrase, spoken on its own,
trimmed of silence and normalised (voice.py fades each clip 4 ms at both ends, so joins never click), 16 kHz mono 16-bit.
A hall with recorded voice files replaces the whole directory (names in display/clips/README.md).
"""
from __future__ import annotations

import argparse
import math
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

from .voice import CLIP_TEXTS, RATE

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "clips" / "default"
TEMPO = 1.2  # espeak says isolated syllables slowly; sox tempo (pitch kept) tightens them


def speak(text: str, out: Path, voice: str, speed: int, pitch: int) -> None:
    """espeak-ng to a temporary WAV, then sox: trim silence both ends, 16 kHz, normalise, fade."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", "120",
                        "-w", str(raw), text], check=True)
        subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(out),
                        "silence", "1", "0.01", "0.6%", "reverse", "silence", "1", "0.01", "0.6%", "reverse",
                        "tempo", "-s", str(TEMPO), "gain", "-n", "-1.5"], check=True)


def chime(out: Path) -> None:
    """A soft two-note "ding-dong" (E5 then C5, bell-like decay, the notes overlapping so there is
    no click) that draws attention before a call."""
    total = int(RATE * 0.95)
    mix = [0.0] * total
    for freq, start in ((659.25, 0.0), (523.25, 0.36)):
        first = int(RATE * start)
        for i in range(total - first):
            t = i / RATE
            env = math.exp(-5.0 * t) * min(1.0, i / (0.004 * RATE))
            mix[first + i] += env * (math.sin(2 * math.pi * freq * t) + 0.35 * math.sin(4 * math.pi * freq * t)
                                     + 0.12 * math.sin(6 * math.pi * freq * t)) / 1.47
    frames = b"".join(struct.pack("<h", int(max(-1.0, min(1.0, v * 0.5)) * 32767)) for v in mix)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--voice", default="cmn-latn-pinyin+f2")
    ap.add_argument("--speed", type=int, default=170, help="words per minute (espeak default 175)")
    ap.add_argument("--pitch", type=int, default=50)
    args = ap.parse_args(argv)
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install -y espeak-ng sox")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in CLIP_TEXTS.items():
        speak(text, args.out / f"{name}.wav", args.voice, args.speed, args.pitch)
    chime(args.out / "chime.wav")
    total = sum(p.stat().st_size for p in args.out.glob("*.wav"))
    print(f"{len(CLIP_TEXTS) + 1} clips in {args.out}, {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
