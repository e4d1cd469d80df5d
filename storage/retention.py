"""Retention: erase what is no longer needed, on schedule (`grievance purge`, and the server).

Erased: drafts idle past their expiry (`session.idle_expiry_hours`, stamped on
each draft), reply addresses past their retention period
(`session.reply_address_retention_days`, stamped on each case), and after the
periods of the `retention` config section: inbound receipts, messages to
workers that were never confirmed or could not be sent, the markers of
cases delivered to the queue, and the Telegram message ids kept for DELETE. The README's threat model lists them all.

Each kind is erased in its own short transaction, so a purge never holds locks
the intake is waiting for while it works through the others. Every step is a
plain conditional DELETE or UPDATE: running it twice, or from several processes
at once (cron and the server), erases each row once and fails nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Retention, StatusThrottle

from .db import utcnow
from .models import Case, ChatMessageRefs, Conversation, DraftMedia, InboundReceipt, OutboundMessage, OutboxEntry, StatusAttempts


@dataclass(frozen=True)
class PurgeResult:
    conversations: int
    reply_addresses: int
    outbox_entries: int
    receipts: int = 0
    dead_outbound: int = 0  # messages to workers erased: dead, or sent and never confirmed
    status_counters: int = 0  # counters of failed STATUS look-ups past their window
    chat_message_refs: int = 0  # Telegram message ids of chats idle past `retention.chat_message_refs_days`


def purge_expired(sessions: sessionmaker[Session], retention: Retention | None = None, now: datetime | None = None,
                  throttle: StatusThrottle | None = None) -> PurgeResult:
    """Erase everything past its time; `now` is for tests that travel in time."""
    retention = retention or Retention()
    throttle = throttle or StatusThrottle()
    now = now or utcnow()
    with sessions.begin() as session:
        expired = select(Conversation.lookup).where(Conversation.expires_at <= now)
        session.execute(delete(DraftMedia).where(DraftMedia.lookup.in_(expired)))
        conversations = session.execute(delete(Conversation).where(Conversation.expires_at <= now)).rowcount
        # Media whose conversation ended some other way (an interrupted erase) go too.
        session.execute(delete(DraftMedia).where(DraftMedia.lookup.not_in(select(Conversation.lookup))))
    with sessions.begin() as session:
        addresses = session.execute(
            update(Case)
            .where(Case.reply_address_expires_at <= now, Case.reply_address.is_not(None))
            .values(reply_address=None, reply_address_expires_at=None)
        ).rowcount
    with sessions.begin() as session:
        receipts = session.execute(
            delete(InboundReceipt).where(InboundReceipt.received_at <= now - timedelta(days=retention.receipts_days))
        ).rowcount
    with sessions.begin() as session:
        outbound = session.execute(
            delete(OutboundMessage).where(
                OutboundMessage.state == "dead", OutboundMessage.created_at <= now - timedelta(days=retention.dead_outbound_days)
            )
        ).rowcount
        outbound += session.execute(
            delete(OutboundMessage).where(
                OutboundMessage.state == "sent", OutboundMessage.created_at <= now - timedelta(hours=retention.sent_outbound_hours)
            )
        ).rowcount
    with sessions.begin() as session:
        delivered = delete(OutboxEntry).where(OutboxEntry.state == "delivered")
        if retention.delivered_outbox_hours:
            cutoff = now - timedelta(hours=retention.delivered_outbox_hours)
            delivered = delivered.where(or_(OutboxEntry.delivered_at.is_(None), OutboxEntry.delivered_at <= cutoff))
        outbox_entries = session.execute(delivered).rowcount
    with sessions.begin() as session:
        # A sender's counter (keyed pseudonym) is needed only while its window runs: with the pepper,
        # an old one would still tell that this number once tried codes that were not theirs.
        sender_cutoff = now - timedelta(minutes=throttle.per_sender_window_minutes)
        counters = session.execute(
            delete(StatusAttempts).where(StatusAttempts.scope != "global", StatusAttempts.window_start < sender_cutoff)
        ).rowcount
        counters += session.execute(
            delete(StatusAttempts).where(
                StatusAttempts.scope == "global", StatusAttempts.window_start < now - timedelta(days=throttle.keep_counts_days)
            )
        ).rowcount
    with sessions.begin() as session:
        # expires_at is stamped at each message (now + retention.chat_message_refs_days) or, for the
        # marker a DELETE leaves, an hour after it.
        chat_refs = session.execute(delete(ChatMessageRefs).where(ChatMessageRefs.expires_at <= now)).rowcount
    return PurgeResult(conversations, addresses, outbox_entries, receipts, outbound, counters, chat_refs)
