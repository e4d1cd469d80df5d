"""Media from workers: photos and voice notes are rebuilt without metadata before anything keeps them.

A phone photo carries EXIF: the GPS position where it was taken, the phone's
make and serial, the time to the second. A recording carries tags (title,
device, a GPS atom in an MP4). Any of these can identify a worker. So:

- images are opened only as the format they were declared as, refused over a
  pixel budget before any pixel is decoded, then re-encoded from their pixels
  alone (Pillow), which drops every metadata block;
- audio (voice notes: OGG/Opus, AMR, M4A/3GP/AAC, MP3, WAV, WebM) is re-encoded by ffmpeg to
  mono OGG/Opus with every metadata block, chapter, cover picture and other
  stream dropped (`-map_metadata -1`, `-vn`), cut at `MAX_AUDIO_SECONDS`;
- video and documents (PDF and the rest) are refused: nothing here can prove
  them clean (a PDF has /Author and XMP, and embeds photos with their EXIF).

Every failure is a `MediaRejected` whose `reason` names what the worker is told
("type", "too_large", "unreadable"); the text of their message is never lost.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess  # noqa: S404  ffmpeg, by argument list, with a timeout
import tempfile
import warnings

from PIL import Image, ImageOps

from bot.messages import MediaItem

log = logging.getLogger(__name__)

IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
# The ffmpeg demuxer each kind of voice note is opened with: never guessed from the bytes.
AUDIO_FORMATS = {
    "audio/ogg": "ogg", "audio/opus": "ogg", "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/amr": "amr",
    "audio/mp4": "mov", "audio/m4a": "mov", "audio/x-m4a": "mov", "audio/aac": "aac",
    "audio/3gpp": "mov", "audio/3gpp2": "mov",  # Android recorders, often through MMS
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/webm": "matroska",
}
SEEKING_FORMATS = frozenset({"mov"})  # demuxers that must seek (read from a file, not a pipe)
ALLOWED_TYPES = frozenset({*IMAGE_FORMATS, *AUDIO_FORMATS})
CLEAN_AUDIO_TYPE = "audio/ogg"

# 16 million pixels: a 12 MP phone photo fits; messengers send photos far smaller. Decoded, an image
# takes up to 4 bytes a pixel and is copied twice while cleaned (a 12 MP photo peaks near 200 MB).
MAX_PIXELS = 16_000_000
MAX_AUDIO_SECONDS = 600  # longer recordings are cut here
AUDIO_BITRATE = "24k"  # Opus at 24 kb/s mono: clear speech, about 180 KB a minute
FFMPEG_TIMEOUT_SECONDS = 60

# Modes Pillow can write in each format; anything else is converted first (an RGBA PNG declared
# JPEG used to crash the save, outside any try).
_SAVE_MODES = {
    "JPEG": {"L", "RGB", "CMYK"},
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"},
    "WEBP": {"RGB", "RGBA"},
    "GIF": {"P", "L"},
}

# Pillow's own guard, checked when the header is read: over the budget it warns, over twice the
# budget it raises. Its warnings are errors here: a bomb is refused, never decoded.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)

# Where an M4A waits for ffmpeg: memory (/dev/shm) where the system has it, never the data disk.
_SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None  # noqa: S108  memory, not disk


class MediaRejected(Exception):
    """Media not kept. `reason` ("type", "too_large", "unreadable") says what the worker is told;
    the message is a short fixed phrase, safe to log."""

    def __init__(self, message: str, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


def media_type(content_type: str) -> str:
    """The bare, lower-case media type ("audio/ogg; codecs=opus" -> "audio/ogg")."""
    return (content_type or "").split(";")[0].strip().lower()


def check_type(content_type: str) -> str:
    """The bare type if it is one we take, else `MediaRejected` (before anything is downloaded)."""
    bare = media_type(content_type)
    if bare not in ALLOWED_TYPES:
        raise MediaRejected("media type not accepted", "type")
    return bare


def clean_media(content_type: str, data: bytes, max_bytes: int, time_limit: float | None = None) -> MediaItem:
    """The media ready to keep, stripped of all metadata; `MediaRejected` for anything else.

    Never raises anything but `MediaRejected`: one crafted file must not stop a channel.
    `time_limit` (seconds) bounds a re-encoding, for a webhook that must answer in time.
    """
    bare = check_type(content_type)
    if len(data) > max_bytes:
        raise MediaRejected("media too large", "too_large")
    try:
        if bare in IMAGE_FORMATS:
            item = MediaItem(bare, strip_image_metadata(data, IMAGE_FORMATS[bare]))
        else:
            item = MediaItem(CLEAN_AUDIO_TYPE, reencode_audio(data, AUDIO_FORMATS[bare], time_limit))
    except MediaRejected:
        raise
    except Exception as error:  # any bug of a decoder is a refused attachment, never a crash
        log.warning("media cleaning failed", extra={"reason": type(error).__name__})
        raise MediaRejected("media not readable") from None
    if len(item.data) > max_bytes:  # a re-encoded file can be larger than what was sent
        raise MediaRejected("cleaned media too large", "too_large")
    return item


def strip_image_metadata(data: bytes, image_format: str) -> bytes:
    """Re-encode an image from its pixels only (orientation applied first, so it still looks right)."""
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            width, height = image.size  # from the header: nothing decoded yet
            if width * height > MAX_PIXELS:
                raise MediaRejected("image over the pixel budget", "too_large")
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
    except MediaRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaRejected("image over the pixel budget", "too_large") from None
    except Exception:  # UnidentifiedImageError, OSError, DecompressionBombError, SyntaxError, ...
        raise MediaRejected("not a readable image") from None
    return out.getvalue()


def ffmpeg_path() -> str | None:
    """The ffmpeg binary (Debian package `ffmpeg`, installed by `make install`), or None."""
    return shutil.which("ffmpeg")


def reencode_audio(data: bytes, input_format: str, time_limit: float | None = None) -> bytes:
    """A voice note as mono OGG/Opus with no metadata, opened only with the declared demuxer.

    About 3 s of one core for the longest (10 minutes), well under a second for a usual voice note.
    """
    binary = ffmpeg_path()
    if binary is None:  # never keep a recording we could not strip
        log.warning("voice note refused: ffmpeg is not installed")
        raise MediaRejected("audio cannot be cleaned here")
    timeout = FFMPEG_TIMEOUT_SECONDS if time_limit is None else max(0.5, min(time_limit, FFMPEG_TIMEOUT_SECONDS))
    output = [
        "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1",
        "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-c:a", "libopus", "-b:a", AUDIO_BITRATE, "-ac", "1", "-application", "voip",
        "-t", str(MAX_AUDIO_SECONDS), "-f", "ogg", "pipe:1",
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
        raise MediaRejected("audio took too long to clean") from None
    if done.returncode != 0 or not done.stdout:
        raise MediaRejected("not a readable recording")
    return done.stdout
