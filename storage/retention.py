"""Retention: erase what is no longer needed, on schedule (`grievance purge`, and the server).

Erased: drafts idle past their expiry, reply addresses past their retention
period, and delivered outbox entries. Safe to run at any time and from
several processes at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from .db import utcnow
from .models import Case, Conversation, OutboxEntry


@dataclass(frozen=True)
class PurgeResult:
    conversations: int
    reply_addresses: int
    outbox_entries: int


def purge_expired(sessions: sessionmaker[Session]) -> PurgeResult:
    now = utcnow()
    with sessions.begin() as session:
        conversations = session.execute(delete(Conversation).where(Conversation.expires_at <= now)).rowcount
        addresses = session.execute(
            update(Case)
            .where(Case.reply_address_expires_at <= now, Case.reply_address.is_not(None))
            .values(reply_address=None, reply_address_expires_at=None)
        ).rowcount
        delivered = session.execute(delete(OutboxEntry).where(OutboxEntry.state == "delivered")).rowcount
    return PurgeResult(conversations, addresses, delivered)
