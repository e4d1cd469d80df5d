"""Every decoder runs in a process of its own, with hard limits: a crafted file costs only itself.

A photo can be made to cost a decoder minutes of CPU (a progressive JPEG of thousands of scans)
or hundreds of MB (a 70 KB PNG of 16 million pixels); a recording can be made to cost ffmpeg
the same. Decoded in the server's thread, such a file held the thread, a core and the
server's memory, and a provider that timed out delivered it again. So each file is cleaned by
a fresh `python -I channels/media_child.py`, one process per file:

- the child limits itself before it reads a byte: CPU time (`RLIMIT_CPU`, per kind of file),
  address space (`RLIMIT_AS`), no core file; ffmpeg, its own child, inherits the limits;
- it gets no environment but `PATH` (no token, no key), runs in its own session from `/`, and
  gets the file on its standard input and gives the cleaned one on its standard output;
- the server kills the whole session at the wall-clock limit, reads no more than the size
  limit back, and forgets the process: its memory goes back to the system when it ends;
- at most `parallel` files are cleaned at once by one server process (the cores are shared);
  a file waits for a slot within its wall-clock time, else it is refused for now.

One process per file rather than a pool of long-lived cleaners: a fresh process costs about
0.05 s of CPU (Python and Pillow starting; BENCHMARKS.md "Media cleaning"), and it holds the
hardest limits (a CPU limit needs no accounting across files, nothing of one worker's file stays
in memory for the next, and nothing needs restarting after a kill).
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import subprocess  # noqa: S404  our own child, by argument list
import sys
import threading
import time
from pathlib import Path

from bot.config import MediaCleaning

from . import media_child

log = logging.getLogger(__name__)

CHILD = Path(media_child.__file__).resolve()
_CHUNK = 64 * 1024


class CleaningFailed(Exception):
    """The child did not give a cleaned file. `reason` ("unreadable", "too_large") is what the
    worker is told; `final` is False when the moment, not the file, was the cause (no free slot,
    no ffmpeg): a provider's redelivery may then try again. The message is a fixed phrase."""

    def __init__(self, message: str, reason: str = "unreadable", *, final: bool = True) -> None:
        super().__init__(message)
        self.reason = reason
        self.final = final


_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _process_slots(parallel: int) -> threading.BoundedSemaphore:
    """The slots of this server process: one set per process, whichever adapter cleans (the
    cores are the machine's, not a channel's); made after a fork, never inherited across one."""
    key = (os.getpid() << 8) | min(parallel, 255)
    with _slots_lock:
        if key not in _slots:
            _slots[key] = threading.BoundedSemaphore(parallel)
        return _slots[key]


class Sandbox:
    """Runs `media_child` on one file at a time per slot, within `MediaCleaning`'s limits."""

    def __init__(self, limits: MediaCleaning) -> None:
        self.limits = limits

    def clean(self, kind: str, file_format: str, data: bytes, max_bytes: int, *,
              max_audio_seconds: int, time_limit: float | None = None, audio_filter: str | None = None) -> bytes:
        """The cleaned file; `CleaningFailed` otherwise (never anything else). `audio_filter`: an
        ffmpeg filter chain the recording goes through while it is re-encoded (the voice disguise)."""
        wall = self.limits.wall_seconds if time_limit is None else max(0.5, min(time_limit, self.limits.wall_seconds))
        deadline = time.monotonic() + wall
        slots = _process_slots(self.limits.parallel)
        if not slots.acquire(timeout=wall):
            raise CleaningFailed("no cleaning slot free in time", final=False)
        try:
            return self._run(kind, file_format, data, max_bytes, max_audio_seconds, deadline, audio_filter)
        finally:
            slots.release()

    def _run(self, kind: str, file_format: str, data: bytes, max_bytes: int, max_audio_seconds: int, deadline: float,
             audio_filter: str | None = None) -> bytes:
        cpu = self.limits.image_cpu_seconds if kind == "image" else self.limits.audio_cpu_seconds
        command = [sys.executable, "-I", str(CHILD), kind, file_format, str(cpu), str(self.limits.memory_mb << 20),
                   str(max_audio_seconds), str(max(len(data), 1)), *([audio_filter] if audio_filter else [])]
        try:
            child = subprocess.Popen(  # noqa: S603  our own interpreter and file, by argument list
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env={"PATH": os.environ.get("PATH") or os.defpath}, cwd="/", start_new_session=True, close_fds=True,
            )
        except OSError as error:
            log.warning("media cleaner not started", extra={"reason": type(error).__name__})
            raise CleaningFailed("cleaner not started", final=False) from None
        try:
            output, overflow, timed_out = _exchange(child, data, max_bytes, deadline)
        finally:
            if child.poll() is None:  # over time or over size: the child and ffmpeg go together
                _kill_session(child)
            child.wait()
        if timed_out:
            raise CleaningFailed("cleaning took too long")
        if overflow:
            raise CleaningFailed("cleaned media too large", "too_large")
        return _outcome(kind, child.returncode, output)


def _outcome(kind: str, returncode: int, output: bytes) -> bytes:
    """The cleaned file, or the refusal the child's end means (a fixed phrase, safe to log)."""
    if returncode == media_child.EXIT_KEPT and output:
        return output
    if returncode == media_child.EXIT_TOO_LARGE:
        raise CleaningFailed("image over the pixel budget", "too_large")
    if returncode == media_child.EXIT_OUT_OF_MEMORY:
        raise CleaningFailed("cleaning over its memory limit", "too_large")
    if returncode == media_child.EXIT_NO_FFMPEG:  # never keep a recording we could not strip
        log.warning("voice note refused: ffmpeg is not installed")
        raise CleaningFailed("audio cannot be cleaned here", final=False)
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise CleaningFailed("cleaning over its CPU time")
    if returncode < 0:  # a decoder crashed (SIGSEGV, SIGABRT): the file, not the server
        raise CleaningFailed("cleaner stopped by a signal")
    raise CleaningFailed("not a readable image" if kind == "image" else "not a readable recording")


def _kill_session(child: subprocess.Popen) -> None:
    # The child leads its own session (start_new_session): its ffmpeg is in the same process group.
    # The child is not reaped yet, so the group id cannot belong to anyone else.
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _exchange(child: subprocess.Popen, data: bytes, max_bytes: int, deadline: float) -> tuple[bytes, bool, bool]:
    """Write `data` to the child and read its output, until it closes it, `max_bytes` is passed
    (overflow) or `deadline` comes (timed out); returns (output, overflow, timed_out)."""
    assert child.stdin is not None and child.stdout is not None  # noqa: S101  both are pipes
    output = bytearray()
    view, written = memoryview(data), 0
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        if data:
            selector.register(child.stdin, selectors.EVENT_WRITE)
        else:
            child.stdin.close()
        try:
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return bytes(output), False, True
                for key, _ in selector.select(remaining):
                    if key.fileobj is child.stdin:
                        try:
                            written += os.write(child.stdin.fileno(), view[written:written + _CHUNK])
                        except BrokenPipeError:  # the child stopped reading (refused early, or killed)
                            written = len(data)
                        if written >= len(data):
                            selector.unregister(child.stdin)
                            child.stdin.close()
                    else:
                        chunk = os.read(child.stdout.fileno(), _CHUNK)
                        if not chunk:
                            selector.unregister(child.stdout)
                            continue
                        output += chunk
                        if len(output) > max_bytes:
                            return bytes(output[:0]), True, False
        finally:
            if not child.stdin.closed:
                child.stdin.close()
            child.stdout.close()
    remaining = deadline - time.monotonic()
    try:
        child.wait(timeout=max(remaining, 0.01))
    except subprocess.TimeoutExpired:
        return bytes(output), False, True
    return bytes(output), False, False
