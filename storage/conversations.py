"""Conversations in progress: found by blind index, stored encrypted, erased when done or idle.

The row is locked for the length of the transaction (`FOR UPDATE` on
PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serializes writers), so two
messages from one worker handled at once by two processes never overwrite each
other's answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.draft import Draft

from . import crypto
from .db import as_utc
from .models import Conversation


@dataclass
class LoadedConversation:
    draft: Draft | None
    expired: bool  # an old draft was found idle past its expiry and erased
    expired_language: str | None = None  # so the worker is told in their own language


class ConversationStore:
    """Reads and writes one worker's conversation inside the caller's transaction."""

    def __init__(self, session: Session, secrets: crypto.ServerSecrets, idle_expiry: timedelta) -> None:
        self.session = session
        self.secrets = secrets
        self.idle_expiry = idle_expiry

    def load(self, lookup: str, now: datetime) -> LoadedConversation:
        row = self.session.execute(select(Conversation).where(Conversation.lookup == lookup).with_for_update()).scalar_one_or_none()
        if row is None:
            return LoadedConversation(None, expired=False)
        if as_utc(row.expires_at) <= now:
            language = Draft.from_json(crypto.decrypt_draft(self.secrets, lookup, row.draft)).language
            self.session.delete(row)
            self.session.flush()
            return LoadedConversation(None, expired=True, expired_language=language)
        return LoadedConversation(Draft.from_json(crypto.decrypt_draft(self.secrets, lookup, row.draft)), expired=False)

    def save(self, lookup: str, draft: Draft, channel: str, address: str, now: datetime) -> None:
        row = self.session.get(Conversation, lookup)
        if row is None:
            row = Conversation(lookup=lookup)
            self.session.add(row)
        row.draft = crypto.encrypt_draft(self.secrets, lookup, draft.to_json())
        # The address is kept (encrypted) only while the conversation lives, for replies sent later.
        row.reply_address = crypto.encrypt_reply_address(self.secrets, lookup, encode_address(channel, address))
        row.updated_at = now
        row.expires_at = now + self.idle_expiry

    def erase(self, lookup: str) -> None:
        self.session.execute(delete(Conversation).where(Conversation.lookup == lookup))


def encode_address(channel: str, address: str) -> bytes:
    return json.dumps({"channel": channel, "address": address}).encode()


def decode_address(data: bytes) -> tuple[str, str]:
    fields = json.loads(data)
    return fields["channel"], fields["address"]
