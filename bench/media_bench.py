"""What cleaning one attachment costs: CPU seconds and peak memory, for ordinary files and the worst crafted ones.

    PYTHONPATH=$PWD .venv/bin/python -m bench.media_bench [--unbounded] [--startup N] [--case NAME ...]

Each case runs in a fresh process (a peak of memory is a per-process maximum) that cleans the
file as a webhook does, through the sandbox at the default `media` limits: "CPU" is the cleaning
process's (and its ffmpeg's) user+system time, "peak" its maximum resident memory, and "server
peak" the resident memory of the process that asked (the gunicorn worker's part). `--unbounded`
also decodes the image cases in the asking process without limits, as before the sandbox
(the progressive JPEG with fewer scans: the cost is linear in them). `--startup N` compares the
cost of one ordinary photo cleaned in-process, by a fresh process (what runs), and by a warm
process that is sent file after file (what a pool of cleaners would cost), median of N.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the crafted files are made by the tests' own generator

MAX_BYTES = 20_000_000


def _noise_wav(seconds: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(8000)
        file.writeframes(os.urandom(seconds * 8000 * 2))
    return out.getvalue()


def _ffmpeg(*args: str) -> bytes:
    return subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", *args, "pipe:1"],  # noqa: S607  the hotline's ffmpeg
                          capture_output=True, check=True, timeout=600).stdout


def _photo(size: tuple[int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(out, format="JPEG", quality=85)
    return out.getvalue()


def _gif(size: tuple[int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("P", size).save(out, format="GIF")
    return out.getvalue()


# name, declared type, how the file is made (in the case's process, so its memory is not counted)
CASES = {
    "photo-telegram": ("ordinary photo, 1280x960 JPEG", "image/jpeg", lambda: _photo((1280, 960))),
    "photo-12mp": ("12 MP phone photo, JPEG", "image/jpeg", lambda: _photo((4032, 3024))),
    "voice-20s": ("20-second voice note, OGG/Opus", "audio/ogg",
                  lambda: _ffmpeg("-f", "lavfi", "-i", "anoisesrc=d=20:c=pink:a=0.3", "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-f", "ogg")),
    "voice-10min": ("10-minute voice note, OGG/Opus", "audio/ogg",
                    lambda: _ffmpeg("-f", "lavfi", "-i", "anoisesrc=d=600:c=pink:a=0.3", "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-f", "ogg")),
    "jpeg-scans": ("crafted: progressive JPEG 3900x4000, 20,000 scans", "image/jpeg", lambda: _crafted("progressive_jpeg", 20_000)),
    "png-flat": ("crafted: PNG of 16 Mpx RGBA, one colour", "image/png", lambda: _crafted("flat_png")),
    "png-bomb": ("crafted: PNG declaring 8900x8900 (79 Mpx)", "image/png", lambda: _crafted("png_declaring", 8900, 8900)),
    "webp-flat": ("crafted: lossless WebP of 16 Mpx RGBA", "image/webp", lambda: _crafted("flat_webp")),
    "gif-large": ("crafted: GIF of 16 Mpx", "image/gif", lambda: _gif((4000, 4000))),
    "wav-noise": ("crafted: 20 MB WAV of noise (20 min, cut at 10)", "audio/wav", lambda: _noise_wav(1200)),
    "mp3-long": ("crafted: 1-hour MP3 at 8 kb/s (cut at 10 min)", "audio/mpeg", lambda: _crafted("long_recording", 3600)),
}
UNBOUNDED = {"photo-12mp": None, "jpeg-scans": 2_000, "png-flat": None, "webp-flat": None, "gif-large": None}


def _crafted(name: str, *args):
    if name == "png_declaring":
        from test_media import png_declaring

        return png_declaring(*args)
    import crafted_media

    return getattr(crafted_media, name)(*args)


def _cpu(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def make_file(case: str, unbounded: bool, path: Path) -> None:
    """Write the case's file (in a process of its own: the tools that make it count in no peak)."""
    scans = UNBOUNDED.get(case)
    path.write_bytes(_crafted("progressive_jpeg", scans) if unbounded and scans else CASES[case][2]())


def measure_one(case: str, unbounded: bool, path: Path) -> dict:
    """In a fresh process: clean the case's file, and report the costs."""
    from channels import media_child
    from channels.media import IMAGE_FORMATS, MediaRejected, clean_media

    content_type = CASES[case][1]
    data = path.read_bytes()
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    if unbounded:  # as before the sandbox: in the asking process, no limit
        try:
            outcome = f"kept, {len(media_child.strip_image_metadata(data, IMAGE_FORMATS[content_type])) // 1000} KB"
        except media_child.Refused as refused:
            outcome = f"refused ({refused.reason})"
    else:
        try:
            outcome = f"kept, {len(clean_media(content_type, data, MAX_BYTES).data) // 1000} KB"
        except MediaRejected as rejected:
            outcome = f"refused ({rejected.reason}: {rejected})"
    wall = time.perf_counter() - start
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cleaner_cpu = _cpu(self_after) - _cpu(self_before) if unbounded else _cpu(children_after) - _cpu(children_before)
    return {"size_kb": len(data) / 1000, "outcome": outcome, "wall": round(wall, 2), "cpu": round(cleaner_cpu, 2),
            "peak_mb": (self_after if unbounded else children_after).ru_maxrss // 1024,
            "server_peak_mb": self_after.ru_maxrss // 1024, "server_before_mb": self_before.ru_maxrss // 1024}


# A warm cleaner: imports Pillow once, then cleans each length-prefixed file it is sent (a pool's cost).
WARM = r"""
import struct, sys
sys.path.insert(0, sys.argv[1])
import media_child
from PIL import Image
read, write = sys.stdin.buffer.read, sys.stdout.buffer.write
while header := read(4):
    data = read(struct.unpack(">I", header)[0])
    out = media_child.strip_image_metadata(data, "JPEG")
    write(struct.pack(">I", len(out)) + out); sys.stdout.buffer.flush()
"""


def startup_costs(count: int) -> dict[str, float]:
    """Median wall seconds for one ordinary photo: in-process, fresh process, warm process."""
    from channels import media_child
    from channels.media import clean_media

    photo = _photo((1280, 960))
    timings: dict[str, list[float]] = {"in the server's process (no limits)": [], "a fresh process per file (now)": [],
                                        "a warm process, file after file (a pool)": []}
    warm = subprocess.Popen([sys.executable, "-I", "-c", WARM, str(ROOT / "channels")],  # noqa: S603  the bench's own child
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert warm.stdin is not None and warm.stdout is not None  # noqa: S101
    for _ in range(count):
        start = time.perf_counter()
        media_child.strip_image_metadata(photo, "JPEG")
        timings["in the server's process (no limits)"].append(time.perf_counter() - start)
        start = time.perf_counter()
        clean_media("image/jpeg", photo, MAX_BYTES)
        timings["a fresh process per file (now)"].append(time.perf_counter() - start)
        start = time.perf_counter()
        warm.stdin.write(struct.pack(">I", len(photo)) + photo)
        warm.stdin.flush()
        warm.stdout.read(struct.unpack(">I", warm.stdout.read(4))[0])
        timings["a warm process, file after file (a pool)"].append(time.perf_counter() - start)
    warm.stdin.close()
    warm.wait(timeout=60)
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unbounded", action="store_true", help="also decode the image cases without limits, as before")
    parser.add_argument("--startup", type=int, default=0, metavar="N", help="compare in-process, per-file and warm cleaning")
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="only these cases (default: all)")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_file(args.make[0], args.unbounded, Path(args.make[1]))
        return
    if args.one:
        print(json.dumps(measure_one(args.one[0], args.unbounded, Path(args.one[1]))))
        return
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'case':52} {'size':>9}  {'how':10} {'CPU s':>6} {'wall s':>7} {'peak MB':>8} {'server MB':>10}  outcome")
    for case, (name, _, _) in CASES.items():
        if args.case and case not in args.case:
            continue
        modes = [False] + ([True] if args.unbounded and case in UNBOUNDED else [])
        for unbounded in modes:
            flag = ["--unbounded"] if unbounded else []
            with tempfile.TemporaryDirectory() as scratch:
                path = str(Path(scratch) / "file")
                subprocess.run([sys.executable, "-m", "bench.media_bench", "--make", case, path, *flag],  # noqa: S603
                               check=True, timeout=1800, cwd=ROOT)
                done = subprocess.run([sys.executable, "-m", "bench.media_bench", "--one", case, path, *flag],  # noqa: S603
                                      capture_output=True, text=True, timeout=1800, check=False, cwd=ROOT)
            if done.returncode != 0:
                print(f"{name:52} failed: {done.stderr.strip().splitlines()[-1][:80]}")
                continue
            result = json.loads(done.stdout)
            label = name if not unbounded or not UNBOUNDED[case] else name.replace("20,000", f"{UNBOUNDED[case]:,}")
            print(f"{label:52} {result['size_kb']:7.0f} KB  {'unbounded' if unbounded else 'sandbox':10} {result['cpu']:6.2f} "
                  f"{result['wall']:7.2f} {result['peak_mb']:8} {result['server_before_mb']:4}->{result['server_peak_mb']:<5}  {result['outcome']}")
    if args.startup:
        for name, seconds in startup_costs(args.startup).items():
            print(f"ordinary photo (1280x960 JPEG), {name}: median {seconds * 1000:.0f} ms of {args.startup}")


if __name__ == "__main__":
    main()
