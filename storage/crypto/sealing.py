"""Sealing with age (X25519, through pyrage): to the operator, to a company, and exports.

A confirmed case and a worker's answer are sealed to the operator's public key(s): the intake
server holds no private key and cannot read them back (the SecureDrop property). A referral is
sealed to a company's key; an export is an age file a partner opens with `age -d`.
"""

from __future__ import annotations

import pyrage

from .age_keys import parse_identity, parse_recipient
from .errors import CryptoError, DecryptionError, KeyMaterialError
from .formats import ANSWER_SEAL_V1, SEAL_V1, SIGNATURE_BYTES, SIGNED_V1
from .server_keys import ServerSecrets


def seal_case(secrets: ServerSecrets, case_record: bytes) -> bytes:
    """Seal a confirmed case to the operator's public key(s); the server cannot open it again."""
    recipients = [parse_recipient(r) for r in secrets.operator_recipients]
    return SEAL_V1 + pyrage.encrypt(case_record, recipients)


def open_case(identities: list[str], sealed: bytes) -> bytes:
    """Open a sealed case with the operator's private key(s) (operator side only).

    A queue item signed by the intake server (`SIGNED_V1`) opens too, but this does NOT check
    the signature: a case from a queue is authenticated with `verify_sealed_case` first
    (desk/pull.py does), and only what that returns should be trusted.
    """
    if sealed.startswith(SIGNED_V1):
        sealed = sealed[len(SIGNED_V1) + SIGNATURE_BYTES :]
    if not sealed.startswith(SEAL_V1):
        raise DecryptionError("not a sealed case of a known version")
    parsed = [parse_identity(i) for i in identities]
    try:
        return pyrage.decrypt(sealed[len(SEAL_V1) :], parsed)
    except pyrage.DecryptError:
        raise DecryptionError("the sealed case does not open with this operator key") from None


def seal_worker_answer(secrets: ServerSecrets, answer: bytes) -> bytes:
    """Seal a worker's answer to the operator's public key(s); the server cannot open it again."""
    recipients = [parse_recipient(r) for r in secrets.operator_recipients]
    return ANSWER_SEAL_V1 + pyrage.encrypt(answer, recipients)


def open_worker_answer(identities: list[str], sealed: bytes) -> bytes:
    """Open a worker's answer with the operator's private key(s) (operator side only)."""
    if not sealed.startswith(ANSWER_SEAL_V1):
        raise DecryptionError("not a sealed answer of a known version")
    parsed = [parse_identity(i) for i in identities]
    try:
        return pyrage.decrypt(sealed[len(ANSWER_SEAL_V1) :], parsed)
    except pyrage.DecryptError:
        raise DecryptionError("the sealed answer does not open with this operator key") from None


def seal_referral(record: bytes, company_recipient: str) -> bytes:
    """Seal a referral (a redacted record) to the company's age public key: only the company opens it."""
    return pyrage.encrypt(record, [parse_recipient(company_recipient)])


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
    parsed = [parse_identity(identity) for identity in identities]
    try:
        pyrage.decrypt_io(reader, writer, parsed)
    except pyrage.DecryptError:
        raise DecryptionError("the file does not open with this key (or is not an age file)") from None
    except OSError:
        raise DecryptionError("the file is damaged or cut short") from None
