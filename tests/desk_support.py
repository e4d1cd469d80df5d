"""Helpers for the operator's desk and export tests: case records, an operator deployment, the CLI."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import yaml
from click.testing import CliRunner

from bot.case_record import validate_case_record
from bot.casecode import new_case_code
from bot.cli import cli
from storage import crypto

# Words only the worker typed: they must never appear in a file in the clear or in a redacted export.
SECRET_DESCRIPTION = "Supervisor Karim locked the gate and kept our wages"
SECRET_PLACE = "Tongi Shed 4"
SECRET_CONTACT = "+8801711999888"
SECRET_REASON = "Spoke to Karim's cousin, who confirmed the gate"


def make_record(
    received_at: str = "2026-01-05T10:00:00Z",
    *,
    category: str = "wages",
    urgent: bool = False,
    contact: bool = False,
    attachment: bool = False,
    case_id: str | None = None,
) -> dict:
    """A case record as pulled from the queue, valid against bot/schemas/case.v1.json."""
    received_day = date.fromisoformat(received_at[:10])
    record = {
        "schema_version": 1,
        "case_id": case_id or str(uuid.uuid4()),
        "code": new_case_code(),
        "received_at": received_at,
        "acknowledge_by": (received_day + timedelta(days=7)).isoformat(),
        "channel": "whatsapp",
        "language": "bn",
        "category": category,
        "urgent": urgent,
        "description": SECRET_DESCRIPTION,
        "answers": {
            "workplace": "Rahman Garments",
            "location": SECRET_PLACE,
            "brand": None,
            "when": "last month",
            "ongoing": True,
            "people_affected": 35,
            "urgent": urgent,
            "contact_consent": contact,
        },
        "nlu": {"backend": "builtin", "suggested_category": category, "confidence": 0.8, "urgent_signal": urgent},
        "contact": {"channel": "whatsapp", "address": SECRET_CONTACT} if contact else None,
    }
    if attachment:
        data = b"\xff\xd8 a small photo \xff\xd9"
        record["attachments"] = [
            {"content_type": "image/jpeg", "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
             "data_base64": base64.b64encode(data).decode()}
        ]
    validate_case_record(record)
    return record


def operator_deployment(root: Path, store: Path | str = "operator/cases.db", **service_levels) -> Path:
    """An operator machine: a config, an operator key (mode 0600), its store (a file, or a database URL)."""
    root.mkdir(parents=True, exist_ok=True)
    identity, _ = crypto.new_operator_keypair()
    key = root / "operator" / "operator-identity.txt"
    key.parent.mkdir(mode=0o700, exist_ok=True)
    key.write_text(identity + "\n")
    key.chmod(0o600)
    config = {
        "paths": {"data_dir": "data"},
        "logging": {"level": "WARNING", "file": None},
        "operator": {"recipients": [crypto.operator_recipient_of(identity)], "recipients_file": None,
                     "identity_file": "operator/operator-identity.txt", "store": str(store)},
    }
    if service_levels:
        config["operator"]["service_levels"] = service_levels
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root / "config.yaml"


def store_in(config: Path) -> Path | str:
    """The operator store the deployment's config names: its file, or its database URL."""
    store = yaml.safe_load(config.read_text())["operator"]["store"]
    return store if "://" in store else config.parent / store


def store_holds(location, needle: bytes) -> bool:
    """Whether the operator store holds `needle` in the clear: in its file, or in a dump of its database."""
    from databases import needles_in_database

    target = getattr(location, "target", location)
    if isinstance(target, str) and "://" in target:
        return bool(needles_in_database(target, [needle]))
    return needle in Path(target).read_bytes()


def identity_in(config: Path) -> str:
    return (config.parent / "operator" / "operator-identity.txt").read_text().strip()


def run_cli(config: Path, *args: str):
    """`grievance --config CONFIG ARGS` in-process (click's runner); returns the result."""
    return CliRunner().invoke(cli, ["--config", str(config), *args], obj={}, catch_exceptions=False)


def run_main(config: Path | None, *args: str) -> subprocess.CompletedProcess:
    """`grievance` in a child process, through `main()`, as a user runs it (errors included)."""
    prefix = ["--config", str(config)] if config else []
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *prefix, *args],
        capture_output=True, text=True, timeout=120, cwd=config.parent if config else None,
    )
