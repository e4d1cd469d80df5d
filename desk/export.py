"""Encrypted batch exports: cases from the operator store as JSON Lines, sealed with age, streamed.

`grievance export` writes one case record per line (bot/schemas/case.v1.json, each line
valid against it), encrypted to one or more age public keys, so a partner opens it with
the standard tool: `age -d -i key.txt batch.jsonl.age`. Cases are read from the store in
keyset pages and each line goes straight into pyrage's streaming encryptor
(`pyrage.encrypt_io`, age STREAM chunks of 64 KiB): memory stays flat whatever the
number of cases, and no plaintext touches the disk. The ciphertext goes to a temporary
file (mode 0600) beside the output and is renamed over it only once complete.

Each line carries an optional `mechanism` object: where the case stands on the desk
(status, when it last changed, its due dates), the export profile, and which fields
were withheld. Profiles:

* `full`: the record as pulled, with photos and voice notes and, if the worker agreed,
  how to contact them. For the mechanism's own people and auditors.
* `redacted`: for sharing with a company or partner. Withheld always: `contact` (null),
  `attachments` (absent), and `code` (the worker's case code lets whoever holds it read
  the mechanism's replies with STATUS; it becomes `WITHHELD_CODE`, which fails the Luhn
  check and so can never be a real code). Withheld unless `include_text`: the free text,
  i.e. `description` (becomes `WITHHELD_TEXT`, the schema needs a non-empty string) and
  every answer typed as text (any string-valued answer: workplace, location, brand,
  when, and any text question a deployment adds), which becomes null. Kept: ids, dates,
  channel, language, category, urgency, yes/no and number answers, the NLU's suggestion.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from storage import crypto
from .lifecycle import ServiceLevels, due_dates
from .operator_store import CaseFilter, OperatorStore, StoredCase

PROFILES = ("full", "redacted")
WITHHELD_CODE = "00000000000001"  # 14 digits, Luhn-invalid: never a real case code
WITHHELD_TEXT = "[withheld]"


def export_line(case: StoredCase, levels: ServiceLevels, profile: str, include_text: bool = False) -> dict:
    """The exported record of one case under `profile` (see the module docstring)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown export profile '{profile}'")
    record = dict(case.record)
    withheld: list[str] = []
    if any(item.get("voice") == "original" for item in record.get("attachments") or []):
        # A worker's own voice never leaves the operator's side: exports carry the disguised one only.
        record["attachments"] = [item for item in record["attachments"] if item.get("voice") != "original"]
    if profile == "redacted":
        record["contact"] = None
        record.pop("attachments", None)
        record["code"] = WITHHELD_CODE
        withheld += ["contact", "attachments", "code"]
        if not include_text:
            record["description"] = WITHHELD_TEXT
            withheld.append("description")
            answers = dict(record.get("answers") or {})
            for question, value in answers.items():
                if isinstance(value, str):  # text answers are the only strings; yes/no and numbers are not
                    answers[question] = None
                    withheld.append(f"answers.{question}")
            record["answers"] = answers
    due = due_dates(record["received_at"], levels)
    record["mechanism"] = {
        "status": case.status,
        "status_changed_at": case.status_changed_at,
        "category": case.category or record["category"],  # the case worker's, when they changed it (desk/categories.py)
        "acknowledge_by": due.acknowledge_by.isoformat(),
        "feedback_by": due.feedback_by.isoformat(),
        "profile": profile,
        "withheld": withheld,
    }
    return record


class _LineStream(io.RawIOBase):
    """A readable byte stream over lines made one at a time, for pyrage to pull from.

    An error raised while making a line (the store, a record) is kept, because pyrage
    reports it only as a generic encryption error.
    """

    def __init__(self, lines: Iterator[bytes]) -> None:
        super().__init__()
        self._lines = lines
        self._current = memoryview(b"")
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        try:
            while not self._current:
                line = next(self._lines, None)
                if line is None:
                    return 0
                self._current = memoryview(line)
        except BaseException as error:
            self.error = error
            raise
        count = min(len(target), len(self._current))
        target[:count] = self._current[:count]
        self._current = self._current[count:]
        return count


class _KeptErrors(io.RawIOBase):
    """A writable wrapper that keeps the writer's own error (a full disk, a closed pipe)."""

    def __init__(self, sink) -> None:
        super().__init__()
        self._sink = sink
        self.error: BaseException | None = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        try:
            self._sink.write(data)
        except BaseException as error:
            self.error = error
            raise
        return len(data)


def _atomic_output(path: Path, fill: Callable[[io.RawIOBase], None]) -> None:
    """Write through `fill` into a 0600 temporary file beside `path`, then rename it over `path`."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as sink:
            fill(sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_export(
    store: OperatorStore,
    filters: CaseFilter,
    recipients: list[str],
    output: Path,
    *,
    profile: str,
    include_text: bool = False,
    on_case: Callable[[], None] | None = None,
) -> int:
    """Export the cases `filters` selects to `output`, encrypted to `recipients`; return how many."""
    crypto.export_recipients(recipients)  # refuse a bad key before any work
    if profile not in PROFILES:
        raise ValueError(f"unknown export profile '{profile}'")
    written = 0

    def lines() -> Iterator[bytes]:
        nonlocal written
        for case in store.iter_cases(filters):
            line = json.dumps(export_line(case, store.levels, profile, include_text), ensure_ascii=False, separators=(",", ":"))
            written += 1
            if on_case:
                on_case()
            yield line.encode("utf-8") + b"\n"

    def fill(sink) -> None:
        stream = _LineStream(lines())
        try:
            crypto.encrypt_export_stream(stream, sink, recipients)
        except crypto.CryptoError:
            if stream.error is not None:
                raise stream.error from None
            raise

    _atomic_output(output, fill)
    return written


def _decrypt_into(encrypted, file, identity: str) -> None:
    sink = _KeptErrors(file)
    try:
        crypto.decrypt_export_stream(encrypted, sink, [identity])
    except crypto.DecryptionError:
        if sink.error is not None:  # the output failed, not the file
            raise sink.error from None
        raise


def decrypt_export(source: Path, identity: str, output: Path | None, stdout=None) -> None:
    """Open an export with `identity`, streaming, into `output` (atomically, mode 0600) or `stdout`."""
    with open(source, "rb") as encrypted:
        if output is None:
            _decrypt_into(encrypted, stdout, identity)
        else:
            _atomic_output(output, lambda file: _decrypt_into(encrypted, file, identity))
