"""All cryptography of the hotline, in one place, with purpose-named functions.

Nothing else in the code base touches a key or calls a cipher. Three kinds of
protection are used, each for one purpose:

* **Blind indexes** (HMAC-SHA256): find a worker's conversation, or a case by its
  code, without storing the address or the code. Each purpose has its own
  subkey derived from the server pepper with HKDF, so an index of one kind can
  never be matched against another.
* **Server data key** (AES-256-GCM): drafts in progress and reply addresses that
  the intake server itself must read back. Ciphertext is versioned and names
  the key that made it, so the key can be rotated while old data still opens.
  Associated data binds each ciphertext to its purpose and its row, so a blob
  copied into another row or field fails to open.
* **Operator seal** (age, X25519, through pyrage): a confirmed case is sealed to
  the operator's public key(s). The intake server holds no private key and
  cannot read a confirmed case back (the SecureDrop property).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

import pyrage
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Ciphertext formats. The first byte is the format version: a reader that finds
# a byte it does not know refuses, rather than guessing.
AEAD_V1 = 0x01  # version(1) | key id(4, big endian) | nonce(12) | AES-GCM ciphertext+tag
SEAL_V1 = b"GSEAL1\n"  # prefix, then an age (X25519) ciphertext in binary form
STORE_V1 = 0x01  # operator store records: same layout as AEAD_V1 without a key id

_NONCE_BYTES = 12
_KEY_BYTES = 32


class CryptoError(Exception):
    """Base class: a key is missing or a ciphertext does not open."""


class KeyMaterialError(CryptoError):
    """A key is missing, malformed, or of the wrong kind."""


class DecryptionError(CryptoError):
    """A ciphertext did not open: wrong key, wrong context, or tampered data."""


@dataclass(frozen=True)
class DataKeyring:
    """The server's symmetric data keys; new ciphertext uses the active one."""

    keys: dict[int, bytes]
    active_id: int

    def __post_init__(self) -> None:
        if self.active_id not in self.keys:
            raise KeyMaterialError("the active data key is not in the keyring")
        for key in self.keys.values():
            if len(key) != _KEY_BYTES:
                raise KeyMaterialError("a data key is not 32 bytes")


@dataclass(frozen=True)
class ServerSecrets:
    """What the intake server needs: the pepper, the data keys, the operator's public keys."""

    pepper: bytes
    data_keys: DataKeyring
    operator_recipients: tuple[str, ...]
    _subkeys: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.pepper) < _KEY_BYTES:
            raise KeyMaterialError("the pepper is shorter than 32 bytes")
        if not self.operator_recipients:
            raise KeyMaterialError("no operator public key to seal cases to")
        for recipient in self.operator_recipients:
            _parse_recipient(recipient)

    def __repr__(self) -> str:  # never print key material, even by accident
        return f"ServerSecrets(data_keys={sorted(self.data_keys.keys)}, recipients={len(self.operator_recipients)})"


# ---------------------------------------------------------------- key generation


def new_pepper() -> bytes:
    """A fresh 32-byte pepper for blind indexes."""
    return os.urandom(_KEY_BYTES)


def new_data_key() -> bytes:
    """A fresh AES-256 data key."""
    return AESGCM.generate_key(bit_length=256)


def new_operator_keypair() -> tuple[str, str]:
    """A fresh age X25519 key pair for the operator: (identity, recipient)."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def operator_recipient_of(identity: str) -> str:
    """The public key (recipient) that belongs to an operator identity."""
    return str(_parse_identity(identity).to_public())


# ---------------------------------------------------------------- blind indexes


def _subkey(secrets: ServerSecrets, purpose: str) -> bytes:
    # HKDF separates the purposes: knowing one index never helps with another.
    cached = secrets._subkeys.get(purpose)
    if cached is None:
        cached = HKDF(
            algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=b"grievance/" + purpose.encode()
        ).derive(secrets.pepper)
        secrets._subkeys[purpose] = cached
    return cached


def conversation_lookup(secrets: ServerSecrets, channel: str, address: str) -> str:
    """Blind index that finds a worker's conversation from the channel and address."""
    message = channel.encode() + b"\x00" + address.encode("utf-8", "surrogatepass")
    return hmac.new(_subkey(secrets, "conversation-lookup"), message, hashlib.sha256).hexdigest()


def sender_pseudonym(secrets: ServerSecrets, channel: str, address: str) -> str:
    """Stable pseudonym of a sender for throttling and counting, unlinkable to the lookup index."""
    message = channel.encode() + b"\x00" + address.encode("utf-8", "surrogatepass")
    return hmac.new(_subkey(secrets, "sender-pseudonym"), message, hashlib.sha256).hexdigest()[:32]


def inbound_receipt_key(secrets: ServerSecrets, adapter: str, provider_id: str) -> str:
    """Keyed hash of a provider's message id, for deduplication: the raw id (a Twilio
    MessageSid, a Telegram update_id) would let whoever holds the provider's records
    link a stored row to a phone number."""
    message = adapter.encode() + b"\x00" + provider_id.encode("utf-8", "surrogatepass")
    return hmac.new(_subkey(secrets, "inbound-receipt"), message, hashlib.sha256).hexdigest()


def opt_out_lookup(secrets: ServerSecrets, channel: str, address: str) -> str:
    """Keyed hash of an address that opted out at its provider (Twilio STOP), unlinkable to the other indexes."""
    message = channel.encode() + b"\x00" + address.encode("utf-8", "surrogatepass")
    return hmac.new(_subkey(secrets, "opt-out"), message, hashlib.sha256).hexdigest()


def chat_refs_lookup(secrets: ServerSecrets, channel: str, address: str) -> str:
    """Keyed hash of a chat whose message ids are kept for DELETE, unlinkable to the other indexes."""
    message = channel.encode() + b"\x00" + address.encode("utf-8", "surrogatepass")
    return hmac.new(_subkey(secrets, "chat-refs"), message, hashlib.sha256).hexdigest()


def case_code_lookup(secrets: ServerSecrets, code_digits: str) -> str:
    """Blind index of a case code, so STATUS <code> finds a case without storing the code."""
    return hmac.new(_subkey(secrets, "case-code"), code_digits.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    """Compare two secrets without leaking where they differ."""
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)


# ---------------------------------------------------------------- server data key


def _aead_encrypt(keyring: DataKeyring, purpose: str, context: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    key_id = keyring.active_id
    header = bytes([AEAD_V1]) + key_id.to_bytes(4, "big")
    aad = header + purpose.encode() + b"\x00" + context.encode()
    return header + nonce + AESGCM(keyring.keys[key_id]).encrypt(nonce, plaintext, aad)


def _aead_decrypt(keyring: DataKeyring, purpose: str, context: str, blob: bytes) -> bytes:
    if len(blob) < 5 + _NONCE_BYTES + 16 or blob[0] != AEAD_V1:
        raise DecryptionError("unknown ciphertext format")
    header, nonce, body = blob[:5], blob[5 : 5 + _NONCE_BYTES], blob[5 + _NONCE_BYTES :]
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


# ---------------------------------------------------------------- operator seal


def _parse_recipient(recipient: str) -> pyrage.x25519.Recipient:
    try:
        return pyrage.x25519.Recipient.from_str(recipient.strip())
    except Exception:  # pyrage raises its own error types; present one of ours
        raise KeyMaterialError("an operator public key is not a valid age X25519 recipient") from None


def _parse_identity(identity: str) -> pyrage.x25519.Identity:
    try:
        return pyrage.x25519.Identity.from_str(identity.strip())
    except Exception:
        raise KeyMaterialError("the operator key is not a valid age X25519 identity") from None


def seal_case(secrets: ServerSecrets, case_record: bytes) -> bytes:
    """Seal a confirmed case to the operator's public key(s); the server cannot open it again."""
    recipients = [_parse_recipient(r) for r in secrets.operator_recipients]
    return SEAL_V1 + pyrage.encrypt(case_record, recipients)


def open_case(identities: list[str], sealed: bytes) -> bytes:
    """Open a sealed case with the operator's private key(s) (operator side only).

    A queue item signed by the intake server (`SIGNED_V1`) opens too, but this does NOT check
    the signature: a case from a queue is authenticated with `verify_sealed_case` first
    (desk/pull.py does), and only what that returns should be trusted.
    """
    if sealed.startswith(SIGNED_V1):
        sealed = sealed[len(SIGNED_V1) + _SIGNATURE_BYTES :]
    if not sealed.startswith(SEAL_V1):
        raise DecryptionError("not a sealed case of a known version")
    parsed = [_parse_identity(i) for i in identities]
    try:
        return pyrage.decrypt(sealed[len(SEAL_V1) :], parsed)
    except pyrage.DecryptError:
        raise DecryptionError("the sealed case does not open with this operator key") from None


# ---------------------------------------------------------------- operator store at rest


def operator_store_key(identity: str) -> bytes:
    """Key for the operator's local case store, derived from the operator's private key."""
    raw = _parse_identity(identity)  # validate before deriving
    return HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=b"grievance/operator-store").derive(
        str(raw).encode()
    )


def encrypt_store_record(store_key: bytes, record_id: str, plaintext: bytes) -> bytes:
    """Encrypt a case as kept in the operator's local store."""
    nonce = os.urandom(_NONCE_BYTES)
    header = bytes([STORE_V1])
    return header + nonce + AESGCM(store_key).encrypt(nonce, plaintext, header + record_id.encode())


def decrypt_store_record(store_key: bytes, record_id: str, blob: bytes) -> bytes:
    """Open a case from the operator's local store."""
    if len(blob) < 1 + _NONCE_BYTES + 16 or blob[0] != STORE_V1:
        raise DecryptionError("unknown operator store format")
    try:
        return AESGCM(store_key).decrypt(blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :], blob[:1] + record_id.encode())
    except InvalidTag:
        raise DecryptionError("operator store record does not open with this key") from None


def encode_key(raw: bytes) -> str:
    """Text form of a raw key for key files and environment variables."""
    return base64.b64encode(raw).decode()


def decode_key(text: str, what: str) -> bytes:
    """Raw key from its text form; `what` names the key in the error."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise KeyMaterialError(f"{what} is not valid base64") from None


# ================================================================ webhook signatures (case sink)
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


# ================================================================ operator's desk and exports
# Status-change reasons in the operator store, and encrypted batch exports (age, streaming).


def encrypt_status_reason(store_key: bytes, change_id: str, reason: str) -> bytes:
    """Encrypt the reason of a status change (it may hold notes about the case), bound to its change."""
    return encrypt_store_record(store_key, "status-reason/" + change_id, reason.encode("utf-8"))


def decrypt_status_reason(store_key: bytes, change_id: str, blob: bytes) -> str:
    """Open a reason encrypted by `encrypt_status_reason`."""
    return decrypt_store_record(store_key, "status-reason/" + change_id, blob).decode("utf-8")


def export_recipients(recipients: list[str]) -> list[pyrage.x25519.Recipient]:
    """Parse the age public keys (`age1...`) an export is encrypted to; public, so the error may name one."""
    parsed = []
    for recipient in recipients:
        try:
            parsed.append(pyrage.x25519.Recipient.from_str(recipient.strip()))
        except Exception:  # pyrage raises its own error types; present one of ours
            raise KeyMaterialError(f"'{recipient.strip()[:80]}' is not an age X25519 public key (age1...)") from None
    if not parsed:
        raise KeyMaterialError("no recipient to encrypt the export to")
    return parsed


def encrypt_export_stream(reader, writer, recipients: list[str]) -> None:
    """Encrypt everything `reader` yields into `writer` in the age format, chunk by chunk.

    pyrage's `encrypt_io` pulls from the reader in small blocks and writes age STREAM
    chunks as they fill, so memory stays constant whatever the size; `age -d` opens it.
    """
    parsed = export_recipients(recipients)
    try:
        pyrage.encrypt_io(reader, writer, parsed)
    except pyrage.EncryptError:
        raise CryptoError("the export could not be encrypted") from None


def decrypt_export_stream(reader, writer, identities: list[str]) -> None:
    """Decrypt an age file from `reader` into `writer`, chunk by chunk (a partner can use `age -d` instead).

    Each age chunk is authenticated before it is written, but a truncated or damaged file is
    noticed only where the damage is: the caller keeps the output out of sight until this returns.
    """
    parsed = [_parse_identity(identity) for identity in identities]
    try:
        pyrage.decrypt_io(reader, writer, parsed)
    except pyrage.DecryptError:
        raise DecryptionError("the file does not open with this key (or is not an age file)") from None
    except OSError:
        raise DecryptionError("the file is damaged or cut short") from None

# ---------------------------------------------------------------- two-way dialogue (operator API, answers)
# Appended for the dialogue with the worker (bot/operator_api.py, storage/api_tokens.py):
# operator API tokens are kept only as a keyed hash, and the worker's answers are sealed to
# the operator like a case, so the intake server cannot read them back.

ANSWER_SEAL_V1 = b"GANSW1\n"  # prefix, then an age ciphertext: a worker's answer to the operator
API_TOKEN_PREFIX = "grv"  # noqa: S105  the public prefix of every API token, not a secret
_API_TOKEN_SECRET_BYTES = 32


def new_api_token() -> tuple[str, str]:
    """A fresh operator API token: (token id, full token). The id is not secret; it finds the row."""
    # The stdlib module is imported here under another name: `secrets` is a parameter all over this module.
    import secrets as stdlib_secrets

    token_id = os.urandom(6).hex()
    return token_id, f"{API_TOKEN_PREFIX}_{token_id}_{stdlib_secrets.token_urlsafe(_API_TOKEN_SECRET_BYTES)}"


def api_token_id(token: str) -> str | None:
    """The id part of a token as the operator sends it, or None when it has not the token's shape."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != API_TOKEN_PREFIX or len(parts[1]) != 12 or len(parts[2]) < 43:
        return None
    try:
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1]


def api_token_hash(secrets: ServerSecrets, token: str) -> str:
    """Keyed hash of an operator API token: what the server stores instead of the token."""
    return hmac.new(_subkey(secrets, "api-token"), token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def api_token_matches(secrets: ServerSecrets, token: str, stored_hash: str) -> bool:
    """True when `token` hashes to `stored_hash`, compared in constant time."""
    return constant_time_equal(api_token_hash(secrets, token), stored_hash)


def seal_worker_answer(secrets: ServerSecrets, answer: bytes) -> bytes:
    """Seal a worker's answer to the operator's public key(s); the server cannot open it again."""
    recipients = [_parse_recipient(r) for r in secrets.operator_recipients]
    return ANSWER_SEAL_V1 + pyrage.encrypt(answer, recipients)


def open_worker_answer(identities: list[str], sealed: bytes) -> bytes:
    """Open a worker's answer with the operator's private key(s) (operator side only)."""
    if not sealed.startswith(ANSWER_SEAL_V1):
        raise DecryptionError("not a sealed answer of a known version")
    parsed = [_parse_identity(i) for i in identities]
    try:
        return pyrage.decrypt(sealed[len(ANSWER_SEAL_V1) :], parsed)
    except pyrage.DecryptError:
        raise DecryptionError("the sealed answer does not open with this operator key") from None

# ---------------------------------------------------------------- intake signature on sealed cases
# Whoever can write to the queue (Redis, RabbitMQ, the queue table) could otherwise plant a case
# that opens and validates: the operator's public key is public. The intake server signs each
# sealed case it hands to a queue with an Ed25519 key of its own (`secrets.signing_key`); the
# operator's side holds the public half and checks it before opening anything. The signature
# covers the case id the queue item carries and the sealed bytes, so neither can be swapped.

SIGNED_V1 = b"GSIGN1\n"  # prefix, then a 64-byte Ed25519 signature, then the sealed case (SEAL_V1...)
SIGNING_PUBLIC_PREFIX = "grievance-intake-ed25519:"  # text form of the public key, for config files
_SIGNATURE_BYTES = 64
_SIGNED_DOMAIN = b"grievance/signed-sealed-case/v1\x00"


class SignatureError(CryptoError):
    """A queue item is not signed by a trusted intake server; `kind` says how (never content)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


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
    if not signed.startswith(SIGNED_V1) or len(signed) < len(SIGNED_V1) + _SIGNATURE_BYTES:
        raise SignatureError("the queue item is not signed by an intake server", "unsigned")
    signature = signed[len(SIGNED_V1) : len(SIGNED_V1) + _SIGNATURE_BYTES]
    sealed = signed[len(SIGNED_V1) + _SIGNATURE_BYTES :]
    message = _signed_message(case_id, sealed)
    for key in keys:
        try:
            key.verify(signature, message)
            return sealed
        except InvalidSignature:
            continue
    raise SignatureError("the queue item's signature does not verify with a trusted intake key", "bad_signature")

# ================================================================ the desk (desk/): its own secrets at rest
# Notes, TOTP secrets and session signing on the operator's machine, all derived from or sealed
# under the operator store key; referrals sealed to a company's age key; the operator's private
# key itself kept under a passphrase (age's scrypt recipient).


def encrypt_desk_note(store_key: bytes, note_id: str, text: str) -> bytes:
    """Encrypt a case worker's internal note (never shown to the worker), bound to its id."""
    return encrypt_store_record(store_key, "desk-note/" + note_id, text.encode("utf-8"))


def decrypt_desk_note(store_key: bytes, note_id: str, blob: bytes) -> str:
    return decrypt_store_record(store_key, "desk-note/" + note_id, blob).decode("utf-8")


def encrypt_totp_secret(store_key: bytes, username: str, secret: str) -> bytes:
    """Encrypt a desk user's TOTP seed (a copied store file must not let anyone make codes)."""
    return encrypt_store_record(store_key, "desk-totp/" + username, secret.encode("ascii"))


def decrypt_totp_secret(store_key: bytes, username: str, blob: bytes) -> str:
    return decrypt_store_record(store_key, "desk-totp/" + username, blob).decode("ascii")


def desk_session_key(store_key: bytes) -> bytes:
    """The key that signs the desk's session cookies: the same for every worker process of one desk."""
    return HKDF(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=None, info=b"grievance/desk-session").derive(store_key)


def seal_referral(record: bytes, company_recipient: str) -> bytes:
    """Seal a referral (a redacted record) to the company's age public key: only the company opens it."""
    return pyrage.encrypt(record, [_parse_recipient(company_recipient)])


def protect_identity(identity: str, passphrase: str) -> bytes:
    """The operator's private key encrypted under a passphrase (age scrypt), to keep on disk instead of the clear key."""
    _parse_identity(identity)
    return pyrage.passphrase.encrypt(identity.strip().encode(), passphrase)


def unlock_identity(blob: bytes, passphrase: str) -> str:
    """The operator's private key from `protect_identity`'s file; raises `DecryptionError` on a wrong passphrase."""
    try:
        identity = pyrage.passphrase.decrypt(blob, passphrase).decode()
    except pyrage.DecryptError:
        raise DecryptionError("wrong passphrase, or not a protected operator key") from None
    _parse_identity(identity)
    return identity
