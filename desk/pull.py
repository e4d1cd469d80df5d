"""Pulling cases on the operator's machine: from the queue into the local operator store.

Each queue item is first checked: signed by a trusted intake server over its
case id and sealed bytes (`crypto.verify_sealed_case`), before anything is
opened or parsed. Then it is opened with the operator's private key, validated
against the published case schema, checked to carry the case id the queue item
names, kept in the store, and only then acknowledged, so a crash mid-pull leaves
the case in the queue (pulling twice is harmless: the store keeps a case id
once). An item that fails a check is quarantined (desk/quarantine.py) and
acknowledged, and the pull goes on: a planted or damaged item neither enters
the store nor blocks the queue. A signed case sealed to another operator is
released for them. The queue is any `CaseSource` (storage/sinks/): the embedded
table, Redis Streams or RabbitMQ.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import jsonschema

from bot.case_record import validate_case_record

from storage import crypto
from .operator_store import OperatorStore
from .quarantine import Quarantine
from storage.sinks.source import CaseSource, QueuedItem


@dataclass(frozen=True)
class PullResult:
    pulled: int
    already_had: int
    not_for_this_key: int
    quarantined: int = 0


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _open_item(item: QueuedItem, identity: str, signing_keys: Sequence[str]) -> dict | None:
    """The case record of a queue item, None if it is sealed to another key; _Refused if it fails a check."""
    try:
        sealed = crypto.verify_sealed_case(list(signing_keys), item.case_id, item.sealed)
    except crypto.SignatureError as error:
        raise _Refused(error.kind) from None
    try:
        plaintext = crypto.open_case([identity], sealed)
    except crypto.DecryptionError:
        if not sealed.startswith(crypto.SEAL_V1):
            raise _Refused("not_a_case") from None
        return None  # signed by the server, sealed to another operator
    try:
        record = json.loads(plaintext)
        validate_case_record(record)
    except (ValueError, jsonschema.ValidationError):  # JSON errors are ValueErrors
        raise _Refused("schema") from None
    # A report is queued under its case id; an alert under a delivery id of its own (a case may
    # have several alerts and then its report), which it carries sealed inside.
    queued_as = record.get("delivery_id", "") if record.get("kind") == "alert" else record.get("case_id", "")
    if not crypto.constant_time_equal(str(queued_as), item.case_id):
        raise _Refused("case_id_mismatch")
    return record


def pull_cases(
    queue: CaseSource,
    store: OperatorStore,
    identity: str,
    *,
    signing_keys: Sequence[str],
    quarantine: Quarantine | None = None,
    batch: int = 100,
) -> PullResult:
    """Move every case the key can open from the queue into the store; acknowledge each once kept.

    `signing_keys`: the intake servers' public signing keys to trust. Items that fail a check
    go to `quarantine` and are acknowledged; without a quarantine they are left in the queue.
    """
    pulled = already = foreign = refused = 0
    while True:
        items = queue.fetch(batch)
        if not items:
            return PullResult(pulled, already, foreign, refused)
        for item in items:
            try:
                record = _open_item(item, identity, signing_keys)
            except _Refused as refusal:
                refused += 1
                if quarantine is None:
                    queue.release(item)
                else:
                    quarantine.keep(item, refusal.reason, queue.kind)
                    queue.ack(item)
                continue
            if record is None:
                # Sealed to another operator: leave it in the queue for them.
                foreign += 1
                queue.release(item)
                continue
            if store.add(record):
                pulled += 1
            else:
                already += 1
            queue.ack(item)
