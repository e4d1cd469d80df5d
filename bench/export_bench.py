"""Measure `grievance export` and `grievance decrypt` on a large operator store: time and peak memory.

    .venv/bin/python bench/export_bench.py --cases 10000 --cases 100000

For each size it builds a temporary operator store of synthetic cases (each valid
against bot/schemas/case.v1.json; 1 in 100 with a 30 KB photo, 1 in 10 with contact
details), then runs, each in its own child process as an operator would:
`grievance export --profile full` (and `--profile redacted`) to one age recipient,
`grievance decrypt` to a file, and checks with the `age` CLI that every case came out.
Peak memory is the child's maximum resident set size (`os.wait4`), so the store
building does not count. Memory that stays flat from 10k to 100k cases shows the export streams.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.case_record import validate_case_record  # noqa: E402
from bot.casecode import new_case_code  # noqa: E402
from bot.config import TAXONOMY  # noqa: E402
from storage import crypto  # noqa: E402
from desk.operator_store import OperatorStore, operator_cases  # noqa: E402

WORDS = "the supervisor did not pay our wages for two months and locked the gate at night we are afraid".split()


def synthetic_record(rng: random.Random, received: datetime) -> dict:
    record = {
        "schema_version": 1,
        "case_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "code": new_case_code(),
        "received_at": received.strftime("%Y-%m-%dT%H:00:00Z"),
        "acknowledge_by": (received.date() + timedelta(days=7)).isoformat(),
        "channel": rng.choice(["sms", "whatsapp", "telegram"]),
        "language": rng.choice(["en", "bn", "vi", "es"]),
        "category": rng.choice(TAXONOMY),
        "urgent": rng.random() < 0.05,
        "description": " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120))),
        "answers": {"workplace": "Factory " + str(rng.randint(1, 500)), "location": "Gazipur", "brand": None, "when": "last month",
                    "ongoing": True, "people_affected": rng.randint(1, 400), "urgent": False, "contact_consent": False},
        "nlu": {"backend": "builtin", "suggested_category": "wages", "confidence": 0.5, "urgent_signal": False},
        "contact": None,
    }
    if rng.random() < 0.1:
        record["answers"]["contact_consent"] = True
        record["contact"] = {"channel": record["channel"], "address": "+8801" + str(rng.randint(10**8, 10**9 - 1))}
    if rng.random() < 0.01:
        photo = rng.randbytes(30_000)
        record["attachments"] = [{"content_type": "image/jpeg", "size": len(photo), "sha256": hashlib.sha256(photo).hexdigest(),
                                  "data_base64": base64.b64encode(photo).decode()}]
    return record


def build_store(folder: Path, cases: int) -> tuple[Path, str]:
    """A deployment folder with a config, an operator key and a store of `cases` cases; returns (config, partner key file)."""
    identity, _ = crypto.new_operator_keypair()
    key = folder / "operator" / "operator-identity.txt"
    key.parent.mkdir(parents=True, mode=0o700)
    key.write_text(identity + "\n")
    key.chmod(0o600)
    config = folder / "config.yaml"
    config.write_text(json.dumps({  # JSON is YAML
        "paths": {"data_dir": "data"}, "logging": {"level": "WARNING", "file": None},
        "operator": {"recipients": [crypto.operator_recipient_of(identity)], "recipients_file": None,
                     "identity_file": "operator/operator-identity.txt", "store": "operator/cases.db"},
    }))
    store = OperatorStore(folder / "operator" / "cases.db", identity)
    rng = random.Random(cases)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    batch = []
    for number in range(cases):
        record = synthetic_record(rng, start + timedelta(minutes=7 * number))
        if number < 100:
            validate_case_record(record)
        blob = crypto.encrypt_store_record(store.key, record["case_id"], json.dumps(record, ensure_ascii=False).encode())
        batch.append({"case_id": record["case_id"], "received_at": record["received_at"], "category": record["category"],
                      "urgent": record["urgent"], "status": "received", "record": blob})
        if len(batch) == 2000 or number == cases - 1:
            with store.engine.begin() as connection:  # bulk insert: add() commits per case
                connection.execute(insert(operator_cases), batch)
            batch = []
    store.close()
    partner_identity, _ = crypto.new_operator_keypair()
    partner = folder / "partner-key.txt"
    partner.write_text(partner_identity + "\n")
    partner.chmod(0o600)
    return config, str(partner)


def measured(command: list[str]) -> tuple[float, float]:
    """Run a child; (seconds, peak RSS in MiB) of that child alone."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, action="append", help="store size (repeatable; default 100000)")
    parser.add_argument("--keep", type=Path, default=None, help="build the stores in this folder and keep them")
    args = parser.parse_args()
    grievance = [sys.executable, "-c", "from bot.cli import main; main()"]
    for cases in args.cases or [100_000]:
        with tempfile.TemporaryDirectory(prefix="export-bench-", dir=args.keep) as temporary:
            folder = Path(temporary)
            if args.keep:
                folder = args.keep / f"store-{cases}"
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
            started = time.perf_counter()
            config, partner_key = build_store(folder, cases)
            built = time.perf_counter() - started
            partner = crypto.operator_recipient_of(Path(partner_key).read_text().strip())
            store_mb = (folder / "operator" / "cases.db").stat().st_size / 2**20
            print(f"{cases} cases: store {store_mb:.0f} MiB, built in {built:.0f} s")
            for profile in ("full", "redacted"):
                out = folder / f"{profile}.jsonl.age"
                seconds, rss = measured([*grievance, "--config", str(config), "export", "-o", str(out), "--profile", profile, "--recipient", partner])
                print(f"  export --profile {profile:8}: {seconds:6.1f} s, peak RSS {rss:6.1f} MiB, file {out.stat().st_size / 2**20:.0f} MiB")
            out = folder / "full.jsonl.age"
            seconds, rss = measured([*grievance, "decrypt", str(out), "--key", partner_key, "-o", str(folder / "full.jsonl")])
            print(f"  decrypt (full)          : {seconds:6.1f} s, peak RSS {rss:6.1f} MiB")
            if shutil.which("age"):
                # Streamed, as `| wc -l` did: the plaintext may not fit in memory. No shell: paths stay arguments.
                with subprocess.Popen(["age", "-d", "-i", partner_key, str(out)], stdout=subprocess.PIPE) as age:  # noqa: S607  the age CLI a partner runs
                    lines = sum(chunk.count(b"\n") for chunk in iter(lambda: age.stdout.read(1 << 20), b""))
                if age.returncode != 0:
                    raise SystemExit("age -d failed")
                print(f"  age -d: {lines} lines (expected {cases})")
                if lines != cases:
                    raise SystemExit(f"age -d gave {lines} lines, expected {cases}")


if __name__ == "__main__":
    main()
