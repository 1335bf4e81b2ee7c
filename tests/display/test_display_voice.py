"""Voice calls joined from clips: the words, the WAVs (written under _artifacts to listen to), the
clip set's size, and a hall's own recordings replacing the default ones."""
from __future__ import annotations

import wave
from array import array
from pathlib import Path

import pytest

from display import voice
from display.voice import announcement_parts, announcement_wav, wav_stats, window_words

from display_helpers import ARTIFACTS

DIGIT = "零一二三四五六七八九"


def said(words: list[str]) -> str:
    names = {"shi": "十", "bai": "百", **{str(d): DIGIT[d] for d in range(10)}}
    return "".join(names.get(w, w) for w in words)


@pytest.mark.parametrize("n, text", [(1, "一"), (3, "三"), (10, "十"), (11, "十一"), (12, "十二"), (20, "二十"),
                                     (21, "二十一"), (99, "九十九"), (100, "一百"), (105, "一百零五"), (110, "一百一十"),
                                     (118, "一百一十八")])
def test_window_numbers_read_as_numbers(n, text):
    assert said(window_words(n)) == text


def test_the_words_of_a_call_and_a_recall():
    call = [name for name, _ in announcement_parts("A012", 3)]
    assert call == ["chime", "qing", "A", "0", "1", "2", "hao", "dao", "3", "window_suffix"]
    recall = [name for name, _ in announcement_parts("b105", 12, recall=True)]
    assert recall == ["chime", "recall", "qing", "B", "1", "0", "5", "hao", "dao", "shi", "2", "window_suffix"]
    with pytest.raises(ValueError):
        announcement_parts("A-1; rm", 3)


def test_announcement_wavs_sound_like_calls():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lengths = {}
    for ticket, window, recall in [("A012", 3, False), ("A012", 3, True), ("C107", 12, False), ("K009", 21, False)]:
        data = announcement_wav(ticket, window, recall=recall)
        name = f"voice_{ticket}_{window}{'_recall' if recall else ''}.wav"
        (ARTIFACTS / name).write_bytes(data)
        with wave.open(str(ARTIFACTS / name), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        seconds, rms = wav_stats(data)
        lengths[(ticket, window, recall)] = seconds
        # chime ~1 s + 10–12 syllables at ~0.3 s: a call is 4–8 s, never a clipped or runaway file
        assert 4.0 < seconds < 8.5, (name, seconds)
        assert rms > 0.05, (name, rms)                    # not silent
        pcm = array("h", wave.open(str(ARTIFACTS / name)).readframes(10**7))
        assert max(abs(s) for s in pcm) < 32767           # not clipped
    assert lengths[("A012", 3, True)] > lengths[("A012", 3, False)] + 0.8   # 「再次呼叫」 in front
    assert lengths[("K009", 21, False)] > lengths[("A012", 3, False)]       # 二十一 is longer than 三


def test_every_clip_is_small_16k_mono_and_not_silent():
    clips = sorted(voice.DEFAULT_DIR.glob("*.wav"))
    assert {p.stem for p in clips} == set(voice.CLIP_TEXTS) | {"chime"}
    assert sum(p.stat().st_size for p in clips) < 1024 * 1024
    for p in clips:
        data = p.read_bytes()
        with wave.open(str(p), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000), p.name
        seconds, rms = wav_stats(data)
        assert 0.15 < seconds < 2.5 and rms > 0.03, (p.name, seconds, rms)


def test_a_hall_replaces_clips_with_its_own_recordings(tmp_path: Path, monkeypatch):
    # A recorded 「请」 at 44.1 kHz stereo: converted on load; missing clips come from the default set.
    with wave.open(str(tmp_path / "qing.wav"), "wb") as w:
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(44100)
        w.writeframes(array("h", [8000, -8000] * 44100).tobytes())   # 1 s of loud square-ish noise
    default = announcement_wav("A001", 1)
    monkeypatch.setenv("HALL_VOICE_CLIPS", str(tmp_path))
    recorded = announcement_wav("A001", 1)
    assert recorded != default
    qing_default = wav_stats(voice.to_wav(voice.load_clip(str(voice.DEFAULT_DIR), "qing")))[0]
    assert wav_stats(recorded)[0] == pytest.approx(wav_stats(default)[0] - qing_default + 1.0, abs=0.01)


def test_the_voice_url(client):
    r = client.get("/display/voice/A012/3.wav")
    assert r.status_code == 200 and r.mimetype == "audio/wav" and r.data[:4] == b"RIFF"
    recall = client.get("/display/voice/A012/3.wav?recall=1")
    assert len(recall.data) > len(r.data)
    assert client.get("/display/voice/DROP%20TABLE/3.wav").status_code == 404
    assert client.get("/display/voice/A012/x.wav").status_code == 404
