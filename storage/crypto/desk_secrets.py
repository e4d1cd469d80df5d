"""The operator's side at rest: the operator store's key and records, and the desk's own secrets.

The store key is derived from the operator's private key; status-change reasons, notes,
companies' answers to referrals (and the files they sent) and TOTP seeds are sealed under it, and the desk's
session cookies are signed with a key derived from it.
The desk's audit log is chained with a key derived from it and its heads are signed with another
(so whoever can only write the store cannot rewrite the log unseen), and sign-in throttles name
accounts, addresses and devices by keyed hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .age_keys import parse_identity
from .errors import DecryptionError
from .formats import KEY_BYTES, NONCE_BYTES, STORE_V1


def operator_store_key(identity: str) -> bytes:
    """Key for the operator's local case store, derived from the operator's private key."""
    raw = parse_identity(identity)  # validate before deriving
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"grievance/operator-store").derive(
        str(raw).encode()
    )


def encrypt_store_record(store_key: bytes, record_id: str, plaintext: bytes) -> bytes:
    """Encrypt a case as kept in the operator's local store."""
    nonce = os.urandom(NONCE_BYTES)
    header = bytes([STORE_V1])
    return header + nonce + AESGCM(store_key).encrypt(nonce, plaintext, header + record_id.encode())


def decrypt_store_record(store_key: bytes, record_id: str, blob: bytes) -> bytes:
    """Open a case from the operator's local store."""
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != STORE_V1:
        raise DecryptionError("unknown operator store format")
    try:
        return AESGCM(store_key).decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], blob[:1] + record_id.encode())
    except InvalidTag:
        raise DecryptionError("operator store record does not open with this key") from None


def encrypt_status_reason(store_key: bytes, change_id: str, reason: str) -> bytes:
    """Encrypt the reason of a status change (it may hold notes about the case), bound to its change."""
    return encrypt_store_record(store_key, "status-reason/" + change_id, reason.encode("utf-8"))


def decrypt_status_reason(store_key: bytes, change_id: str, blob: bytes) -> str:
    """Open a reason encrypted by `encrypt_status_reason`."""
    return decrypt_store_record(store_key, "status-reason/" + change_id, blob).decode("utf-8")


def encrypt_triage_reason(store_key: bytes, entry_id: str, reason: str) -> bytes:
    """Encrypt why a case worker re-categorised a case (it may hold notes about it), bound to its change."""
    return encrypt_store_record(store_key, "triage-reason/" + entry_id, reason.encode("utf-8"))


def decrypt_triage_reason(store_key: bytes, entry_id: str, blob: bytes) -> str:
    """Open a reason encrypted by `encrypt_triage_reason`."""
    return decrypt_store_record(store_key, "triage-reason/" + entry_id, blob).decode("utf-8")


def encrypt_desk_note(store_key: bytes, note_id: str, text: str) -> bytes:
    """Encrypt a case worker's internal note (never shown to the worker), bound to its id."""
    return encrypt_store_record(store_key, "desk-note/" + note_id, text.encode("utf-8"))


def decrypt_desk_note(store_key: bytes, note_id: str, blob: bytes) -> str:
    return decrypt_store_record(store_key, "desk-note/" + note_id, blob).decode("utf-8")


def encrypt_company_answer(store_key: bytes, answer_id: str, text: str) -> bytes:
    """Encrypt what a company answered to a referral (it may name the workplace, people, events), bound to its id."""
    return encrypt_store_record(store_key, "company-answer/" + answer_id, text.encode("utf-8"))


def decrypt_company_answer(store_key: bytes, answer_id: str, blob: bytes) -> str:
    return decrypt_store_record(store_key, "company-answer/" + answer_id, blob).decode("utf-8")


def encrypt_company_answer_file(store_key: bytes, file_id: str, content: bytes) -> bytes:
    """Encrypt a file a company sent with its answer (its name and type are inside `content`), bound to its id."""
    return encrypt_store_record(store_key, "company-answer-file/" + file_id, content)


def decrypt_company_answer_file(store_key: bytes, file_id: str, blob: bytes) -> bytes:
    return decrypt_store_record(store_key, "company-answer-file/" + file_id, blob)


def encrypt_totp_secret(store_key: bytes, username: str, secret: str) -> bytes:
    """Encrypt a desk user's TOTP seed (a copied store file must not let anyone make codes)."""
    return encrypt_store_record(store_key, "desk-totp/" + username, secret.encode("ascii"))


def decrypt_totp_secret(store_key: bytes, username: str, blob: bytes) -> str:
    return decrypt_store_record(store_key, "desk-totp/" + username, blob).decode("ascii")


def desk_session_key(store_key: bytes) -> bytes:
    """The key that signs the desk's session cookies: the same for every worker process of one desk."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"grievance/desk-session").derive(store_key)


# ---------------------------------------------------------------- the desk's audit log and sign-in throttles

def _derive(store_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(store_key)


def desk_audit_chain_key(store_key: bytes) -> bytes:
    """The key that chains the desk's audit lines (HMAC-SHA256).

    Derived from the operator's private key (through the store key) and never written
    anywhere: a database writer holds the lines but cannot make one that verifies.
    """
    return _derive(store_key, b"grievance/desk-audit-chain")


def audit_line_mac(chain_key: bytes, line: bytes) -> str:
    """The keyed hash of one audit line (which includes the hash of the line before it)."""
    return hmac.new(chain_key, line, hashlib.sha256).hexdigest()


def _audit_head_key(store_key: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_derive(store_key, b"grievance/desk-audit-heads"))


def sign_audit_head(store_key: bytes, head: bytes) -> str:
    """The desk's Ed25519 signature on a head of its audit log (base64), like a signed tree head."""
    return base64.b64encode(_audit_head_key(store_key).sign(head)).decode("ascii")


def audit_head_signed(store_key: bytes, head: bytes, signature: str) -> bool:
    """True when `signature` is this desk's signature on `head`."""
    try:
        raw = base64.b64decode(signature, validate=True)
        _audit_head_key(store_key).public_key().verify(raw, head)
    except (ValueError, InvalidSignature):
        return False
    return True


def audit_head_public_key(store_key: bytes) -> str:
    """The public half of the heads' signing key (base64 of 32 bytes), for whoever keeps heads elsewhere."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = _audit_head_key(store_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def desk_throttle_tag(store_key: bytes, scope: str, value: str) -> str:
    """A keyed hash that names an account, an address or a device in the sign-in throttles.

    What was typed as a username may be a password typed in the wrong box, and an address
    says where someone was: neither is kept, only this tag.
    """
    key = _derive(store_key, b"grievance/desk-throttle")
    return hmac.new(key, f"{scope}\0{value}".encode(), hashlib.sha256).hexdigest()[:40]


def encrypt_pending_totp_secret(store_key: bytes, pending_id: str, secret: str) -> bytes:
    """Encrypt a TOTP seed being set up, kept with its pending sign-in until the first code confirms it."""
    return encrypt_store_record(store_key, "desk-totp-pending/" + pending_id, secret.encode("ascii"))


def decrypt_pending_totp_secret(store_key: bytes, pending_id: str, blob: bytes) -> str:
    return decrypt_store_record(store_key, "desk-totp-pending/" + pending_id, blob).decode("ascii")
