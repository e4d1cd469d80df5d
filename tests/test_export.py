"""Encrypted batch exports, opened with the real `age` CLI as a partner would (make test installs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest

from bot.case_record import case_schema
from storage import crypto
from desk.export import WITHHELD_CODE, WITHHELD_TEXT, write_export
from desk.lifecycle import ServiceLevels
from desk.operator_store import CaseFilter, OperatorStore, OperatorStoreError

from desk_support import SECRET_CONTACT, SECRET_DESCRIPTION, SECRET_PLACE, identity_in, store_in, make_record, operator_deployment, run_cli, run_main

AGE = shutil.which("age")  # no skip when missing: the tests fail (make test installs it)


def _partner(tmp_path: Path, name: str) -> tuple[Path, str]:
    """A partner's key made by the standard tool: (key file, public key)."""
    key = tmp_path / f"{name}-key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout.strip()
    return key, public


def age_decrypt(key: Path, file: Path) -> subprocess.CompletedProcess:
    assert AGE, "the age CLI is missing: `make age-cli` installs it"
    return subprocess.run([AGE, "-d", "-i", str(key), str(file)], capture_output=True, timeout=60)


def lines_of(key: Path, file: Path) -> list[dict]:
    opened = age_decrypt(key, file)
    assert opened.returncode == 0, opened.stderr
    records = [json.loads(line) for line in opened.stdout.decode().splitlines()]
    validator = jsonschema.Draft202012Validator(case_schema(), format_checker=jsonschema.FormatChecker())
    for record in records:
        validator.validate(record)  # every line is a case record of the published schema
    return records


@pytest.fixture
def desk(tmp_path: Path, operator_store):
    """An operator deployment with five varied cases, one of them acknowledged."""
    config = operator_deployment(tmp_path / "desk", operator_store)
    store = OperatorStore(store_in(config), identity_in(config))
    cases = {
        "contact_photo": make_record("2026-01-02T10:00:00Z", contact=True, attachment=True),
        "urgent_safety": make_record("2026-01-10T10:00:00Z", category="safety", urgent=True),
        "wages_jan": make_record("2026-01-20T10:00:00Z"),
        "hours_feb": make_record("2026-02-01T00:00:00Z", category="hours"),
        "wages_mar": make_record("2026-03-31T23:00:00Z", contact=True),
    }
    for record in cases.values():
        store.add(record)
    store.set_status(cases["wages_jan"]["case_id"], "acknowledged", "called back", datetime(2026, 1, 21, 7, 5, tzinfo=timezone.utc))
    store.close()
    return config, cases


def _export(config: Path, out: Path, *args: str):
    result = run_cli(config, "export", "-o", str(out), *args)
    assert result.exit_code == 0, result.output
    return result


def test_full_export_opens_with_age_and_keeps_everything(desk, tmp_path):
    config, cases = desk
    key, public = _partner(tmp_path, "auditor")
    out = tmp_path / "batch.jsonl.age"
    result = _export(config, out, "--profile", "full", "--recipient", public)
    assert result.output.strip() == f"exported 5 cases (full) to {out}, for 1 recipient(s)"
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    data = out.read_bytes()
    assert data.startswith(b"age-encryption.org/v1\n")
    for secret in (SECRET_DESCRIPTION, SECRET_PLACE, SECRET_CONTACT):
        assert secret.encode() not in data

    records = lines_of(key, out)
    assert [r["case_id"] for r in records] == [r["case_id"] for r in cases.values()]  # oldest first
    by_id = {r["case_id"]: r for r in records}
    for original in cases.values():
        exported = dict(by_id[original["case_id"]])
        mechanism = exported.pop("mechanism")
        assert exported == original
        assert mechanism["profile"] == "full" and mechanism["withheld"] == []
    jan = by_id[cases["wages_jan"]["case_id"]]["mechanism"]
    assert jan == {"status": "acknowledged", "status_changed_at": "2026-01-21T07:05:00Z", "category": "wages", "acknowledge_by": "2026-01-27",
                   "feedback_by": "2026-04-20", "profile": "full", "withheld": []}
    assert by_id[cases["hours_feb"]["case_id"]]["mechanism"]["status_changed_at"] == "2026-02-01T00:00:00Z"


def test_redacted_export_withholds_contact_attachments_code_and_free_text(desk, tmp_path):
    config, cases = desk
    key, public = _partner(tmp_path, "brand")
    out = tmp_path / "brand.jsonl.age"
    _export(config, out, "--profile", "redacted", "--recipient", public)
    plaintext = age_decrypt(key, out).stdout.decode()
    for secret in (SECRET_DESCRIPTION, SECRET_PLACE, SECRET_CONTACT, "Rahman", "last month", "data_base64"):
        assert secret not in plaintext
    for original in cases.values():
        assert original["code"] not in plaintext
    for record in lines_of(key, out):
        original = next(c for c in cases.values() if c["case_id"] == record["case_id"])
        assert record["contact"] is None and "attachments" not in record
        assert record["code"] == WITHHELD_CODE and record["description"] == WITHHELD_TEXT
        assert record["answers"] == {**original["answers"], "workplace": None, "location": None, "when": None}
        assert (record["category"], record["urgent"], record["received_at"]) == (original["category"], original["urgent"], original["received_at"])
        assert record["mechanism"]["withheld"] == [
            "contact", "attachments", "code", "description", "answers.workplace", "answers.location", "answers.when"]


def test_redacted_export_with_text_keeps_the_words_but_not_the_worker(desk, tmp_path):
    config, cases = desk
    key, public = _partner(tmp_path, "brand")
    out = tmp_path / "brand-text.jsonl.age"
    _export(config, out, "--profile", "redacted", "--include-text", "--recipient", public)
    records = lines_of(key, out)
    assert all(r["description"] == SECRET_DESCRIPTION and r["answers"]["location"] == SECRET_PLACE for r in records)
    assert all(r["contact"] is None and "attachments" not in r and r["code"] == WITHHELD_CODE for r in records)
    assert SECRET_CONTACT not in age_decrypt(key, out).stdout.decode()
    assert records[0]["mechanism"]["withheld"] == ["contact", "attachments", "code"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["--since", "2026-01-10", "--until", "2026-02-01"], ["urgent_safety", "wages_jan", "hours_feb"]),
        (["--until", "2026-01-09"], ["contact_photo"]),
        (["--since", "2026-03-31"], ["wages_mar"]),
        (["--status", "acknowledged"], ["wages_jan"]),
        (["--category", "wages", "--status", "received"], ["contact_photo", "wages_mar"]),
        (["--urgent"], ["urgent_safety"]),
        (["--category", "child_labour"], []),
    ],
)
def test_export_filters(desk, tmp_path, filters, expected):
    config, cases = desk
    key, public = _partner(tmp_path, "p")
    out = tmp_path / "f.jsonl.age"
    result = _export(config, out, "--profile", "redacted", "--recipient", public, *filters)
    assert f"exported {len(expected)} cases" in result.output
    assert [r["case_id"] for r in lines_of(key, out)] == [cases[name]["case_id"] for name in expected]


def test_two_recipients_each_open_it_and_a_third_cannot(desk, tmp_path):
    config, _ = desk
    first_key, first = _partner(tmp_path, "first")
    second_key, second = _partner(tmp_path, "second")
    third_key, _ = _partner(tmp_path, "third")
    recipients_file = tmp_path / "recipients.txt"
    recipients_file.write_text(f"# the auditor\n{second}\n\n")
    out = tmp_path / "two.jsonl.age"
    result = _export(config, out, "--profile", "full", "--recipient", first, "--recipients-file", str(recipients_file))
    assert "for 2 recipient(s)" in result.output
    assert lines_of(first_key, out) == lines_of(second_key, out)
    assert len(lines_of(first_key, out)) == 5
    refused = age_decrypt(third_key, out)
    assert refused.returncode != 0 and refused.stdout == b""


def test_grievance_decrypt_roundtrip_and_wrong_key(desk, tmp_path):
    config, _ = desk
    key, public = _partner(tmp_path, "p")
    other_key, _ = _partner(tmp_path, "other")
    out = tmp_path / "batch.jsonl.age"
    _export(config, out, "--profile", "full", "--recipient", public)
    expected = age_decrypt(key, out).stdout

    to_stdout = run_main(None, "decrypt", str(out), "--key", str(key))
    assert to_stdout.returncode == 0 and to_stdout.stdout.encode() == expected and to_stdout.stderr == ""
    opened = tmp_path / "opened.jsonl"
    to_file = run_main(None, "decrypt", str(out), "--key", str(key), "-o", str(opened))
    assert to_file.returncode == 0, to_file.stderr
    assert opened.read_bytes() == expected and os.stat(opened).st_mode & 0o777 == 0o600

    wrong = run_main(None, "decrypt", str(out), "--key", str(other_key), "-o", str(tmp_path / "nothing.jsonl"))
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.strip().splitlines() == ["Error: the file does not open with this key (or is not an age file)"]
    assert not (tmp_path / "nothing.jsonl").exists()

    cut = tmp_path / "cut.jsonl.age"
    cut.write_bytes(out.read_bytes()[:-20])
    damaged = run_main(None, "decrypt", str(cut), "--key", str(key), "-o", str(tmp_path / "cut.jsonl"))
    assert damaged.returncode == 2 and damaged.stderr.strip().splitlines() == ["Error: the file is damaged or cut short"]
    assert not (tmp_path / "cut.jsonl").exists() and not list(tmp_path.glob(".cut.jsonl.*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "full"], "Error: give at least one --recipient age1... or a --recipients-file"),
        (["--profile", "full", "--recipient", "age1notakey"], "Error: 'age1notakey' is not an age X25519 public key (age1...)"),
        (["--profile", "full", "--recipients-file", "/nonexistent/keys.txt"], "Error: cannot read the recipients file /nonexistent/keys.txt"),
        (["--profile", "full", "--include-text", "--recipient", "age1x"], "Error: --include-text applies to --profile redacted"),
        (["--recipient", "age1x"], "Error: Missing option '--profile'"),
        (["--profile", "full", "--recipient", "age1x", "--since", "2026-02-01", "--until", "2026-01-01"], "--since is after --until"),
    ],
)
def test_export_refusals_are_one_line_with_status_2(desk, tmp_path, args, message):
    config, _ = desk
    out = tmp_path / "never.age"
    result = run_main(config, "export", "-o", str(out), *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_a_failure_mid_export_leaves_no_file(tmp_path, operator_store):
    identity, _ = crypto.new_operator_keypair()
    _, partner = crypto.new_operator_keypair()
    path = operator_store
    store = OperatorStore(path, identity, ServiceLevels())
    for day in range(1, 4):
        store.add(make_record(f"2026-01-0{day}T10:00:00Z"))
    store.close()
    other_identity, _ = crypto.new_operator_keypair()  # opens no record: fails on the first one
    wrong = OperatorStore(path, other_identity)
    out = tmp_path / "out" / "batch.age"
    out.parent.mkdir()
    with pytest.raises(OperatorStoreError, match="another operator key"):
        write_export(wrong, CaseFilter(), [partner], out, profile="full")
    wrong.close()
    assert list(out.parent.iterdir()) == []


def test_export_reads_the_store_in_pages(tmp_path, operator_store):
    """More cases than one page: all come out, once, in order (the streaming path, small)."""
    identity, _ = crypto.new_operator_keypair()
    partner_identity, partner = crypto.new_operator_keypair()
    store = OperatorStore(operator_store, identity)
    # Cases received in the same hour share received_at: pages must neither skip nor repeat them.
    records = [make_record(f"2026-01-{day:02d}T{hour:02d}:00:00Z") for day in range(1, 8) for hour in (0, 0, 0, 23)]
    for record in records:
        store.add(record)
    pages = list(store.iter_cases(CaseFilter(), batch=4))
    assert [case.record["case_id"] for case in pages] == [r["case_id"] for r in sorted(records, key=lambda r: (r["received_at"], r["case_id"]))]
    out = tmp_path / "batch.age"
    assert write_export(store, CaseFilter(), [partner], out, profile="redacted") == len(records)
    store.close()
    key = tmp_path / "partner.txt"
    key.write_text(partner_identity + "\n")
    assert len(lines_of(key, out)) == len(records)
