"""The worker's voice is disguised: measured on a known recording, its pitch moves by the
deployment's ratio, its formants by another, and the original is kept only where configured.

The recordings are made here with ffmpeg (a voiced sound of known fundamental, 140 Hz, a man's
voice); the pitch is measured before and after by autocorrelation (numpy), the formants by the
spectral centroid of a voiced sound shaped by one resonance. A disguise that did nothing, or
that only resampled the voice (pitch and formants together), fails.
"""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest

from bot.config import MediaCleaning, VoiceDisguise
from channels.media import MediaRejected
from channels.voice_disguise import Disguise, disguise_recording, for_deployment, ogg_opus_seconds
from storage import crypto

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

RATE = 16_000
F0 = 140.0
LIMITS = MediaCleaning()


def ffmpeg(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "quiet", *args], input=data,
                          capture_output=True, timeout=120, check=True).stdout


def voiced(harmonics: int = 6, resonance_hz: int | None = None, seconds: int = 3) -> bytes:
    """A voiced sound of fundamental F0 (a WAV), optionally shaped by one formant."""
    expression = "+".join(f"{1 / k:.3f}*sin(2*PI*{F0 * k:g}*t)" for k in range(1, harmonics + 1))
    shaping = ["-af", f"bandpass=f={resonance_hz}:width_type=h:w=250,bandpass=f={resonance_hz}:width_type=h:w=250,volume=6"] \
        if resonance_hz else []
    return ffmpeg("-f", "lavfi", "-i", f"aevalsrc='0.2*({expression})':s={RATE}:d={seconds}", *shaping, "-f", "wav", "pipe:1")


def samples(data: bytes, container: str) -> np.ndarray:
    raw = ffmpeg("-f", container, "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", str(RATE), "pipe:1", data=data)
    signal = np.frombuffer(raw, dtype=np.int16).astype(float)
    return signal[len(signal) // 4: 3 * len(signal) // 4]  # the steady middle


def fundamental(signal: np.ndarray) -> float:
    """The fundamental frequency by autocorrelation, between 50 and 500 Hz (parabolic peak)."""
    signal = signal - signal.mean()
    spectrum = np.fft.rfft(signal, 2 * len(signal))
    correlation = np.fft.irfft(spectrum * np.conj(spectrum))[: len(signal)]
    low, high = RATE // 500, RATE // 50
    lag = low + int(np.argmax(correlation[low:high]))
    before, at, after = correlation[lag - 1: lag + 2]
    return RATE / (lag + 0.5 * (before - after) / (before - 2 * at + after))


def centroid(signal: np.ndarray) -> float:
    """Where the energy of the speech band sits (Hz): it follows the formants."""
    power = np.abs(np.fft.rfft(signal)) ** 2
    frequencies = np.fft.rfftfreq(len(signal), 1 / RATE)
    band = (frequencies > 300) & (frequencies < 3500)
    return float((power[band] * frequencies[band]).sum() / power[band].sum())


def semitones(ratio: float) -> float:
    return 12 * math.log2(ratio)


def deployment_secrets(pepper: bytes) -> crypto.ServerSecrets:
    _, recipient = crypto.new_operator_keypair()
    return crypto.ServerSecrets(pepper=pepper, data_keys=crypto.DataKeyring({1: crypto.new_data_key()}, 1),
                                operator_recipients=(recipient,))


def test_a_deployments_disguise_moves_the_pitch_of_a_known_voice_by_its_ratio():
    disguise = for_deployment(LIMITS, deployment_secrets(b"\x11" * 32))
    assert disguise.rubberband  # Debian's ffmpeg has it: pitch and formants move apart
    original = voiced()
    before = fundamental(samples(original, "wav"))
    assert before == pytest.approx(F0, rel=0.01)

    item = disguise_recording(original, "audio/wav", disguise, max_bytes=1_000_000, limits=LIMITS)

    after = fundamental(samples(item.data, "ogg"))
    assert abs(semitones(after / before)) >= 3  # a voice a listener would not take for the same
    assert after / before == pytest.approx(disguise.pitch_ratio, rel=0.01)
    assert item.content_type == "audio/ogg" and item.voice == "disguised" and item.original is None  # not kept by default
    assert item.seconds == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize("disguise", [Disguise(4.0, -2.0), Disguise(-4.5, 2.5), Disguise(-3.5, 0.0, rubberband=False)],
                         ids=["up", "down", "without-rubberband"])
def test_the_pitch_moves_up_or_down_as_the_disguise_says(disguise):
    item = disguise_recording(voiced(), "audio/wav", disguise, max_bytes=1_000_000, limits=LIMITS)
    assert fundamental(samples(item.data, "ogg")) / F0 == pytest.approx(disguise.pitch_ratio, rel=0.01)


@pytest.mark.parametrize("disguise", [Disguise(4.0, -2.0), Disguise(-4.5, 2.5)], ids=["pitch-up", "pitch-down"])
def test_the_formants_do_not_follow_the_pitch(disguise):
    """A resampled voice (pitch and formants moved together) is easily shifted back; here the
    resonance moves by at least a semitone less than the pitch, towards the formant ratio."""
    original = voiced(harmonics=26, resonance_hz=1000)
    item = disguise_recording(original, "audio/wav", disguise, max_bytes=1_000_000, limits=LIMITS)
    pitch = fundamental(samples(item.data, "ogg")) / fundamental(samples(original, "wav"))
    resonance = centroid(samples(item.data, "ogg")) / centroid(samples(original, "wav"))
    towards_formants = semitones(pitch) - semitones(resonance)
    assert math.copysign(1, towards_formants) == math.copysign(1, semitones(pitch) - semitones(disguise.formant_ratio))
    assert abs(towards_formants) >= 1


def test_the_original_is_kept_only_where_the_deployment_turns_it_on():
    keeping = for_deployment(MediaCleaning(voice_disguise=VoiceDisguise(keep_original=True)), deployment_secrets(b"\x11" * 32))
    item = disguise_recording(voiced(), "audio/wav", keeping, max_bytes=1_000_000, limits=LIMITS)
    assert item.original is not None
    assert fundamental(samples(item.original, "ogg")) == pytest.approx(F0, rel=0.01)  # the worker's own pitch
    assert fundamental(samples(item.data, "ogg")) / F0 == pytest.approx(keeping.pitch_ratio, rel=0.01)
    assert b"rubberband" not in item.data and b"asetrate" not in item.data  # nothing in the file says how


def test_each_deployment_has_its_own_disguise_fixed_by_its_pepper():
    one, same = for_deployment(LIMITS, deployment_secrets(b"\x11" * 32)), for_deployment(LIMITS, deployment_secrets(b"\x11" * 32))
    others = {for_deployment(LIMITS, deployment_secrets(bytes([n]) * 32)) for n in range(2, 12)}
    assert one == same
    assert len({(d.pitch_semitones, d.formant_semitones) for d in others}) == len(others)  # ten peppers, ten voices
    for disguise in (one, *others):
        assert 3.25 <= abs(disguise.pitch_semitones) <= 5
        assert 1.5 <= abs(disguise.formant_semitones) <= 2.75


def test_a_recording_that_is_not_one_is_refused_not_kept():
    with pytest.raises(MediaRejected) as refused:
        disguise_recording(b"not audio at all" * 100, "audio/ogg", Disguise(4.0, -2.0), max_bytes=1_000_000, limits=LIMITS)
    assert refused.value.reason == "unreadable"
    with pytest.raises(MediaRejected) as refused:
        disguise_recording(voiced(), "image/png", Disguise(4.0, -2.0), max_bytes=1_000_000, limits=LIMITS)
    assert refused.value.reason == "type"
    assert ogg_opus_seconds(b"not ogg") is None


@pytest.mark.parametrize("seconds", [1, 2, 5])
def test_a_phone_calls_recording_at_8_khz_is_disguised_not_lost(seconds):
    """Found when the voice line met the disguise: rubberband failed at the end of most 8 kHz recordings."""
    call = ffmpeg("-f", "wav", "-i", "pipe:0", "-ar", "8000", "-f", "wav", "pipe:1", data=voiced(seconds=seconds))
    disguise = Disguise(-4.5, 2.5)
    item = disguise_recording(call, "audio/wav", disguise, max_bytes=1_000_000, limits=LIMITS)
    assert fundamental(samples(item.data, "ogg")) / F0 == pytest.approx(disguise.pitch_ratio, rel=0.02)
