"""What cleaning one crafted or large attachment costs: peak memory and time, each case in a fresh process.

    PYTHONPATH=$PWD .venv/bin/python -m bench.media_bench [--compare-with REV]

Cases: the audit's 8900x8900 PNG (a few hundred KB that decode to 79 million pixels), a 12 MP phone
photo, and a 10-minute voice note. `--compare-with` also runs `channels/media.py` as it was at a git
revision (e.g. the one before the hardening) on the image cases.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, importlib.util
spec = importlib.util.spec_from_file_location("media_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
data = open(sys.argv[3], "rb").read()
start = time.perf_counter()
try:
    item = module.clean_media(sys.argv[2], data, 50_000_000)
    outcome = f"kept, {len(item.data)} bytes"
except module.MediaRejected as error:
    outcome = f"refused ({getattr(error, 'reason', str(error))})"
print(json.dumps({"outcome": outcome, "seconds": round(time.perf_counter() - start, 2),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


CASES = (
    ("8900x8900 PNG (79 Mpx)", "image/png", "bomb.png"),
    ("12 MP phone photo (JPEG)", "image/jpeg", "photo.jpg"),
    ("10-minute voice note (OGG/Opus)", "audio/ogg", "voice.ogg"),
)


def make_cases(folder: Path) -> None:
    """Write the cases' files (run in its own process: a child's peak memory counts its parent's at fork)."""
    from PIL import Image

    bomb = Image.linear_gradient("L").resize((8900, 8900)).convert("RGBA")
    path = folder / "bomb.png"
    bomb.save(path, format="PNG", optimize=True)
    photo = Image.effect_noise((4032, 3024), 40).convert("RGB")
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=85)
    path = folder / "photo.jpg"
    path.write_bytes(out.getvalue())
    path = folder / "voice.ogg"
    noise = ["-f", "lavfi", "-i", "anoisesrc=d=600:c=pink:a=0.3", "-ac", "1", "-c:a", "libopus", "-b:a", "32k", str(path)]
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", *noise], check=True, timeout=300)  # noqa: S607  the hotline's ffmpeg


def run(module_path: Path, content_type: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(module_path), content_type, str(path)],
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return {"outcome": f"crashed ({done.stderr.strip().splitlines()[-1][:60]})", "seconds": None, "peak_mb": None}
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-with", help="a git revision whose channels/media.py is measured too")
    parser.add_argument("--make-cases", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_cases:
        make_cases(Path(args.make_cases))
        return
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        subprocess.run([sys.executable, "-m", "bench.media_bench", "--make-cases", str(folder)], check=True, timeout=600)
        versions = [("now", root / "channels" / "media.py")]
        if args.compare_with:
            old = folder / "media_old.py"
            old.write_text(subprocess.run(["git", "-C", str(root), "show", f"{args.compare_with}:channels/media.py"],  # noqa: S607  the checkout's own git
                                          capture_output=True, text=True, check=True).stdout)
            versions.append((args.compare_with[:8], old))
        for name, content_type, file_name in CASES:
            path = folder / file_name
            for label, module_path in versions:
                if label != "now" and content_type.startswith("audio/"):
                    continue  # the old code kept voice notes as they came
                result = run(module_path, content_type, path)
                print(f"{name:34} {path.stat().st_size / 1000:8.0f} KB  {label:8} {result['outcome']:28} "
                      f"{result['seconds']} s  peak {result['peak_mb']} MB")


if __name__ == "__main__":
    main()
