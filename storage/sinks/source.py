"""The consumer's side of a case queue: `CaseSource`, what `grievance cases pull` reads from.

A source hands out sealed cases in batches, urgent first, and forgets a case
only when it is acknowledged, which the puller does after the case is safely in
the operator's store. A case the operator's key cannot open is released: left
in the queue for whoever holds the right key. Delivery to the consumer is at
least once; the store's add is idempotent on the case id, so nothing is kept twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class QueuedItem:
    """A sealed case waiting in a queue; `receipt` is the source's handle to acknowledge it."""

    case_id: str
    sealed: bytes
    urgent: bool
    receipt: Any = field(default=None, compare=False)


class CaseSource(Protocol):
    """A queue the operator pulls cases from."""

    kind: str

    def fetch(self, limit: int) -> list[QueuedItem]:
        """Up to `limit` unacknowledged cases, urgent first; none this source has released."""

    def ack(self, item: QueuedItem) -> None:
        """The case is safely kept: remove it from the queue."""

    def release(self, item: QueuedItem) -> None:
        """Not for this operator: leave it in the queue for others, do not hand it out again here."""

    def close(self) -> None:
        """Let go of connections; unacknowledged cases stay in the queue."""


class SourceError(Exception):
    """The queue could not be read; `kind` is a short code, the message names no case content."""

    def __init__(self, message: str, kind: str = "failed") -> None:
        super().__init__(message)
        self.kind = kind
