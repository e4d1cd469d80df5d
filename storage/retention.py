"""Retention: erase what is no longer needed, on schedule (`grievance purge`, and the server).

Erased: drafts idle past their expiry, reply addresses past their retention
period, and delivered outbox entries. Safe to run at any time and from
several processes at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from .db import utcnow
from .models import Case, Conversation, DraftMedia, InboundReceipt, OutboundMessage, OutboxEntry

# Providers retry within minutes (Twilio) or a day (Telegram keeps updates 24 h): a week is ample.
RECEIPT_RETENTION = timedelta(days=7)
DEAD_OUTBOUND_RETENTION = timedelta(days=7)
# Messages a provider accepted but never confirmed (many SMS carriers never do): kept this long
# so a late failure report can still trigger a retry, then erased.
SENT_OUTBOUND_RETENTION = timedelta(hours=48)


@dataclass(frozen=True)
class PurgeResult:
    conversations: int
    reply_addresses: int
    outbox_entries: int
    receipts: int = 0
    dead_outbound: int = 0


def purge_expired(sessions: sessionmaker[Session]) -> PurgeResult:
    now = utcnow()
    with sessions.begin() as session:
        expired = select(Conversation.lookup).where(Conversation.expires_at <= now)
        session.execute(delete(DraftMedia).where(DraftMedia.lookup.in_(expired)))
        conversations = session.execute(delete(Conversation).where(Conversation.expires_at <= now)).rowcount
        # Media whose conversation ended some other way (an interrupted erase) go too.
        session.execute(delete(DraftMedia).where(DraftMedia.lookup.not_in(select(Conversation.lookup))))
        receipts = session.execute(delete(InboundReceipt).where(InboundReceipt.received_at <= now - RECEIPT_RETENTION)).rowcount
        dead_outbound = session.execute(
            delete(OutboundMessage).where(OutboundMessage.state == "dead", OutboundMessage.created_at <= now - DEAD_OUTBOUND_RETENTION)
        ).rowcount
        dead_outbound += session.execute(
            delete(OutboundMessage).where(OutboundMessage.state == "sent", OutboundMessage.created_at <= now - SENT_OUTBOUND_RETENTION)
        ).rowcount
        addresses = session.execute(
            update(Case)
            .where(Case.reply_address_expires_at <= now, Case.reply_address.is_not(None))
            .values(reply_address=None, reply_address_expires_at=None)
        ).rowcount
        delivered = session.execute(delete(OutboxEntry).where(OutboxEntry.state == "delivered")).rowcount
    return PurgeResult(conversations, addresses, delivered, receipts, dead_outbound)
