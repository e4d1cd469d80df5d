"""Data the intake server must read back, encrypted at rest with its data key (AES-256-GCM).

Drafts in progress, reply addresses, the operator's messages for STATUS, media held with a
draft, messages waiting to be sent and chat message ids. Ciphertext is versioned and names the
key that made it, so the key can be rotated while old data still opens; associated data binds
each ciphertext to its purpose and its row, so a blob copied into another row or field fails to open.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import CryptoError, DecryptionError
from .formats import AEAD_V1, NONCE_BYTES
from .server_keys import DataKeyring, ServerSecrets


def _aead_encrypt(keyring: DataKeyring, purpose: str, context: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    key_id = keyring.active_id
    header = bytes([AEAD_V1]) + key_id.to_bytes(4, "big")
    aad = header + purpose.encode() + b"\x00" + context.encode()
    return header + nonce + AESGCM(keyring.keys[key_id]).encrypt(nonce, plaintext, aad)


def _aead_decrypt(keyring: DataKeyring, purpose: str, context: str, blob: bytes) -> bytes:
    if len(blob) < 5 + NONCE_BYTES + 16 or blob[0] != AEAD_V1:
        raise DecryptionError("unknown ciphertext format")
    header, nonce, body = blob[:5], blob[5 : 5 + NONCE_BYTES], blob[5 + NONCE_BYTES :]
    key = keyring.keys.get(int.from_bytes(header[1:5], "big"))
    if key is None:
        raise DecryptionError("ciphertext made with a data key that is not in the keyring")
    try:
        return AESGCM(key).decrypt(nonce, body, header + purpose.encode() + b"\x00" + context.encode())
    except InvalidTag:
        raise DecryptionError("ciphertext does not open with this key and context") from None


def data_key_id_of(blob: bytes) -> int:
    """Which data key made a server ciphertext (for rotation)."""
    if len(blob) < 5 or blob[0] != AEAD_V1:
        raise DecryptionError("unknown ciphertext format")
    return int.from_bytes(blob[1:5], "big")


def encrypt_draft(secrets: ServerSecrets, lookup: str, draft: bytes) -> bytes:
    """Encrypt a conversation draft in progress, bound to its conversation."""
    return _aead_encrypt(secrets.data_keys, "draft", lookup, draft)


def decrypt_draft(secrets: ServerSecrets, lookup: str, blob: bytes) -> bytes:
    """Open a conversation draft encrypted by `encrypt_draft`."""
    return _aead_decrypt(secrets.data_keys, "draft", lookup, blob)


def encrypt_reply_address(secrets: ServerSecrets, owner_id: str, address: bytes) -> bytes:
    """Encrypt the address replies go to, bound to the row that holds it."""
    return _aead_encrypt(secrets.data_keys, "reply-address", owner_id, address)


def decrypt_reply_address(secrets: ServerSecrets, owner_id: str, blob: bytes) -> bytes:
    """Open a reply address encrypted by `encrypt_reply_address`."""
    return _aead_decrypt(secrets.data_keys, "reply-address", owner_id, blob)


def encrypt_case_message(secrets: ServerSecrets, case_id: str, message: bytes) -> bytes:
    """Encrypt a message the operator left for the worker, read out on STATUS."""
    return _aead_encrypt(secrets.data_keys, "case-message", case_id, message)


def decrypt_case_message(secrets: ServerSecrets, case_id: str, blob: bytes) -> bytes:
    """Open a message encrypted by `encrypt_case_message`."""
    return _aead_decrypt(secrets.data_keys, "case-message", case_id, blob)


def encrypt_answer_window(secrets: ServerSecrets, lookup: str, window: bytes) -> bytes:
    """Which case a chat answers into, after the team wrote to it (storage/answer_windows.py)."""
    return _aead_encrypt(secrets.data_keys, "answer-window", lookup, window)


def decrypt_answer_window(secrets: ServerSecrets, lookup: str, blob: bytes) -> bytes:
    return _aead_decrypt(secrets.data_keys, "answer-window", lookup, blob)


def encrypt_draft_media(secrets: ServerSecrets, media_id: str, payload: bytes) -> bytes:
    """Encrypt a photo or recording held with a draft until the case is sealed."""
    return _aead_encrypt(secrets.data_keys, "draft-media", media_id, payload)


def decrypt_draft_media(secrets: ServerSecrets, media_id: str, blob: bytes) -> bytes:
    """Open media encrypted by `encrypt_draft_media`."""
    return _aead_decrypt(secrets.data_keys, "draft-media", media_id, blob)


def encrypt_outbound(secrets: ServerSecrets, message_id: str, payload: bytes) -> bytes:
    """Encrypt a message waiting to be sent (address and text), bound to its queue row."""
    return _aead_encrypt(secrets.data_keys, "outbound", message_id, payload)


def decrypt_outbound(secrets: ServerSecrets, message_id: str, blob: bytes) -> bytes:
    """Open a message encrypted by `encrypt_outbound`."""
    return _aead_decrypt(secrets.data_keys, "outbound", message_id, blob)


def encrypt_chat_refs(secrets: ServerSecrets, lookup: str, refs: bytes) -> bytes:
    """Encrypt the message ids kept for a chat's DELETE, bound to its row."""
    return _aead_encrypt(secrets.data_keys, "chat-refs", lookup, refs)


def decrypt_chat_refs(secrets: ServerSecrets, lookup: str, blob: bytes) -> bytes:
    """Open message ids encrypted by `encrypt_chat_refs`."""
    return _aead_decrypt(secrets.data_keys, "chat-refs", lookup, blob)


def reencrypt_with_active_key(secrets: ServerSecrets, purpose: str, context: str, blob: bytes) -> bytes:
    """Open a server ciphertext with whichever key made it and encrypt it again with the active key."""
    if purpose not in {"draft", "reply-address", "case-message", "outbound", "draft-media", "chat-refs"}:
        raise CryptoError("unknown purpose")
    return _aead_encrypt(secrets.data_keys, purpose, context, _aead_decrypt(secrets.data_keys, purpose, context, blob))
