"""Conversations in progress: found by blind index, stored encrypted, erased when done or idle.

The row is locked for the length of the transaction (`FOR UPDATE` on
PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serializes writers), so two
messages from one worker handled at once by two processes never overwrite each
other's answers. Media the worker sent wait here too, encrypted, until the case
is sealed with them or the conversation is erased.

Every message of every worker passes here, so the statements are SQLAlchemy
Core, built once (compiled once, then taken from the cache), and a save is a
single upsert rather than a read of the row followed by a write.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.draft import ANSWER_STEPS, Draft
from bot.messages import MediaItem, ReplyAddress

from . import crypto
from .db import as_utc
from .models import Conversation, DraftMedia

MAX_MESSAGE_REFS = 300
_AEAD_OVERHEAD = 5 + 12 + 16  # crypto's version and key id, nonce, tag: around each stored medium  # enough for any intake; DELETE removes what it can of these

_TABLE = Conversation.__table__
_ADVISORY_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("lookup"), 0)))
_SELECT = select(_TABLE.c.draft, _TABLE.c.expires_at).where(_TABLE.c.lookup == bindparam("lookup")).with_for_update()
_PEEK = select(_TABLE.c.draft, _TABLE.c.expires_at).where(_TABLE.c.lookup == bindparam("lookup"))
_UPDATE_DRAFT = _TABLE.update().where(_TABLE.c.lookup == bindparam("b_lookup")).values(draft=bindparam("b_draft"))
_INSERT_MEDIA = DraftMedia.__table__.insert()
_DELETE_MEDIA = delete(DraftMedia).where(DraftMedia.lookup == bindparam("lookup"))
_MEDIA_USAGE = select(func.count(DraftMedia.id), func.coalesce(func.sum(func.length(DraftMedia.blob)), 0)).where(
    DraftMedia.lookup == bindparam("lookup")
)
_DELETE = delete(_TABLE).where(_TABLE.c.lookup == bindparam("lookup"))
_MEDIA_TABLE = DraftMedia.__table__
_MEDIA = (
    select(_MEDIA_TABLE.c.id, _MEDIA_TABLE.c.blob)
    .where(_MEDIA_TABLE.c.lookup == bindparam("lookup"))
    .order_by(_MEDIA_TABLE.c.created_at, _MEDIA_TABLE.c.id)
)


def _upsert(insert):
    statement = insert(_TABLE).values(
        lookup=bindparam("lookup"), draft=bindparam("draft"), reply_address=bindparam("reply_address"),
        updated_at=bindparam("updated_at"), expires_at=bindparam("expires_at"),
    )
    changed = {name: statement.excluded[name] for name in ("draft", "reply_address", "updated_at", "expires_at")}
    return statement.on_conflict_do_update(index_elements=["lookup"], set_=changed)


_UPSERTS = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}


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
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name

    def _locked_row(self, lookup: str):
        """The conversation's row, locked until the end of the transaction; None when there is none.

        `FOR UPDATE` serializes the transactions on one worker's conversation when its row
        exists (every message but the first). When it does not, `FOR UPDATE` locks nothing,
        so two first messages would both insert: on PostgreSQL a transaction-level advisory
        lock on the lookup then serializes them (released at commit or rollback), and the row
        is read again under it, since the other transaction may have inserted it meanwhile.
        (SQLite's `BEGIN IMMEDIATE` already serializes every writer.) Taking the advisory lock
        only then saves a round trip on every other message; a transaction that found the row
        holds its row lock, so no transaction can find it absent until that one ends.
        """
        row = self.connection.execute(_SELECT, {"lookup": lookup}).first()
        if row is None and self.dialect == "postgresql":
            self.connection.execute(_ADVISORY_LOCK, {"lookup": lookup})
            row = self.connection.execute(_SELECT, {"lookup": lookup}).first()
        return row

    def load(self, lookup: str, now: datetime) -> LoadedConversation:
        row = self._locked_row(lookup)
        if row is None:
            return LoadedConversation(None, expired=False)
        try:
            draft = Draft.from_json(crypto.decrypt_draft(self.secrets, lookup, row.draft))
        except crypto.DecryptionError:
            # Made with a data key this server no longer has (retired while another server wrote with it):
            # unreadable for good, so it is treated as expired rather than failing every later message.
            self.erase(lookup)
            return LoadedConversation(None, expired=True)
        if as_utc(row.expires_at) <= now:
            self.erase(lookup)
            # An idle answer-back (after STATUS) is no unfinished report: nothing to tell the worker.
            if draft.step in ANSWER_STEPS:
                return LoadedConversation(None, expired=False)
            return LoadedConversation(None, expired=True, expired_language=draft.language)
        return LoadedConversation(draft, expired=False)

    def peek(self, lookup: str, now: datetime) -> Draft | None:
        """The draft as it is now, without locking or erasing anything (None if absent or expired).

        For work done before the write transaction (bot/text_work.py); what that transaction
        then `load`s is what counts."""
        row = self.connection.execute(_PEEK, {"lookup": lookup}).first()
        if row is None or as_utc(row.expires_at) <= now:
            return None
        try:
            return Draft.from_json(crypto.decrypt_draft(self.secrets, lookup, row.draft))
        except crypto.DecryptionError:  # a retired data key: `load` erases it and tells the worker
            return None

    def save(self, lookup: str, draft: Draft, reply_address: ReplyAddress, now: datetime) -> None:
        draft.message_refs = draft.message_refs[-MAX_MESSAGE_REFS:]
        values = {
            "lookup": lookup,
            "draft": crypto.encrypt_draft(self.secrets, lookup, draft.to_json()),
            # The address is kept (encrypted) only while the conversation lives, for replies sent later.
            "reply_address": crypto.encrypt_reply_address(self.secrets, lookup, reply_address.to_json()),
            "updated_at": now,
            "expires_at": now + self.idle_expiry,
        }
        self.connection.execute(_UPSERTS[self.dialect], values)

    def add_message_ref(self, lookup: str, ref: str) -> None:
        """Remember a message the bot sent in this chat, so DELETE can remove it too."""
        row = self._locked_row(lookup)
        if row is None:
            return
        draft = Draft.from_json(crypto.decrypt_draft(self.secrets, lookup, row.draft))
        draft.message_refs = [*draft.message_refs, ref][-MAX_MESSAGE_REFS:]
        blob = crypto.encrypt_draft(self.secrets, lookup, draft.to_json())
        self.connection.execute(_UPDATE_DRAFT, {"b_lookup": lookup, "b_draft": blob})

    def add_media(self, lookup: str, item: MediaItem, now: datetime) -> None:
        media_id = str(uuid.uuid4())
        header = {"content_type": item.content_type}
        if item.voice:  # a recording: which voice, and how long
            header |= {"voice": item.voice, "seconds": item.seconds}
        payload = json.dumps(header).encode() + b"\n" + item.data
        blob = crypto.encrypt_draft_media(self.secrets, media_id, payload)
        self.connection.execute(_INSERT_MEDIA, {"id": media_id, "lookup": lookup, "blob": blob, "created_at": now})

    def media_usage(self, lookup: str) -> tuple[int, int]:
        """How many media this conversation keeps, and their bytes (from the stored size: nothing decrypted).

        The AEAD envelope is not counted; the content type stored with each item is (some 30
        bytes), so the figure is a little above the media's own size, never below.
        """
        count, stored = self.connection.execute(_MEDIA_USAGE, {"lookup": lookup}).one()
        return int(count), max(0, int(stored) - int(count) * _AEAD_OVERHEAD)

    def media(self, lookup: str) -> list[MediaItem]:
        items = []
        for row in self.connection.execute(_MEDIA, {"lookup": lookup}):
            header, _, data = crypto.decrypt_draft_media(self.secrets, row.id, row.blob).partition(b"\n")
            fields = json.loads(header)
            items.append(MediaItem(fields["content_type"], data, seconds=fields.get("seconds"), voice=fields.get("voice")))
        return items

    def erase(self, lookup: str) -> None:
        self.connection.execute(_DELETE_MEDIA, {"lookup": lookup})
        self.connection.execute(_DELETE, {"lookup": lookup})
