"""Message ids of one chat, kept so DELETE can remove the bot's messages (and the worker's) later.

Telegram lets a bot delete the messages of a private chat, its own and the
worker's, for 48 hours. The conversation's draft keeps the ids of its own
messages, but the summary, the case code and the operator's later messages
come after the conversation has ended. So each id is also kept here, under a
keyed hash of the chat (crypto.chat_refs_lookup), the ids and the minute each
was sent encrypted under the data key, for `retention.chat_message_refs_days`
after the chat's last message; DELETE takes them all at once (the row goes).

After DELETE the bot still sends its "erased" answer: a short-lived marker row
(no ids) lets the next `skip` recorded messages pass unrecorded, so nothing of
the chat stays once that answer is out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from . import crypto
from .db import as_utc
from .models import ChatMessageRefs

MAX_REFS = 500  # a chat longer than this keeps its latest ids (the older ones are past 48 hours anyway)
MARKER_LIFETIME = timedelta(hours=1)  # the "erased" answer is sent within seconds; retried for a while at most


@dataclass(frozen=True)
class ChatRef:
    """One message id ("17", or "17,18" for a text sent in parts) and the minute it was sent."""

    ref: str
    sent_at: datetime | None  # None: from a draft, time unknown (recent: the draft is at most days old)


class ChatRefStore:
    """Chat message ids inside the caller's transaction."""

    def __init__(self, session: Session, secrets: crypto.ServerSecrets, keep: timedelta) -> None:
        self.session = session
        self.secrets = secrets
        self.keep = keep

    def _row(self, lookup: str, now: datetime) -> ChatMessageRefs:
        """The chat's row, created empty if missing, locked for this transaction."""
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        empty = crypto.encrypt_chat_refs(self.secrets, lookup, json.dumps({"refs": [], "skip": 0}).encode())
        self.session.execute(
            insert(ChatMessageRefs)
            .values(lookup=lookup, refs=empty, updated_at=now, expires_at=now + self.keep)
            .on_conflict_do_nothing(index_elements=["lookup"])
        )
        return self.session.execute(
            select(ChatMessageRefs).where(ChatMessageRefs.lookup == lookup).with_for_update()
        ).scalar_one()

    def _open(self, row: ChatMessageRefs) -> dict:
        return json.loads(crypto.decrypt_chat_refs(self.secrets, row.lookup, row.refs))

    def add(self, channel: str, address: str, ref: str, now: datetime, *, sent_by_bot: bool) -> None:
        """Remember one message of this chat (or let the bot's answer to DELETE pass)."""
        lookup = crypto.chat_refs_lookup(self.secrets, channel, address)
        row = self._row(lookup, now)
        state = self._open(row)
        if sent_by_bot and state.get("skip", 0) > 0:
            state["skip"] -= 1
            if not state["refs"] and state["skip"] == 0:
                self.session.delete(row)
                return
        else:
            minute = now.replace(second=0, microsecond=0).isoformat()
            state["refs"] = [*state["refs"], [ref, minute]][-MAX_REFS:]
            row.expires_at = now + self.keep
        row.refs = crypto.encrypt_chat_refs(self.secrets, lookup, json.dumps(state).encode())
        row.updated_at = now

    def take(self, channel: str, address: str) -> list[ChatRef]:
        """DELETE: every id kept for this chat; nothing of them stays here."""
        lookup = crypto.chat_refs_lookup(self.secrets, channel, address)
        row = self.session.execute(select(ChatMessageRefs).where(ChatMessageRefs.lookup == lookup).with_for_update()).scalar_one_or_none()
        if row is None:
            return []
        refs = [ChatRef(ref, as_utc(datetime.fromisoformat(sent))) for ref, sent in self._open(row)["refs"]]
        self.session.delete(row)
        self.session.flush()
        return refs

    def pass_next(self, channel: str, address: str, now: datetime, count: int) -> None:
        """After DELETE: the next `count` messages the bot sends to this chat (its answers to DELETE) are not kept."""
        if count <= 0:
            return
        lookup = crypto.chat_refs_lookup(self.secrets, channel, address)
        marker = crypto.encrypt_chat_refs(self.secrets, lookup, json.dumps({"refs": [], "skip": count}).encode())
        self.session.add(ChatMessageRefs(lookup=lookup, refs=marker, updated_at=now, expires_at=now + MARKER_LIFETIME))
