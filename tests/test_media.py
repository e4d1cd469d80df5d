"""Photos lose every metadata block (GPS, camera, time) before anything keeps them."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from channels.media import MediaRejected, clean_media


def photo_with_exif(image_format: str = "JPEG") -> bytes:
    image = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model-XYZ-12345"  # Model
    exif[0x0132] = "2026:11:24 23:59:59"  # DateTime
    exif[0x8825] = {1: "N", 2: (23.0, 45.0, 12.0), 3: "E", 4: (90.0, 24.0, 36.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format=image_format, exif=exif, comment=b"secret comment" if image_format == "JPEG" else None)
    return out.getvalue()


@pytest.mark.parametrize(("content_type", "image_format"), [("image/jpeg", "JPEG"), ("image/png", "PNG"), ("image/webp", "WEBP")])
def test_images_lose_exif_and_gps_but_keep_their_pixels(content_type, image_format):
    original = photo_with_exif(image_format)
    assert b"Model-XYZ-12345" in original
    cleaned = clean_media(content_type, original, max_bytes=1_000_000)
    assert b"Model-XYZ-12345" not in cleaned.data and b"PhoneMaker" not in cleaned.data
    assert b"secret comment" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert image.size == (40, 30)
        assert not image.getexif()
        assert image.convert("RGB").getpixel((5, 5))[0] > 150


def test_voice_notes_are_kept_as_they_are():
    assert clean_media("audio/ogg; codecs=opus", b"OggS....", max_bytes=100).data == b"OggS...."


@pytest.mark.parametrize(
    ("content_type", "data", "max_bytes"),
    [("application/x-msdownload", b"MZ", 100), ("image/jpeg", b"not an image", 100), ("audio/ogg", b"x" * 101, 100)],
)
def test_unacceptable_media_is_rejected(content_type, data, max_bytes):
    with pytest.raises(MediaRejected):
        clean_media(content_type, data, max_bytes)
