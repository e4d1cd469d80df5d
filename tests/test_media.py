"""Photos and voice notes lose every metadata block (GPS, camera, time, tags) before anything keeps them;
crafted files, bombs and types we cannot clean are refused with a reason, never a crash."""

from __future__ import annotations

import io
import struct
import subprocess
import tempfile
import zlib

import pytest
from PIL import Image

from channels import media, media_child
from channels.media import MediaRejected, clean_media

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

SECRET_TAGS = (b"Model-XYZ-12345", b"PhoneMaker", b"secret comment", b"SecretTitle", b"WorkerName", b"23.7500")


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


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` (a decompression bomb's shape), CRC correct."""
    data = bytearray(encoded(Image.new("L", (1, 1)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def ffmpeg(*args: str) -> bytes:
    """Make a test recording with ffmpeg (tagged like a phone's), returned as bytes."""
    done = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", *args, "pipe:1"],
                          capture_output=True, timeout=60, check=True)
    return done.stdout


def tagged_recording(container: str, codec: str, seconds: float = 1.0, video: bool = False) -> bytes:
    inputs = ["-f", "lavfi", "-i", f"sine=frequency=300:duration={seconds}"]
    if video:
        inputs += ["-f", "lavfi", "-i", f"testsrc=size=64x48:rate=5:duration={seconds}", "-c:v", "mpeg4"]
    tags = ["-metadata", "title=SecretTitle", "-metadata", "artist=WorkerName", "-metadata", "location=+23.7500+090.3900/"]
    flags = ["-movflags", "+use_metadata_tags+frag_keyframe+empty_moov"] if container in ("mp4", "3gp") else []
    return ffmpeg(*inputs, *tags, *flags, "-c:a", codec, "-f", container)


def duration_of(data: bytes) -> float:
    with tempfile.NamedTemporaryFile(suffix=".ogg") as file:  # Ogg's length is read from its end: not through a pipe
        file.write(data)
        file.flush()
        done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file.name],
                              capture_output=True, timeout=60, check=True)
    return float(done.stdout)


# ---------------------------------------------------------------- images


@pytest.mark.parametrize(("content_type", "image_format"), [("image/jpeg", "JPEG"), ("image/png", "PNG"), ("image/webp", "WEBP")])
def test_images_lose_exif_and_gps_but_keep_their_pixels(content_type, image_format):
    original = photo_with_exif(image_format)
    assert b"Model-XYZ-12345" in original
    cleaned = clean_media(content_type, original, max_bytes=1_000_000)
    assert not [tag for tag in SECRET_TAGS if tag in cleaned.data]
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert image.size == (40, 30)
        assert not image.getexif()
        assert image.convert("RGB").getpixel((5, 5))[0] > 150


@pytest.mark.parametrize(
    ("content_type", "image"),
    [
        ("image/png", Image.new("RGBA", (8, 8), (1, 2, 3, 4))),
        ("image/png", Image.new("LA", (8, 8))),
        ("image/png", Image.new("P", (8, 8))),
        ("image/png", Image.new("1", (8, 8))),
        ("image/png", Image.new("I;16", (8, 8))),
        ("image/jpeg", Image.new("CMYK", (8, 8))),
        ("image/jpeg", Image.new("L", (8, 8))),
        ("image/webp", Image.new("RGBA", (8, 8))),
        ("image/gif", Image.new("P", (8, 8))),
        ("image/gif", Image.new("RGB", (8, 8), (9, 9, 9))),
    ],
    ids=lambda value: getattr(value, "mode", value),
)
def test_every_image_mode_a_phone_or_an_attacker_sends_is_cleaned_without_a_crash(content_type, image):
    data = encoded(image, media.IMAGE_FORMATS[content_type])
    cleaned = clean_media(content_type, data, max_bytes=1_000_000)
    with Image.open(io.BytesIO(cleaned.data)) as reopened:
        assert reopened.size == (8, 8) and reopened.format == media.IMAGE_FORMATS[content_type]


def rgba_png() -> bytes:
    """The audit's crafted file: a 207-byte-class RGBA PNG (it will be declared image/jpeg)."""
    return encoded(Image.new("RGBA", (16, 16), (255, 0, 0, 128)), "PNG")


def big_jpeg() -> bytes:
    return encoded(Image.effect_noise((300, 300), 80).convert("RGB"), "JPEG", quality=95)


@pytest.mark.parametrize(
    ("name", "content_type", "data", "max_bytes", "reason"),
    [
        ("RGBA PNG declared JPEG (crashed the save)", "image/jpeg", rgba_png(), 10_000, "unreadable"),
        ("JPEG declared PNG (grew 20 times)", "image/png", big_jpeg(), 10_000_000, "unreadable"),
        ("PNG declared WebP", "image/webp", rgba_png(), 10_000, "unreadable"),
        ("8900x8900 bomb", "image/png", png_declaring(8900, 8900), 10_000, "too_large"),
        ("just over the pixel budget", "image/png", png_declaring(4001, 4000), 10_000, "too_large"),
        ("truncated JPEG", "image/jpeg", big_jpeg()[:600], 10_000_000, "unreadable"),
        ("not an image", "image/jpeg", b"not an image", 100, "unreadable"),
        ("too many bytes", "audio/ogg", b"x" * 101, 100, "too_large"),
        ("an executable", "application/x-msdownload", b"MZ", 100, "type"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_crafted_and_mis_declared_media_is_refused_with_a_reason(name, content_type, data, max_bytes, reason):
    with pytest.raises(MediaRejected) as refused:
        clean_media(content_type, data, max_bytes)
    assert refused.value.reason == reason, name


def test_a_multi_picture_jpeg_from_a_camera_phone_keeps_its_first_picture_only():
    first, second = Image.new("RGB", (20, 10), (200, 0, 0)), Image.new("RGB", (20, 10), (0, 200, 0))
    mpo = encoded(first, "MPO", save_all=True, append_images=[second])
    cleaned = clean_media("image/jpeg", mpo, max_bytes=1_000_000)
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert image.format == "JPEG" and getattr(image, "n_frames", 1) == 1
        assert image.getpixel((5, 5))[0] > 150


def test_the_pixel_budget_is_checked_before_any_pixel_is_decoded(monkeypatch):
    def no_decoding(self):
        raise AssertionError("decoded")

    bomb = png_declaring(8900, 8900)
    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    with pytest.raises(media_child.Refused) as refused:  # the cleaning process's own code, run here
        media_child.strip_image_metadata(bomb, "PNG")
    assert refused.value.reason == "too_large"  # a decoding attempt would have been "unreadable"


def test_an_image_that_grows_when_cleaned_is_checked_again_against_the_limit():
    gradient = Image.linear_gradient("L").resize((256, 256))
    original = encoded(gradient, "PNG", optimize=True)
    cleaned = clean_media("image/png", original, max_bytes=10_000_000)
    assert len(cleaned.data) > len(original)  # Pillow's default compression is not the sender's best
    with pytest.raises(MediaRejected) as refused:
        clean_media("image/png", original, max_bytes=len(original))
    assert refused.value.reason == "too_large"


def test_any_unexpected_decoder_error_is_a_refusal_not_a_crash(monkeypatch):
    def broken(*args, **kwargs):
        raise struct.error("a decoder bug")

    monkeypatch.setattr("PIL.ImageOps.exif_transpose", broken)
    with pytest.raises(media_child.Refused) as refused:  # the cleaning process's own code, run here
        media_child.strip_image_metadata(photo_with_exif(), "JPEG")
    assert refused.value.reason == "unreadable"


# ---------------------------------------------------------------- voice notes


@pytest.mark.parametrize(
    ("content_type", "container", "codec"),
    [
        ("audio/ogg; codecs=opus", "ogg", "libopus"),  # WhatsApp and Telegram voice notes
        ("audio/ogg", "ogg", "libvorbis"),
        ("audio/mpeg", "mp3", "libmp3lame"),
        ("audio/mp4", "mp4", "aac"),  # an M4A from a phone's recorder, with a GPS atom
        ("audio/aac", "adts", "aac"),  # raw AAC carries no tags, but is re-encoded all the same
        ("audio/3gpp", "3gp", "aac"),  # an Android recorder's file, as MMS brings it
        ("audio/wav", "wav", "pcm_s16le"),
        ("audio/webm", "webm", "libopus"),  # a browser's recording
    ],
)
def test_voice_notes_are_re_encoded_without_any_tag(content_type, container, codec):
    original = tagged_recording(container, codec)
    assert container == "adts" or any(tag in original for tag in SECRET_TAGS)
    cleaned = clean_media(content_type, original, max_bytes=1_000_000)
    assert cleaned.content_type == "audio/ogg" and cleaned.data.startswith(b"OggS")
    assert not [tag for tag in SECRET_TAGS if tag in cleaned.data]
    assert 0.8 < duration_of(cleaned.data) < 1.3


def test_the_picture_track_of_a_video_declared_as_audio_is_dropped_with_its_gps():
    original = tagged_recording("mp4", "aac", video=True)
    assert b"23.7500" in original
    cleaned = clean_media("audio/mp4", original, max_bytes=1_000_000)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type:format_tags", "-of", "json", "-i", "pipe:0"],
                           input=cleaned.data, capture_output=True, timeout=60, check=True).stdout
    assert b'"codec_type": "audio"' in probe and b'"video"' not in probe
    assert not [tag for tag in SECRET_TAGS if tag in cleaned.data]


def test_long_recordings_are_cut(monkeypatch):
    monkeypatch.setattr(media, "MAX_AUDIO_SECONDS", 1)
    cleaned = clean_media("audio/ogg", tagged_recording("ogg", "libopus", seconds=3), max_bytes=1_000_000)
    assert duration_of(cleaned.data) < 1.3


@pytest.mark.parametrize(
    ("content_type", "data"),
    [("audio/ogg", b"OggS\x00\x02voice-bytes"), ("audio/mp4", photo_with_exif()), ("audio/mpeg", b"")],
)
def test_a_recording_ffmpeg_cannot_read_is_refused(content_type, data):
    with pytest.raises(MediaRejected) as refused:
        clean_media(content_type, data, max_bytes=1_000_000)
    assert refused.value.reason == "unreadable"


def test_without_ffmpeg_a_voice_note_is_refused_never_kept_as_it_came(monkeypatch):
    monkeypatch.setattr(media, "ffmpeg_path", lambda: None)
    with pytest.raises(MediaRejected) as refused:
        clean_media("audio/ogg", tagged_recording("ogg", "libopus"), max_bytes=1_000_000)
    assert refused.value.reason == "unreadable"


# ---------------------------------------------------------------- video and documents


def pdf_with_author() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"3 0 obj << /Author (WorkerName) /Producer (PhoneMaker) >> endobj\n"
            b"trailer << /Root 1 0 R /Info 3 0 R >>\n%%EOF\n")


@pytest.mark.parametrize(
    ("content_type", "make"),
    [
        ("application/pdf", pdf_with_author),
        ("video/mp4", lambda: tagged_recording("mp4", "aac", video=True)),
        ("video/3gpp", lambda: b"\x00\x00\x00\x18ftyp3gp4"),
        ("application/msword", lambda: b"\xd0\xcf\x11\xe0"),
    ],
)
def test_video_and_documents_are_refused_by_type_and_nothing_of_them_is_kept(content_type, make):
    with pytest.raises(MediaRejected) as refused:
        clean_media(content_type, make(), max_bytes=1_000_000)
    assert refused.value.reason == "type"
    with pytest.raises(MediaRejected):
        media.check_type(content_type)  # adapters ask this before downloading anything
