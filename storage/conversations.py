"""Conversations in progress: found by blind index, stored encrypted, erased when done or idle.

The row is locked for the length of the transaction (`FOR UPDATE` on
PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serializes writers), so two
messages from one worker handled at once by two processes never overwrite each
other's answers. Media the worker sent wait here too, encrypted, until the case
is sealed with them or the conversation is erased.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.draft import Draft
from bot.messages import MediaItem, ReplyAddress

from . import crypto
from .db import as_utc
from .models import Conversation, DraftMedia

MAX_MESSAGE_REFS = 300  # enough for any intake; DELETE removes what it can of these


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

    def _lock(self, lookup: str) -> None:
        """On PostgreSQL, serialize transactions on one worker's conversation, even before its row exists.

        `FOR UPDATE` alone locks nothing when the row is not there yet, so two
        first messages would both insert; a transaction-level advisory lock on
        the lookup covers that case and is released at commit or rollback.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(lookup, 0))))

    def load(self, lookup: str, now: datetime) -> LoadedConversation:
        self._lock(lookup)
        row = self.session.execute(select(Conversation).where(Conversation.lookup == lookup).with_for_update()).scalar_one_or_none()
        if row is None:
            return LoadedConversation(None, expired=False)
        draft = Draft.from_json(crypto.decrypt_draft(self.secrets, lookup, row.draft))
        if as_utc(row.expires_at) <= now:
            self.erase(lookup)
            return LoadedConversation(None, expired=True, expired_language=draft.language)
        return LoadedConversation(draft, expired=False)

    def save(self, lookup: str, draft: Draft, reply_address: ReplyAddress, now: datetime) -> None:
        row = self.session.get(Conversation, lookup)
        if row is None:
            row = Conversation(lookup=lookup)
            self.session.add(row)
        draft.message_refs = draft.message_refs[-MAX_MESSAGE_REFS:]
        row.draft = crypto.encrypt_draft(self.secrets, lookup, draft.to_json())
        # The address is kept (encrypted) only while the conversation lives, for replies sent later.
        row.reply_address = crypto.encrypt_reply_address(self.secrets, lookup, reply_address.to_json())
        row.updated_at = now
        row.expires_at = now + self.idle_expiry

    def add_message_ref(self, lookup: str, ref: str) -> None:
        """Remember a message the bot sent in this chat, so DELETE can remove it too."""
        self._lock(lookup)
        row = self.session.execute(select(Conversation).where(Conversation.lookup == lookup).with_for_update()).scalar_one_or_none()
        if row is None:
            return
        draft = Draft.from_json(crypto.decrypt_draft(self.secrets, lookup, row.draft))
        draft.message_refs = [*draft.message_refs, ref][-MAX_MESSAGE_REFS:]
        row.draft = crypto.encrypt_draft(self.secrets, lookup, draft.to_json())

    def add_media(self, lookup: str, item: MediaItem, now: datetime) -> None:
        media_id = str(uuid.uuid4())
        payload = json.dumps({"content_type": item.content_type}).encode() + b"\n" + item.data
        self.session.add(DraftMedia(id=media_id, lookup=lookup, blob=crypto.encrypt_draft_media(self.secrets, media_id, payload), created_at=now))

    def media(self, lookup: str) -> list[MediaItem]:
        rows = self.session.execute(select(DraftMedia).where(DraftMedia.lookup == lookup).order_by(DraftMedia.created_at, DraftMedia.id)).scalars()
        items = []
        for row in rows:
            header, _, data = crypto.decrypt_draft_media(self.secrets, row.id, row.blob).partition(b"\n")
            items.append(MediaItem(json.loads(header)["content_type"], data))
        return items

    def erase(self, lookup: str) -> None:
        self.session.execute(delete(DraftMedia).where(DraftMedia.lookup == lookup))
        self.session.execute(delete(Conversation).where(Conversation.lookup == lookup))
