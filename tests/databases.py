"""Which database the test deployments use: SQLite (default) or, with GRIEVANCE_TEST_DB=postgresql, PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TEST_DB = os.environ.get("GRIEVANCE_TEST_DB", "sqlite")
if TEST_DB not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"GRIEVANCE_TEST_DB must be sqlite or postgresql, not {TEST_DB!r}")
ON_POSTGRES = TEST_DB == "postgresql"
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_URL = f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/test"
# Every database a run makes is named gt_<host>_<pid>_<token>_...: two runs on one machine (two
# engineers, CI) never share or drop each other's, and a run that was killed can be recognised
# by its dead pid and its leftovers dropped by the next run on the same host.
PG_PREFIX = "gt"
PG_HOST_TAG = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
PG_RUN = f"{PG_PREFIX}_{PG_HOST_TAG}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
PG_TEMPLATE = f"{PG_RUN}_template"

# For tests that need a real SQLite file (scans of the data folder, WAL checks).
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="reads the SQLite database file itself; on PostgreSQL there is no such file")


def example_config(database_url: str | None) -> dict:
    """The example config.yaml as a mapping, pointed at the test's database."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    if database_url:
        config.setdefault("paths", {})["database_url"] = database_url
    return config


def needles_in_database(database_url: str, needles: list[str | bytes]) -> list[tuple[str, str]]:
    """Every (needle, form) found in a full pg_dump of a PostgreSQL database.

    The PostgreSQL counterpart of scanning the SQLite file: bytea columns are
    dumped as hex, so each needle is looked for as text and as hex.
    """
    import subprocess

    dump = subprocess.run(["pg_dump", "--no-owner", database_url.replace("+psycopg", "", 1)],
                          capture_output=True, check=True).stdout
    hits = []
    for needle in needles:
        raw = needle if isinstance(needle, bytes) else needle.encode()
        for form, encoded in (("text", raw), ("hex", raw.hex().encode())):
            if encoded in dump:
                hits.append((repr(needle), form))
    return hits


def needles_at_rest(settings, needles: list[str]) -> list[tuple]:
    """Every needle found at rest: in any file of the data folder, and on PostgreSQL in a full dump.

    The data folder holds the SQLite database and its WAL journal on SQLite (and
    logs on both); on PostgreSQL the rows are in the server, so it is dumped too.
    """
    from leak_scan import needles_in_tree

    hits: list[tuple] = list(needles_in_tree(settings.data_dir, needles)) if settings.data_dir.exists() else []
    if ON_POSTGRES:
        hits += needles_in_database(settings.database_url, needles)
    return hits
