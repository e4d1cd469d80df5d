"""Crafted attachments, made when a test (or the bench) runs: never committed as files.

Each one stays within every size limit a channel checks before decoding (a few hundred KB, a
pixel count under the budget) and costs a decoder far more than its size suggests:

- `progressive_jpeg`: a progressive JPEG whose last scan is repeated thousands of times. Each scan
  is a few bytes (an end-of-band run over the whole image), yet libjpeg walks every block of the
  image for each one: about 10 ms of a core per scan at 3900x4000, so 20,000 scans (600 KB) take
  minutes. Pillow has no limit on scans, and libjpeg has none by default.
- `flat_png`: 16 million RGBA pixels of one colour, about 70 KB, that decode to 64 MB and cost a
  few hundred MB while cleaned (the audit's "62 KB PNG that doubles the server's RSS").
- `flat_webp`: the same in lossless WebP (under 1 KB); its re-encoding is the hungriest of all.
- `long_recording`: a recording far longer than the cut (MP3 at 8 kb/s: 20 MB is 5.5 hours).
"""

from __future__ import annotations

import io
import struct
import subprocess

from PIL import Image


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, bytes) of each segment after SOI; a scan (SOS) carries its entropy-coded data."""
    segments, index = [], 2
    while index < len(data):
        marker = data[index + 1]
        if marker == 0xD9:  # EOI
            segments.append((marker, data[index:index + 2]))
            break
        end = index + 2 + struct.unpack(">H", data[index + 2:index + 4])[0]
        if marker == 0xDA:  # the scan's data runs to the next marker that is not a stuffed byte or a restart
            while True:
                end = data.index(b"\xff", end)
                if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
        segments.append((marker, data[index:end]))
        index = end
    return segments


def progressive_jpeg(repeats: int, size: tuple[int, int] = (3900, 4000)) -> bytes:
    """A valid progressive JPEG of `size` whose last scan comes `repeats` more times."""
    out = io.BytesIO()
    Image.new("RGB", size, (120, 130, 140)).save(out, format="JPEG", progressive=True, quality=50)
    segments = jpeg_segments(out.getvalue())
    header = b"".join(data for marker, data in segments if marker not in (0xDA, 0xD9))
    scans = [data for marker, data in segments if marker == 0xDA]
    return b"\xff\xd8" + header + b"".join(scans) + scans[-1] * repeats + b"\xff\xd9"


def flat_png(size: tuple[int, int] = (4000, 4000)) -> bytes:
    """16 million RGBA pixels (just within the budget) of one colour: tiny on the wire, large decoded."""
    out = io.BytesIO()
    Image.new("RGBA", size, (1, 2, 3, 4)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def flat_webp(size: tuple[int, int] = (4000, 4000)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (1, 2, 3, 4)).save(out, format="WEBP", lossless=True)
    return out.getvalue()


def long_recording(seconds: int, bitrate: str = "8k") -> bytes:
    """An MP3 of pink noise, `seconds` long, at a low bit rate (many hours fit in a few MB)."""
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
               "-i", f"anoisesrc=d={seconds}:c=pink:a=0.3:r=8000", "-ac", "1", "-c:a", "libmp3lame",
               "-b:a", bitrate, "-f", "mp3", "pipe:1"]
    return subprocess.run(command, capture_output=True, timeout=600, check=True).stdout  # noqa: S603  the test's own ffmpeg
