"""Every ciphertext format and key size of the hotline, in one place.

The first byte (or prefix) of each stored ciphertext names its format and version: a reader
that finds one it does not know refuses, rather than guessing.
"""

from __future__ import annotations

AEAD_V1 = 0x01  # version(1) | key id(4, big endian) | nonce(12) | AES-GCM ciphertext+tag
SEAL_V1 = b"GSEAL1\n"  # prefix, then an age (X25519) ciphertext in binary form
STORE_V1 = 0x01  # operator store records: same layout as AEAD_V1 without a key id
ANSWER_SEAL_V1 = b"GANSW1\n"  # prefix, then an age ciphertext: a worker's answer to the operator
SIGNED_V1 = b"GSIGN1\n"  # prefix, then a 64-byte Ed25519 signature, then the sealed case (SEAL_V1...)

KEY_BYTES = 32
NONCE_BYTES = 12
SIGNATURE_BYTES = 64  # an Ed25519 signature
