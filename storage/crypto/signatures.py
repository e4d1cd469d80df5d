"""Signatures: the intake server's Ed25519 signature on each sealed case it queues, and the
HMAC signature of the webhook sink's deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac

from .errors import KeyMaterialError, SignatureError
from .formats import SIGNATURE_BYTES, SIGNED_V1

# The intake server's signature on sealed cases.
# Whoever can write to the queue (Redis, RabbitMQ, the queue table) could otherwise plant a case
# that opens and validates: the operator's public key is public. The intake server signs each
# sealed case it hands to a queue with an Ed25519 key of its own (`secrets.signing_key`); the
# operator's side holds the public half and checks it before opening anything. The signature
# covers the case id the queue item carries and the sealed bytes, so neither can be swapped.

SIGNING_PUBLIC_PREFIX = "grievance-intake-ed25519:"  # text form of the public key, for config files
_SIGNED_DOMAIN = b"grievance/signed-sealed-case/v1\x00"


def new_signing_key() -> bytes:
    """A fresh Ed25519 private key (32 raw bytes) for the intake server to sign sealed cases with."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _signing_private(raw: bytes):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if len(raw) != 32:
        raise KeyMaterialError("the signing key is not 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def signing_public_key(signing_key: bytes) -> str:
    """The text form of the public half of a signing key, for the operator's config."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = _signing_private(signing_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return SIGNING_PUBLIC_PREFIX + base64.b64encode(raw).decode()


def parse_signing_public_key(text: str):
    """An intake signing public key from its text form; KeyMaterialError if it is not one."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text = text.strip()
    if not text.startswith(SIGNING_PUBLIC_PREFIX):
        raise KeyMaterialError(f"an intake signing key must start with {SIGNING_PUBLIC_PREFIX}")
    try:
        raw = base64.b64decode(text[len(SIGNING_PUBLIC_PREFIX) :], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise KeyMaterialError("an intake signing key is not a valid Ed25519 public key") from None


def _signed_message(case_id: str, sealed: bytes) -> bytes:
    encoded = case_id.encode("utf-8", "surrogatepass")
    return _SIGNED_DOMAIN + len(encoded).to_bytes(4, "big") + encoded + sealed


def sign_sealed_case(signing_key: bytes, case_id: str, sealed: bytes) -> bytes:
    """A sealed case as it goes into a queue: signed, with its case id, by the intake server."""
    signature = _signing_private(signing_key).sign(_signed_message(case_id, sealed))
    return SIGNED_V1 + signature + sealed


def verify_sealed_case(trusted_keys: list[str], case_id: str, signed: bytes) -> bytes:
    """The sealed case inside a queue item, once its signature by a trusted key over (case id, sealed) holds.

    Checked before anything is opened or parsed. Raises SignatureError: kind `unsigned` (no
    signature at all), `bad_signature` (wrong key, another case id, or tampered bytes).
    """
    from cryptography.exceptions import InvalidSignature

    if not trusted_keys:
        raise KeyMaterialError("no intake signing key is trusted (operator.intake_signing_keys)")
    keys = [parse_signing_public_key(key) for key in trusted_keys]
    if not signed.startswith(SIGNED_V1) or len(signed) < len(SIGNED_V1) + SIGNATURE_BYTES:
        raise SignatureError("the queue item is not signed by an intake server", "unsigned")
    signature = signed[len(SIGNED_V1) : len(SIGNED_V1) + SIGNATURE_BYTES]
    sealed = signed[len(SIGNED_V1) + SIGNATURE_BYTES :]
    message = _signed_message(case_id, sealed)
    for key in keys:
        try:
            key.verify(signature, message)
            return sealed
        except InvalidSignature:
            continue
    raise SignatureError("the queue item's signature does not verify with a trusted intake key", "bad_signature")


# Webhook signatures (the case sink).
# The webhook sink signs each delivery so the operator's receiver can tell it came from this
# server and was not replayed later: HMAC-SHA256 with a shared secret over "timestamp.body",
# sent as `X-Grievance-Timestamp: <unix seconds>` and `X-Grievance-Signature: v1=<hex>`.
# `verify_webhook_signature` is the receiver's half; it is kept free of this project's types
# so a receiver can copy it as it is.

WEBHOOK_SIGNATURE_VERSION = "v1"


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign_webhook(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for a webhook body sent at `timestamp` (unix seconds)."""
    digest = hmac.new(_secret_bytes(secret), str(int(timestamp)).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{WEBHOOK_SIGNATURE_VERSION}={digest}"


def verify_webhook_signature(
    secret: str | bytes, timestamp: str | int, body: bytes, signature: str, max_skew: int = 300, now: float | None = None
) -> bool:
    """True only if `signature` signs `timestamp.body` with `secret` and the timestamp is within
    `max_skew` seconds of now (an old, replayed delivery is refused). Compares in constant time."""
    import time

    text = str(timestamp).strip()
    if not text.isascii() or not text.isdigit():
        return False
    sent_at = int(text)
    current = time.time() if now is None else now
    if abs(current - sent_at) > max_skew:
        return False
    expected = sign_webhook(secret, sent_at, body)
    return hmac.compare_digest(expected.encode(), str(signature).strip().encode("utf-8", "replace"))
