"""Helpers for tests: scanning files for text that must not be there."""

from __future__ import annotations

from pathlib import Path

ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")


def needles_in_tree(root: Path, needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (file, needle, encoding) where a needle occurs in a file below root."""
    hits = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # gone since the listing (SQLite's -shm/-wal at close): it holds nothing now
            continue
        for needle in needles:
            for encoding in ENCODINGS:
                if needle.encode(encoding) in data:
                    hits.append((str(path.relative_to(root)), needle, encoding))
    return hits
