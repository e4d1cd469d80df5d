"""Blind indexes (keyed HMAC-SHA256): find a worker's conversation, a case by its code, a
provider's retry, an opted-out address or the chat a queued message goes to, without storing the
address, the code or the id.

Each kind has its own subkey (`server_keys.subkey`), so the indexes cannot be linked.
"""

from __future__ import annotations

import hashlib
import hmac

from .server_keys import ServerSecrets, subkey


def conversation_lookup(secrets: ServerSecrets, channel: str, address: str) -> str:
    """Blind index that finds a worker's conversation from the channel and address."""
    message = channel.encode() + b"\x00" + address.encode("utf-8", "surrogatepass")
    return hmac.new(subkey(secrets, "conversation-lookup"), message, hashlib.sha256).hexdigest()


def sender_pseudonym(secrets: ServerSecrets, channel: str, address: str) -> str:
    """Stable pseudonym of a sender for throttling and counting, unlinkable to the lookup index."""
    message = channel.encode() + b"\x00" + address.encode("utf-8", "surrogatepass")
    return hmac.new(subkey(secrets, "sender-pseudonym"), message, hashlib.sha256).hexdigest()[:32]


def inbound_receipt_key(secrets: ServerSecrets, adapter: str, provider_id: str) -> str:
    """Keyed hash of a provider's message id, for deduplication: the raw id (a Twilio
    MessageSid, a Telegram update_id) would let whoever holds the provider's records
    link a stored row to a phone number."""
    message = adapter.encode() + b"\x00" + provider_id.encode("utf-8", "surrogatepass")
    return hmac.new(subkey(secrets, "inbound-receipt"), message, hashlib.sha256).hexdigest()


def opt_out_lookup(secrets: ServerSecrets, channel: str, address: str) -> str:
    """Keyed hash of an address that opted out at its provider (Twilio STOP), unlinkable to the other indexes."""
    message = channel.encode() + b"\x00" + address.encode("utf-8", "surrogatepass")
    return hmac.new(subkey(secrets, "opt-out"), message, hashlib.sha256).hexdigest()


def chat_refs_lookup(secrets: ServerSecrets, channel: str, address: str) -> str:
    """Keyed hash of a chat whose message ids are kept for DELETE, unlinkable to the other indexes."""
    message = channel.encode() + b"\x00" + address.encode("utf-8", "surrogatepass")
    return hmac.new(subkey(secrets, "chat-refs"), message, hashlib.sha256).hexdigest()


def outbound_chat_lookup(secrets: ServerSecrets, adapter: str, channel: str, address: str) -> str:
    """Keyed hash of the chat a queued message goes to (its messages go out in order, DELETE finds
    them), unlinkable to the other indexes."""
    message = adapter.encode() + b"\x00" + channel.encode() + b"\x00" + address.encode("utf-8", "surrogatepass")
    return hmac.new(subkey(secrets, "outbound-chat"), message, hashlib.sha256).hexdigest()


def case_code_lookup(secrets: ServerSecrets, code_digits: str) -> str:
    """Blind index of a case code, so STATUS <code> finds a case without storing the code."""
    return hmac.new(subkey(secrets, "case-code"), code_digits.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    """Compare two secrets without leaking where they differ."""
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


def voice_disguise_seed(secrets: ServerSecrets) -> bytes:
    """The bytes that fix this deployment's voice disguise (channels/voice_disguise.py): derived
    from the pepper, so each deployment has its own and no file or config says which."""
    return hmac.new(subkey(secrets, "voice-disguise"), b"pitch and formants", hashlib.sha256).digest()
