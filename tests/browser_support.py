"""The real browser of the tests: Debian's headless Chromium (installed by `make test`), nothing downloaded.

Chromium is started with the flags this machine needs: no sandbox (tests run as root),
no GPU, and none of its background connections (the network is closed; each would be
refused), with a fresh profile each time.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--disable-dev-shm-usage")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make test` installs the Debian package chromium"
    return found


def screenshot(url: str, output: Path, width: int = 1280, height: int = 1600) -> Path:
    """Render `url` in headless Chromium and save a PNG of the window."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", f"--screenshot={output}", url],
            check=True, capture_output=True, timeout=120,
        )
    assert output.exists() and output.stat().st_size > 0
    return output
