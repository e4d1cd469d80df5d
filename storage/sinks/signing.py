"""The intake server's signature on every sealed case it puts in a queue the operator pulls from.

A queue (Redis, RabbitMQ, the queue table) may be written by more than the
intake server; the operator's public key is public, so anyone could seal a
schema-valid case. `SignedSink` wraps the queue's sink: each case is signed
with the server's Ed25519 key over its case id and sealed bytes
(`crypto.sign_sealed_case`) as it is delivered, and `desk/pull.py` checks the
signature against the keys the operator trusts before opening anything. The
outbox keeps the unsigned sealed case; the webhook sink has its own HMAC.
"""

from __future__ import annotations

from typing import Any

from .. import crypto


class SignedSink:
    """A case sink that signs each case before handing it to the queue; everything else goes to the queue."""

    def __init__(self, inner: Any, signing_key: bytes) -> None:
        self.inner = inner
        self._signing_key = signing_key
        self.kind = inner.kind

    def deliver(self, case_id: str, sealed: bytes, urgent: bool) -> None:
        self.inner.deliver(case_id, crypto.sign_sealed_case(self._signing_key, case_id, sealed), urgent)

    def __getattr__(self, name: str) -> Any:  # fetch, ack, peek, depth, close...: the queue's own
        return getattr(self.inner, name)

    def __repr__(self) -> str:  # never the key
        return f"SignedSink({self.kind})"
