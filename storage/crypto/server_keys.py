"""The intake server's secrets: the pepper for blind indexes and the keyring of data keys.

Each purpose of a keyed hash gets its own subkey, derived from the pepper with HKDF, so an
index of one kind can never be matched against another.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .age_keys import parse_recipient
from .errors import KeyMaterialError
from .formats import KEY_BYTES


@dataclass(frozen=True)
class DataKeyring:
    """The server's symmetric data keys; new ciphertext uses the active one."""

    keys: dict[int, bytes]
    active_id: int

    def __post_init__(self) -> None:
        if self.active_id not in self.keys:
            raise KeyMaterialError("the active data key is not in the keyring")
        for key in self.keys.values():
            if len(key) != KEY_BYTES:
                raise KeyMaterialError("a data key is not 32 bytes")


@dataclass(frozen=True)
class ServerSecrets:
    """What the intake server needs: the pepper, the data keys, the operator's public keys."""

    pepper: bytes
    data_keys: DataKeyring
    operator_recipients: tuple[str, ...]
    _subkeys: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.pepper) < KEY_BYTES:
            raise KeyMaterialError("the pepper is shorter than 32 bytes")
        if not self.operator_recipients:
            raise KeyMaterialError("no operator public key to seal cases to")
        for recipient in self.operator_recipients:
            parse_recipient(recipient)

    def __repr__(self) -> str:  # never print key material, even by accident
        return f"ServerSecrets(data_keys={sorted(self.data_keys.keys)}, recipients={len(self.operator_recipients)})"


def new_pepper() -> bytes:
    """A fresh 32-byte pepper for blind indexes."""
    return os.urandom(KEY_BYTES)


def new_data_key() -> bytes:
    """A fresh AES-256 data key."""
    return AESGCM.generate_key(bit_length=256)


def encode_key(raw: bytes) -> str:
    """Text form of a raw key for key files and environment variables."""
    return base64.b64encode(raw).decode()


def decode_key(text: str, what: str) -> bytes:
    """Raw key from its text form; `what` names the key in the error."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise KeyMaterialError(f"{what} is not valid base64") from None


def subkey(secrets: ServerSecrets, purpose: str) -> bytes:
    """The key of one purpose of keyed hashes (derived once per process, then cached)."""
    # HKDF separates the purposes: knowing one index never helps with another.
    cached = secrets._subkeys.get(purpose)
    if cached is None:
        cached = HKDF(
            algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"grievance/" + purpose.encode()
        ).derive(secrets.pepper)
        secrets._subkeys[purpose] = cached
    return cached
