"""Pulling cases on the operator's machine: from the queue into the local operator store.

Each sealed case is opened with the operator's private key, validated against
the published case schema, kept in the store, and only then acknowledged, so a
crash mid-pull leaves the case in the queue (pulling twice is harmless: the
store keeps a case id once). The queue is any `CaseSource` (storage/sinks/):
the embedded table, Redis Streams or RabbitMQ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.case_record import validate_case_record

from . import crypto
from .operator_store import OperatorStore
from .sinks.source import CaseSource


@dataclass(frozen=True)
class PullResult:
    pulled: int
    already_had: int
    not_for_this_key: int


def pull_cases(queue: CaseSource, store: OperatorStore, identity: str, batch: int = 100) -> PullResult:
    """Move every case the key can open from the queue into the store; acknowledge each once kept."""
    pulled = already = foreign = 0
    while True:
        items = queue.fetch(batch)
        if not items:
            return PullResult(pulled, already, foreign)
        for item in items:
            try:
                record = json.loads(crypto.open_case([identity], item.sealed))
            except crypto.DecryptionError:
                # Sealed to another operator: leave it in the queue for them.
                foreign += 1
                queue.release(item)
                continue
            validate_case_record(record)
            if store.add(record):
                pulled += 1
            else:
                already += 1
            queue.ack(item)
