"""Data key rotation: re-encrypt every server ciphertext with the active data key.

After `grievance keys rotate` adds a key, old ciphertext still opens (the
keyring keeps the old key); this pass rewrites it under the new key so the old
one can be retired.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import crypto
from .models import Case, CaseMessage, ChatMessageRefs, Conversation, DraftMedia, OutboundMessage


@dataclass(frozen=True)
class RotationResult:
    rewritten: int
    already_current: int


def reencrypt_all(sessions: sessionmaker[Session], secrets: crypto.ServerSecrets) -> RotationResult:
    active = secrets.data_keys.active_id
    rewritten = current = 0

    def rewrap(purpose: str, context: str, blob: bytes) -> bytes:
        nonlocal rewritten, current
        if crypto.data_key_id_of(blob) == active:
            current += 1
            return blob
        rewritten += 1
        return crypto.reencrypt_with_active_key(secrets, purpose, context, blob)

    with sessions.begin() as session:
        for row in session.execute(select(Conversation)).scalars():
            row.draft = rewrap("draft", row.lookup, row.draft)
            if row.reply_address is not None:
                row.reply_address = rewrap("reply-address", row.lookup, row.reply_address)
        for case in session.execute(select(Case).where(Case.reply_address.is_not(None))).scalars():
            case.reply_address = rewrap("reply-address", case.case_id, case.reply_address)
        for message in session.execute(select(CaseMessage)).scalars():
            message.body = rewrap("case-message", message.case_id, message.body)
        for media in session.execute(select(DraftMedia)).scalars():
            media.blob = rewrap("draft-media", media.id, media.blob)
        for outbound in session.execute(select(OutboundMessage)).scalars():
            outbound.payload = rewrap("outbound", outbound.id, outbound.payload)
        for chat in session.execute(select(ChatMessageRefs)).scalars():
            chat.refs = rewrap("chat-refs", chat.lookup, chat.refs)
    return RotationResult(rewritten, current)
