"""One attachment cleaned in a process of its own, under hard limits: the code the sandbox runs.

`channels/media_sandbox.py` starts this file as `python -I media_child.py KIND FORMAT CPU MEMORY
SECONDS MAX_BYTES [AUDIO_FILTER]` with no environment, writes the file to its standard input and reads the cleaned file
from its standard output. Before it reads a byte, the process limits itself: CPU time
(`RLIMIT_CPU`: the kernel stops it, whatever a decoder is doing), address space (`RLIMIT_AS`: a
decoder that asks for more gets nothing), no core file (it would hold the worker's photo), no
file larger than the input. ffmpeg, started from here, inherits the same limits.

This module imports only the standard library, and Pillow for images: never the project, its
config or its secrets. What it decides is said by its exit code (`EXIT_*`), never by text.

- images are opened only as the format they were declared as, refused over a pixel budget
  before any pixel is decoded, then re-encoded from their pixels alone (Pillow), which drops
  every metadata block;
- audio (voice notes) is re-encoded by ffmpeg to mono OGG/Opus with every metadata block,
  chapter, cover picture and other stream dropped (`-map_metadata -1`, `-vn`), cut at a length;
  given an ffmpeg filter chain (the voice disguise of `channels/voice_disguise.py`), it is applied
  in the same pass, so the undisguised voice never leaves this process.
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import subprocess  # noqa: S404  ffmpeg, by argument list
import sys
import tempfile
import warnings

EXIT_KEPT, EXIT_UNREADABLE, EXIT_TOO_LARGE, EXIT_NO_FFMPEG, EXIT_OUT_OF_MEMORY = 0, 10, 11, 12, 13

# 16 million pixels: a 12 MP phone photo fits; messengers send photos far smaller. Decoded, an image
# takes up to 4 bytes a pixel and is copied twice while cleaned (a 12 MP photo peaks near 200 MB).
MAX_PIXELS = 16_000_000
AUDIO_BITRATE = "24k"  # Opus at 24 kb/s mono: clear speech, about 180 KB a minute
SEEKING_FORMATS = frozenset({"mov"})  # demuxers that must seek (read from a file, not a pipe)

# Modes Pillow can write in each format; anything else is converted first (an RGBA PNG declared
# JPEG used to crash the save, outside any try).
_SAVE_MODES = {
    "JPEG": {"L", "RGB", "CMYK"},
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"},
    "WEBP": {"RGB", "RGBA"},
    "GIF": {"P", "L"},
}

# Where an M4A waits for ffmpeg: memory (/dev/shm) where the system has it, never the data disk.
_SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None  # noqa: S108  memory, not disk


class Refused(Exception):
    """The file is not kept; `reason` is "unreadable", "too_large" (over the pixel budget),
    "out_of_memory" (over the address space) or "no_ffmpeg"."""

    def __init__(self, reason: str = "unreadable") -> None:
        super().__init__(reason)
        self.reason = reason


def strip_image_metadata(data: bytes, image_format: str) -> bytes:
    """Re-encode an image from its pixels only (orientation applied first, so it still looks right)."""
    from PIL import Image, ImageOps

    # Pillow's own guard, checked when the header is read: over the budget it warns, over twice the
    # budget it raises. Its warnings are errors here: a bomb is refused, never decoded.
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[image_format]) as image:
                width, height = image.size  # from the header: nothing decoded yet
                if width * height > MAX_PIXELS:
                    raise Refused("too_large")
                image.load()
                upright = ImageOps.exif_transpose(image)
                if upright.mode not in _SAVE_MODES[image_format]:
                    upright = upright.convert("RGBA" if "A" in upright.getbands() and image_format != "JPEG" else "RGB")
                # A new image from raw pixels has no info, EXIF, XMP, ICC or comment blocks at all.
                pixels = Image.frombytes(upright.mode, upright.size, upright.tobytes())
                if upright.mode == "P" and upright.getpalette():
                    pixels.putpalette(upright.getpalette())
        out = io.BytesIO()
        pixels.save(out, format=image_format)
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("too_large") from None
    except MemoryError:  # over RLIMIT_AS
        raise Refused("out_of_memory") from None
    except Exception:  # UnidentifiedImageError, OSError, SyntaxError, a decoder's bug...
        raise Refused("unreadable") from None
    return out.getvalue()


def ffmpeg_path() -> str | None:
    """The ffmpeg binary (Debian package `ffmpeg`, installed by `make install`), or None."""
    return shutil.which("ffmpeg", path=os.environ.get("PATH") or os.defpath)


def reencode_audio(data: bytes, input_format: str, max_seconds: int, timeout: float | None = None,
                   audio_filter: str | None = None) -> bytes:
    """A voice note as mono OGG/Opus with no metadata, opened only with the declared demuxer,
    through `audio_filter` (an ffmpeg filter chain) when one is given.

    About 3 s of one core for the longest (10 minutes), well under a second for a usual voice note.
    """
    binary = ffmpeg_path()
    if binary is None:  # never keep a recording we could not strip
        raise Refused("no_ffmpeg")
    filters = ["-af", audio_filter] if audio_filter else []
    output = [
        "-map", "0:a:0", *filters, "-vn", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1",
        "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-c:a", "libopus", "-b:a", AUDIO_BITRATE, "-ac", "1", "-application", "voip",
        "-t", str(max_seconds), "-f", "ogg", "pipe:1",
    ]
    head = [binary, "-hide_banner", "-loglevel", "error", "-threads", "1", "-f", input_format]
    try:
        if input_format not in SEEKING_FORMATS:  # the recording goes through a pipe: never on disk
            command = [*head, "-protocol_whitelist", "pipe", "-i", "pipe:0", *output]
            done = subprocess.run(command, input=data, capture_output=True, timeout=timeout, check=False)  # noqa: S603  ffmpeg by argument list, no shell
        else:
            # An M4A's index may sit at its end, which ffmpeg cannot reach through a pipe: a private
            # file, in memory (/dev/shm) where the system has it, living only while ffmpeg runs.
            with tempfile.TemporaryDirectory(prefix="media-", dir=_SCRATCH) as folder:
                source = os.path.join(folder, "in")
                with open(os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
                    file.write(data)
                command = [*head, "-protocol_whitelist", "file", "-i", source, *output]
                done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)  # noqa: S603  ffmpeg by argument list, no shell
    except subprocess.TimeoutExpired:
        raise Refused("unreadable") from None
    if done.returncode != 0 or not done.stdout:
        raise Refused("unreadable")
    return done.stdout


def limit_this_process(cpu_seconds: int, memory_bytes: int, file_bytes: int) -> None:
    """Hard limits on this process and all it starts (ffmpeg): the kernel enforces them."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a core file would hold the worker's photo
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))  # SIGXCPU, then SIGKILL
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))  # only an M4A is written, once


def clean(kind: str, file_format: str, data: bytes, max_seconds: int, audio_filter: str | None = None) -> bytes:
    """The cleaned file (`Refused` otherwise): `kind` is "image" or "audio"."""
    if kind == "image":
        return strip_image_metadata(data, file_format)
    return reencode_audio(data, file_format, max_seconds, audio_filter=audio_filter)


def main(argv: list[str]) -> int:
    kind, file_format, cpu, memory, seconds, max_bytes = argv[1], argv[2], *map(int, argv[3:7])
    audio_filter = argv[7] if len(argv) > 7 else None
    limit_this_process(cpu, memory, max_bytes + 1)
    data = sys.stdin.buffer.read(max_bytes + 1)
    if len(data) > max_bytes:
        return EXIT_TOO_LARGE
    try:
        cleaned = clean(kind, file_format, data, seconds, audio_filter)
    except Refused as refused:
        exits = {"too_large": EXIT_TOO_LARGE, "no_ffmpeg": EXIT_NO_FFMPEG, "out_of_memory": EXIT_OUT_OF_MEMORY}
        return exits.get(refused.reason, EXIT_UNREADABLE)
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    sys.stdout.buffer.write(cleaned)
    sys.stdout.buffer.flush()
    return EXIT_KEPT


if __name__ == "__main__":
    sys.exit(main(sys.argv))
