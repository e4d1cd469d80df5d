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

The decoding itself (`media_child`) never runs in the server's process: each file is cleaned
in a process of its own under CPU, memory and wall-clock limits (`media_sandbox`), so a crafted
file costs only itself. Every failure is a `MediaRejected` whose `reason` names what the worker
is told ("type", "too_large", "unreadable"); the text of their message is never lost.
"""

from __future__ import annotations

import logging

from bot.config import MediaCleaning
from bot.messages import MediaItem

from . import media_child
from .media_child import ffmpeg_path, reencode_audio, strip_image_metadata  # noqa: F401  the decoders, for tests in-process
from .media_sandbox import CleaningFailed, Sandbox

log = logging.getLogger(__name__)

IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
# The ffmpeg demuxer each kind of voice note is opened with: never guessed from the bytes.
AUDIO_FORMATS = {
    "audio/ogg": "ogg", "audio/opus": "ogg", "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/amr": "amr",
    "audio/mp4": "mov", "audio/m4a": "mov", "audio/x-m4a": "mov", "audio/aac": "aac",
    "audio/3gpp": "mov", "audio/3gpp2": "mov",  # Android recorders, often through MMS
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/webm": "matroska",
}
ALLOWED_TYPES = frozenset({*IMAGE_FORMATS, *AUDIO_FORMATS})
CLEAN_AUDIO_TYPE = "audio/ogg"
MAX_PIXELS = media_child.MAX_PIXELS  # images over it are refused before any pixel is decoded
MAX_AUDIO_SECONDS = 600  # longer recordings are cut here
DEFAULT_LIMITS = MediaCleaning()


class MediaRejected(Exception):
    """Media not kept. `reason` ("type", "too_large", "unreadable") says what the worker is told;
    the message is a short fixed phrase, safe to log. `final` is False when the moment was the
    cause (no free cleaning slot, no ffmpeg), not the file: a redelivery may try it again."""

    def __init__(self, message: str, reason: str = "unreadable", *, final: bool = True) -> None:
        super().__init__(message)
        self.reason = reason
        self.final = final


def media_type(content_type: str) -> str:
    """The bare, lower-case media type ("audio/ogg; codecs=opus" -> "audio/ogg")."""
    return (content_type or "").split(";")[0].strip().lower()


def check_type(content_type: str) -> str:
    """The bare type if it is one we take, else `MediaRejected` (before anything is downloaded)."""
    bare = media_type(content_type)
    if bare not in ALLOWED_TYPES:
        raise MediaRejected("media type not accepted", "type")
    return bare


def clean_media(content_type: str, data: bytes, max_bytes: int, time_limit: float | None = None,
                limits: MediaCleaning = DEFAULT_LIMITS) -> MediaItem:
    """The media ready to keep, stripped of all metadata; `MediaRejected` for anything else.

    Never raises anything but `MediaRejected`: one crafted file must not stop a channel. The
    file is cleaned in a process of its own within `limits` (CPU, memory, wall clock);
    `time_limit` (seconds) shortens the wall clock, for a webhook that must answer in time.
    """
    bare = check_type(content_type)
    if len(data) > max_bytes:
        raise MediaRejected("media too large", "too_large")
    if bare in IMAGE_FORMATS:
        kind, file_format, clean_type = "image", IMAGE_FORMATS[bare], bare
    else:
        if ffmpeg_path() is None:  # never keep a recording we could not strip
            log.warning("voice note refused: ffmpeg is not installed")
            raise MediaRejected("audio cannot be cleaned here", final=False)
        kind, file_format, clean_type = "audio", AUDIO_FORMATS[bare], CLEAN_AUDIO_TYPE
    try:
        cleaned = Sandbox(limits).clean(kind, file_format, data, max_bytes,
                                        max_audio_seconds=MAX_AUDIO_SECONDS, time_limit=time_limit)
    except CleaningFailed as failed:
        log.info("media not cleaned", extra={"reason": str(failed)})
        raise MediaRejected(str(failed), failed.reason, final=failed.final) from None
    return MediaItem(clean_type, cleaned)
