"""Media from workers: photos are re-encoded without metadata before anything keeps them.

A phone photo carries EXIF: the GPS position where it was taken, the phone's
make and serial, the time to the second. Any of these can identify a worker.
Images are decoded and re-encoded from their pixels alone (Pillow), which
drops every metadata block; other media (voice notes) are kept as they are.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.messages import MediaItem

IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
ALLOWED_TYPES = frozenset({*IMAGE_FORMATS, "audio/ogg", "audio/mpeg", "audio/amr", "audio/mp4", "audio/aac", "video/mp4", "application/pdf"})
MAX_PIXELS = 40_000_000  # refuse decompression bombs


class MediaRejected(Exception):
    """The media is of a type we do not take, too large, or not what it claims to be."""


def clean_media(content_type: str, data: bytes, max_bytes: int) -> MediaItem:
    """The media ready to keep: checked, and for images stripped of all metadata."""
    content_type = content_type.split(";")[0].strip().lower()
    if content_type not in ALLOWED_TYPES:
        raise MediaRejected("media type not accepted")
    if len(data) > max_bytes:
        raise MediaRejected("media too large")
    if content_type in IMAGE_FORMATS:
        return MediaItem(content_type, strip_image_metadata(data, IMAGE_FORMATS[content_type]))
    return MediaItem(content_type, data)


def strip_image_metadata(data: bytes, image_format: str) -> bytes:
    """Re-encode an image from its pixels only (orientation applied first, so it still looks right)."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            # A new image from raw pixels has no info, EXIF, XMP, ICC or comment blocks at all.
            pixels = Image.frombytes(upright.mode, upright.size, upright.tobytes())
            if upright.mode == "P" and upright.getpalette():
                pixels.putpalette(upright.getpalette())
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        raise MediaRejected("not a readable image") from None
    out = io.BytesIO()
    pixels.save(out, format=image_format)
    return out.getvalue()
