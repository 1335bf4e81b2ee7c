"""Voice calls 「请A012号到3号窗口办理」 joined from short clips into one WAV per call.

Why clips: no cloud TTS and no model on the hall server; this is how hall systems have always
done it, and a hall can swap the synthetic set for a recorded voice by pointing
`HALL_VOICE_CLIPS` at a directory of WAV files with the same names (display/clips/README.md).
A file missing there falls back to the default set, so a hall may re-record only some.

The ticket is read character by character (A012 → A 零 一 二); the window number as a number
(3 → 三, 10 → 十, 12 → 十二, 21 → 二十一, 105 → 一百零五).
"""
from __future__ import annotations

import io
import os
import re
import threading
import wave
from array import array
from functools import lru_cache
from pathlib import Path

RATE = 16_000
DEFAULT_DIR = Path(__file__).resolve().parent / "clips" / "default"
DIGITS = "零一二三四五六七八九"

# Clip name -> what espeak-ng says for it (display/make_clips.py). Letters are read the way
# Chinese speakers name them; `cmn-latn-pinyin` does that for a bare Latin letter.
CLIP_TEXTS: dict[str, str] = {
    "qing": "请", "hao": "号", "dao": "到", "window_suffix": "号窗口办理", "recall": "再次呼叫",
    "shi": "十", "bai": "百",
    **{str(d): DIGITS[d] for d in range(10)},
    **{chr(c): chr(c) for c in range(ord("A"), ord("Z") + 1)},
}

# Silence between the parts, in milliseconds: tight inside the number, a breath between phrases.
GAP_AFTER_CHIME = 220
GAP_AFTER_RECALL = 260
GAP_PHRASE = 70
GAP_CHAR = 25
TAIL = 250

_TICKET = re.compile(r"^[A-Z]{0,3}[0-9]{1,6}$")
_lock = threading.Lock()


def clips_dir() -> Path:
    """The hall's recorded clips (env HALL_VOICE_CLIPS), or the default synthetic set."""
    env = os.environ.get("HALL_VOICE_CLIPS")
    return Path(env) if env else DEFAULT_DIR


def window_words(n: int) -> list[str]:
    """Clip names reading a window number the way it is said: 十, 十二, 二十一, 一百零五."""
    if n < 0:
        raise ValueError("window number must be >= 0")
    if n < 10:
        return [str(n)]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ([] if tens == 1 else [str(tens)]) + ["shi"] + ([str(ones)] if ones else [])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        words = [str(hundreds), "bai"]
        if rest == 0:
            return words
        if rest < 10:
            return words + ["0", str(rest)]
        tens, ones = divmod(rest, 10)
        return words + [str(tens), "shi"] + ([str(ones)] if ones else [])
    return list(str(n))  # very large numbers are read digit by digit


def ticket_words(number: str) -> list[str]:
    """A012 → ["A", "0", "1", "2"]: the ticket is read one character at a time."""
    number = number.strip().upper()
    if not _TICKET.match(number):
        raise ValueError(f"not a ticket number: {number!r}")
    return list(number)


def announcement_parts(ticket_number: str, window_number: int, recall: bool = False,
                       chime: bool = True) -> list[tuple[str, int]]:
    """The clips of one announcement with the silence (ms) before each."""
    parts: list[tuple[str, int]] = []
    if chime:
        parts.append(("chime", 0))
    if recall:
        parts.append(("recall", GAP_AFTER_CHIME if chime else 0))
    first = GAP_AFTER_RECALL if recall else (GAP_AFTER_CHIME if chime else 0)
    parts.append(("qing", first))
    parts += [(w, GAP_PHRASE if i == 0 else GAP_CHAR) for i, w in enumerate(ticket_words(ticket_number))]
    parts.append(("hao", GAP_CHAR))
    parts.append(("dao", GAP_PHRASE))
    parts += [(w, GAP_CHAR) for w in window_words(window_number)]
    parts.append(("window_suffix", GAP_CHAR))
    return parts


def announcement_wav(ticket_number: str, window_number: int, recall: bool = False,
                     chime: bool = True) -> bytes:
    """One WAV (16 kHz mono 16-bit) for a call: 「(再次呼叫) 请A012号到3号窗口办理」."""
    return _cached(str(clips_dir()), ticket_number.strip().upper(), int(window_number), bool(recall), bool(chime))


@lru_cache(maxsize=512)
def _cached(directory: str, ticket_number: str, window_number: int, recall: bool, chime: bool) -> bytes:
    samples = array("h")
    for name, gap_ms in announcement_parts(ticket_number, window_number, recall, chime):
        samples.extend(silence(gap_ms))
        samples.extend(load_clip(directory, name))
    samples.extend(silence(TAIL))
    return to_wav(samples)


def silence(ms: int) -> array:
    return array("h", bytes(2 * (RATE * ms // 1000)))


def to_wav(samples: array) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())
    return out.getvalue()


@lru_cache(maxsize=256)
def load_clip(directory: str, name: str) -> array:
    """A clip as 16 kHz mono samples, from the hall's directory or else the default set."""
    path = Path(directory) / f"{name}.wav"
    if not path.exists():
        path = DEFAULT_DIR / f"{name}.wav"
    with _lock, wave.open(str(path), "rb") as w:
        channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        raw = w.readframes(w.getnframes())
    return _fade(_resample(_mono16(raw, channels, width), rate))


def _mono16(raw: bytes, channels: int, width: int) -> array:
    """Recorded clips come as 8/16/24/32-bit, mono or stereo: bring them to mono 16-bit."""
    if width == 2:
        pcm = array("h", raw)
    elif width == 1:
        pcm = array("h", ((b - 128) << 8 for b in raw))
    elif width in (3, 4):
        pcm = array("h", (int.from_bytes(raw[i + width - 2:i + width], "little", signed=True)
                          for i in range(0, len(raw), width)))
    else:
        raise ValueError(f"unsupported sample width {width}")
    if channels == 1:
        return pcm
    return array("h", (sum(pcm[i:i + channels]) // channels for i in range(0, len(pcm), channels)))


def _resample(pcm: array, rate: int) -> array:
    if rate == RATE or not pcm:
        return pcm
    n = int(len(pcm) * RATE / rate)
    step = rate / RATE
    out = array("h")
    for i in range(n):
        x = i * step
        j = int(x)
        frac = x - j
        a = pcm[j]
        b = pcm[j + 1] if j + 1 < len(pcm) else a
        out.append(int(a + (b - a) * frac))
    return out


def _fade(pcm: array, ms: int = 4) -> array:
    """A few ms of fade at each end so joins never click, whatever the recording."""
    n = min(len(pcm) // 2, RATE * ms // 1000)
    out = array("h", pcm)
    for i in range(n):
        k = i / n
        out[i] = int(out[i] * k)
        out[-1 - i] = int(out[-1 - i] * k)
    return out


def wav_stats(data: bytes) -> tuple[float, float]:
    """(duration in seconds, RMS in 0..1) of a 16-bit mono WAV: for tests and the bench."""
    with wave.open(io.BytesIO(data), "rb") as w:
        pcm = array("h", w.readframes(w.getnframes()))
        rate = w.getframerate()
    rms = (sum(s * s for s in pcm) / len(pcm)) ** 0.5 / 32768 if pcm else 0.0
    return len(pcm) / rate, rms
