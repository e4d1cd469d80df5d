"""The cleaning process: the kernel's limits on it, its empty environment, the wall clock that kills it
with its ffmpeg, and the slots that keep crafted files from taking every core."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
import wave
from pathlib import Path

import pytest

from bot.config import MediaCleaning
from channels import media_child, media_sandbox
from channels.media import clean_media
from channels.media_sandbox import CleaningFailed, Sandbox
from crafted_media import flat_png, progressive_jpeg

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

MAX_BYTES = 20_000_000


@pytest.fixture
def children(monkeypatch) -> list:
    """The cleaning processes the sandbox starts, as they start."""
    started = []
    real = media_sandbox.subprocess.Popen

    def recording(*args, **kwargs):
        child = real(*args, **kwargs)
        started.append(child)
        return child

    monkeypatch.setattr(media_sandbox.subprocess, "Popen", recording)
    return started


def in_background(call) -> tuple[threading.Thread, list]:
    """Run `call` in a thread; the list gets its result or the exception it raised."""
    outcome: list = []

    def run():
        try:
            outcome.append(call())
        except Exception as error:  # noqa: BLE001  handed to the test
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_until(predicate, timeout: float = 30.0, what: str = "the cleaning process") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def proc_limits(pid: int) -> dict[str, tuple[str, str]]:
    """/proc/<pid>/limits as {name: (soft, hard)}."""
    lines = Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]
    return {line[:26].strip(): tuple(line[26:].split()[:2]) for line in lines}


def noise_wav(seconds: int) -> bytes:
    """A WAV of noise (8 kHz, 16 bits): instant to make, seconds of work for an Opus encoder."""
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(8000)
        file.writeframes(os.urandom(seconds * 8000 * 2))
    return out.getvalue()


def session_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_cleaning_process_has_hard_limits_no_core_file_and_no_environment(children, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "4242000001:token-that-no-decoder-may-see")
    sandbox = Sandbox(MediaCleaning(image_cpu_seconds=2, memory_mb=600))
    thread, outcome = in_background(lambda: sandbox.clean("image", "JPEG", progressive_jpeg(1000), MAX_BYTES, max_audio_seconds=600))
    wait_until(lambda: children)
    pid = children[0].pid
    wait_until(lambda: proc_limits(pid)["Max cpu time"] == ("2", "3"), what="the child to limit itself")
    limits = proc_limits(pid)
    environment = Path(f"/proc/{pid}/environ").read_bytes()
    thread.join(timeout=120)
    assert limits["Max address space"] == (str(600 << 20),) * 2
    assert limits["Max core file size"] == ("0", "0")  # a core file would hold the worker's photo
    assert [entry.split(b"=")[0] for entry in environment.split(b"\0") if entry] == [b"PATH"]
    assert isinstance(outcome[0], CleaningFailed) and str(outcome[0]) == "cleaning over its CPU time"
    assert children[0].returncode in (-signal.SIGXCPU, -signal.SIGKILL)  # the kernel stopped it
    assert outcome[0].reason == "unreadable" and outcome[0].final


def test_the_wall_clock_kills_the_cleaning_process_and_its_ffmpeg(children):
    sandbox = Sandbox(MediaCleaning(audio_cpu_seconds=600, wall_seconds=1))
    with pytest.raises(CleaningFailed) as refused:
        sandbox.clean("audio", "wav", noise_wav(1200), MAX_BYTES, max_audio_seconds=600)
    assert str(refused.value) == "cleaning took too long" and refused.value.reason == "unreadable"
    assert children[0].returncode == -signal.SIGKILL
    wait_until(lambda: session_gone(children[0].pid), timeout=10, what="ffmpeg, in the child's session, to go with it")


def test_ffmpeg_inherits_the_cpu_limit(children):
    sandbox = Sandbox(MediaCleaning(audio_cpu_seconds=1, wall_seconds=120))
    with pytest.raises(CleaningFailed) as refused:
        sandbox.clean("audio", "wav", noise_wav(1200), MAX_BYTES, max_audio_seconds=600)
    assert refused.value.reason == "unreadable"
    assert children[0].returncode == media_child.EXIT_UNREADABLE  # ffmpeg was stopped; the child said so
    wait_until(lambda: session_gone(children[0].pid), timeout=10, what="ffmpeg to be gone")


def test_an_image_that_needs_more_memory_than_allowed_is_refused_as_too_large():
    bomb = flat_png()  # about 70 KB, 16 million RGBA pixels
    assert len(bomb) < 100_000
    with pytest.raises(Exception) as refused:
        clean_media("image/png", bomb, MAX_BYTES, limits=MediaCleaning(memory_mb=256))
    assert refused.value.reason == "too_large" and str(refused.value) == "cleaning over its memory limit"
    assert clean_media("image/png", bomb, MAX_BYTES).data.startswith(b"\x89PNG")  # the default limits fit it


def test_a_file_waits_for_a_free_slot_and_is_refused_for_now_when_none_comes_in_time(children):
    limits = MediaCleaning(image_cpu_seconds=3, parallel=1)
    thread, _ = in_background(lambda: Sandbox(limits).clean("image", "JPEG", progressive_jpeg(1000), MAX_BYTES, max_audio_seconds=600))
    wait_until(lambda: children)
    with pytest.raises(CleaningFailed) as refused:
        Sandbox(limits).clean("image", "JPEG", b"not even read", MAX_BYTES, max_audio_seconds=600, time_limit=0.5)
    thread.join(timeout=120)
    assert str(refused.value) == "no cleaning slot free in time"
    assert not refused.value.final  # the moment's fault: a redelivery may try again
    assert len(children) == 1  # the second file never reached a decoder


@pytest.mark.parametrize(
    ("returncode", "output", "reason", "final"),
    [
        (media_child.EXIT_KEPT, b"", "unreadable", True),  # said kept, gave nothing
        (media_child.EXIT_UNREADABLE, b"", "unreadable", True),
        (media_child.EXIT_TOO_LARGE, b"", "too_large", True),  # over the pixel budget
        (media_child.EXIT_OUT_OF_MEMORY, b"", "too_large", True),  # over its address space
        (media_child.EXIT_NO_FFMPEG, b"", "unreadable", False),
        (-signal.SIGXCPU, b"", "unreadable", True),  # over its CPU time
        (-signal.SIGKILL, b"partial", "unreadable", True),
        (-signal.SIGSEGV, b"", "unreadable", True),  # a decoder crashed: the file's fault, not the server's
        (1, b"", "unreadable", True),  # an exception the child did not expect
    ],
)
def test_every_way_a_cleaning_process_ends_is_a_refusal_with_a_reason(returncode, output, reason, final):
    with pytest.raises(CleaningFailed) as refused:
        media_sandbox._outcome("image", returncode, output)
    assert (refused.value.reason, refused.value.final) == (reason, final)


def test_a_cleaned_file_comes_back_from_its_process():
    assert media_sandbox._outcome("audio", media_child.EXIT_KEPT, b"clean") == b"clean"
