"""The operator's quarantine: queue items `cases pull` would not keep, set aside with the reason.

An item fails when it is not signed by a trusted intake server, its signature
does not hold, it opens to something that is not a case of the schema, or the
case id inside is not the one the queue item carries. Such an item must not
stop the pull (one bad item used to make every `cases pull` fail), and must not
be lost without a trace either: it is written here, one file per item, as it
came from the queue (still sealed: nothing opened is written), mode 0600 in a
folder of mode 0700, and then acknowledged so the queue moves on. Logs carry the
reason only.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.sinks.source import QueuedItem

log = logging.getLogger(__name__)

REASONS = ("unsigned", "bad_signature", "not_a_case", "schema", "case_id_mismatch")


class Quarantine:
    """A folder of refused queue items: `<time>-<random>.json` with the reason and the item's bytes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def keep(self, item: QueuedItem, reason: str, queue_kind: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%MZ")
        path = self.folder / f"{stamp}-{os.urandom(6).hex()}.json"
        document = {
            "reason": reason,
            "queue": queue_kind,
            "queue_case_id": item.case_id[:200],
            "urgent": item.urgent,
            "quarantined_at": stamp,
            "item": base64.b64encode(item.sealed).decode(),
        }
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())  # kept before the queue is told to forget the item
        log.warning("queue item quarantined", extra={"reason": reason, "queue": queue_kind})
        return path

    def entries(self) -> list[QuarantinedItem]:
        """What is kept here, oldest first (`grievance cases quarantine`)."""
        if not self.folder.exists():
            return []
        entries = []
        for path in sorted(self.folder.glob("*.json")):
            document = json.loads(path.read_text(encoding="utf-8"))
            entries.append(QuarantinedItem(path, document["reason"], document["queue"], document["queue_case_id"]))
        return entries

    def reasons(self) -> list[str]:
        """The reason of every item kept here."""
        return [entry.reason for entry in self.entries()]


@dataclass(frozen=True)
class QuarantinedItem:
    path: Path
    reason: str
    queue: str
    queue_case_id: str
