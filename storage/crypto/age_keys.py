"""The operator's age (X25519) keys: made, parsed, their public half derived, kept under a passphrase.

The intake server holds only public keys (recipients); the private key (identity) lives on the
operator's machine, on disk only as `protect_identity` wraps it when a passphrase is set.
"""

from __future__ import annotations

import pyrage

from .errors import DecryptionError, KeyMaterialError


def parse_recipient(recipient: str) -> pyrage.x25519.Recipient:
    try:
        return pyrage.x25519.Recipient.from_str(recipient.strip())
    except Exception:  # pyrage raises its own error types; present one of ours
        raise KeyMaterialError("an operator public key is not a valid age X25519 recipient") from None


def parse_identity(identity: str) -> pyrage.x25519.Identity:
    try:
        return pyrage.x25519.Identity.from_str(identity.strip())
    except Exception:
        raise KeyMaterialError("the operator key is not a valid age X25519 identity") from None


def new_operator_keypair() -> tuple[str, str]:
    """A fresh age X25519 key pair for the operator: (identity, recipient)."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def operator_recipient_of(identity: str) -> str:
    """The public key (recipient) that belongs to an operator identity."""
    return str(parse_identity(identity).to_public())


def protect_identity(identity: str, passphrase: str) -> bytes:
    """The operator's private key encrypted under a passphrase (age scrypt), to keep on disk instead of the clear key."""
    parse_identity(identity)
    return pyrage.passphrase.encrypt(identity.strip().encode(), passphrase)


def unlock_identity(blob: bytes, passphrase: str) -> str:
    """The operator's private key from `protect_identity`'s file; raises `DecryptionError` on a wrong passphrase."""
    try:
        identity = pyrage.passphrase.decrypt(blob, passphrase).decode()
    except pyrage.DecryptError:
        raise DecryptionError("wrong passphrase, or not a protected operator key") from None
    parse_identity(identity)
    return identity
