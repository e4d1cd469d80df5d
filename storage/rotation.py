"""Data key rotation: re-encrypt every server ciphertext with the active data key.

After `grievance keys rotate` adds a key, old ciphertext still opens (the
keyring keeps the old key); this pass rewrites it under the new key so the old
one can be retired. A draft or a message to a worker that no key of the
keyring opens (written by a server that still had a retired key) is erased:
it can never be read again, and must not stop the rotation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from . import crypto
from .models import Case, CaseMessage, ChatMessageRefs, Conversation, DraftMedia, OutboundMessage


@dataclass(frozen=True)
class RotationResult:
    rewritten: int
    already_current: int
    unreadable_erased: int = 0  # drafts and outbound messages no key of the keyring opens any more


def reencrypt_all(sessions: sessionmaker[Session], secrets: crypto.ServerSecrets) -> RotationResult:
    active = secrets.data_keys.active_id
    rewritten = current = unreadable = 0

    def rewrap(purpose: str, context: str, blob: bytes) -> bytes:
        nonlocal rewritten, current
        if crypto.data_key_id_of(blob) == active:
            current += 1
            return blob
        rewritten += 1
        return crypto.reencrypt_with_active_key(secrets, purpose, context, blob)

    with sessions.begin() as session:
        for row in session.execute(select(Conversation)).scalars():
            try:
                row.draft = rewrap("draft", row.lookup, row.draft)
                if row.reply_address is not None:
                    row.reply_address = rewrap("reply-address", row.lookup, row.reply_address)
            except crypto.DecryptionError:
                # Made with a key the keyring no longer has: unreadable for good, so erased, as the
                # intake does when the worker writes again (it is treated as expired there).
                session.execute(delete(DraftMedia).where(DraftMedia.lookup == row.lookup))
                session.delete(row)
                unreadable += 1
        for case in session.execute(select(Case).where(Case.reply_address.is_not(None))).scalars():
            case.reply_address = rewrap("reply-address", case.case_id, case.reply_address)
        for message in session.execute(select(CaseMessage)).scalars():
            message.body = rewrap("case-message", message.case_id, message.body)
        for media in session.execute(select(DraftMedia)).scalars():
            media.blob = rewrap("draft-media", media.id, media.blob)
        for outbound in session.execute(select(OutboundMessage)).scalars():
            try:
                outbound.payload = rewrap("outbound", outbound.id, outbound.payload)
            except crypto.DecryptionError:  # can never be sent: deleted (a dead one would be purged anyway)
                session.delete(outbound)
                unreadable += 1
        for chat in session.execute(select(ChatMessageRefs)).scalars():
            try:
                chat.refs = rewrap("chat-refs", chat.lookup, chat.refs)
            except crypto.DecryptionError:  # ids no key opens are of no use to DELETE: erased
                session.delete(chat)
                unreadable += 1
    return RotationResult(rewritten, current, unreadable)
