"""Retention: erase what is no longer needed, on schedule (`grievance purge`, and the server).

Erased: drafts idle past their expiry (`session.idle_expiry_hours`, stamped on
each draft), reply addresses past their retention period
(`session.reply_address_retention_days`, stamped on each case), and after the
periods of the `retention` config section: inbound receipts, messages to
workers that were never confirmed or could not be sent, the markers of
cases delivered to the queue, the Telegram message ids kept for DELETE, and the claims on
cleaning a message's media (once it is received). docs/threat-model.md lists them all.

Each kind is erased in its own short transaction, so a purge never holds locks
the intake is waiting for while it works through the others. Every step is a
plain conditional DELETE or UPDATE: running it twice, or from several processes
at once (cron and the server), erases each row once and fails nothing.

Erased rows must leave the disk too. On SQLite the purge ends with a TRUNCATE
checkpoint of the WAL (storage/db.py), and waits for it: `secure_delete` has
zeroed the rows in the file, and the WAL, which still held them, is cut to
nothing. On PostgreSQL it VACUUMs the tables it erased from, where the role
owns them (otherwise PostgreSQL skips them with a warning and autovacuum does
it later): dead row versions are pruned and their space reused. PostgreSQL does
not zero them, and its WAL segments and backups keep them longer: see the
docs/threat-model.md.
"""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Retention, StatusThrottle

from . import media_claims, mutes
from .answer_windows import purge_expired as purge_expired_windows
from .db import request_wal_erasure, utcnow, wait_for_wal_erasure
from .models import Case, ChatMessageRefs, Conversation, DraftMedia, InboundReceipt, OutboundMessage, OutboxEntry, StatusAttempts


log = logging.getLogger(__name__)

# The tables a purge erases worker-related rows from, vacuumed on PostgreSQL after a purge that erased any.
_VACUUMED = ("conversations", "draft_media", "cases", "outbound_messages", "inbound_receipts", "status_attempts",
             "chat_message_refs", "media_claims", "answer_windows", "case_senders", "muted_senders")
WAL_ERASURE_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class PurgeResult:
    conversations: int
    reply_addresses: int
    outbox_entries: int
    receipts: int = 0
    dead_outbound: int = 0  # messages to workers erased: dead, or sent and never confirmed
    status_counters: int = 0  # counters of failed STATUS look-ups past their window
    chat_message_refs: int = 0  # Telegram message ids of chats idle past `retention.chat_message_refs_days`
    media_claims: int = 0  # claims on cleaning a message's media: once it is received, or as old as a receipt
    answer_windows: int = 0  # chats the team wrote to, past `session.answer_window_days`
    sender_mutes: int = 0  # ended mutes, and case senders' pseudonyms past `retention.case_sender_days`


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
        # A claim is needed only until its message is received; past a receipt's age a retry is new anyway.
        claims = media_claims.purge(session, now - timedelta(days=retention.receipts_days))
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
    with sessions.begin() as session:
        windows = purge_expired_windows(session, now)
    with sessions.begin() as session:
        sender_mutes = mutes.purge(session, now)
    result = PurgeResult(conversations, addresses, outbox_entries, receipts, outbound, counters, chat_refs, claims, windows,
                         sender_mutes)
    if any(astuple(result)):
        erase_from_disk(sessions)
    return result


def erase_from_disk(sessions: sessionmaker[Session]) -> None:
    """After rows were erased: truncate SQLite's WAL (and wait for it), or VACUUM on PostgreSQL."""
    engine = sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        # VACUUM cannot run inside a transaction block.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM " + ", ".join(_VACUUMED)))
        return
    request_wal_erasure(engine)
    if not wait_for_wal_erasure(engine, WAL_ERASURE_TIMEOUT_SECONDS):
        log.warning("purge: the WAL could not be truncated yet (readers in the way); the next purge tries again")
