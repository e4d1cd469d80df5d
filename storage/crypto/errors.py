"""The typed errors of the crypto package, in one place: callers catch `CryptoError` or one of its kinds."""

from __future__ import annotations


class CryptoError(Exception):
    """Base class: a key is missing or a ciphertext does not open."""


class KeyMaterialError(CryptoError):
    """A key is missing, malformed, or of the wrong kind."""


class DecryptionError(CryptoError):
    """A ciphertext did not open: wrong key, wrong context, or tampered data."""


class SignatureError(CryptoError):
    """A queue item is not signed by a trusted intake server; `kind` says how (never content)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
