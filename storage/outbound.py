"""The outbound queue: messages to workers that are not the immediate HTTP reply.

Operator follow-ups, replies on channels that answer through an API call
(Telegram, WhatsApp Cloud) and later reminders wait here, address and text
encrypted, until a dispatcher sends them. A dispatcher first *claims* a message
for a short lease, so several processes never send the same message at once;
a process that dies mid-send leaves a claim that simply runs out, and the
message is sent again (at least once). Failures back off exponentially; a
permanent failure, or too many, parks the message as dead.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import ReplyAddress

from . import crypto
from .db import as_utc, utcnow
from .models import OutboundMessage

MAX_BACKOFF_SECONDS = 3600
CLAIM_LEASE = timedelta(seconds=60)


def exact_now() -> datetime:
    """Outbound timing needs seconds (backoff, rate limits), but only while a message waits: its
    `next_attempt_at` and `claimed_until` are exact then; `created_at` is to the minute, and a dead
    message's times are put back to the minute (kept for days, they would correlate with a provider's logs)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class OutboundItem:
    """One claimed message, opened for sending."""

    id: str
    address: ReplyAddress
    text: str
    attempts: int
    choices: tuple[tuple[str, str], ...] = ()  # (answer, label) for channels that show buttons


def enqueue(
    session: Session,
    secrets: crypto.ServerSecrets,
    address: ReplyAddress,
    text: str,
    choices: tuple[tuple[str, str], ...] = (),
) -> str:
    """Queue a message in the caller's transaction; returns its id."""
    message_id = str(uuid.uuid4())
    payload = json.dumps({"address": address.to_json().decode(), "text": text, "choices": choices}).encode()
    session.add(
        OutboundMessage(
            id=message_id, adapter=address.adapter, payload=crypto.encrypt_outbound(secrets, message_id, payload),
            state="pending", attempts=0, next_attempt_at=exact_now(), created_at=utcnow(),
        )
    )
    return message_id


def address_of(secrets: crypto.ServerSecrets, row: OutboundMessage) -> ReplyAddress:
    """The address a queued (or watched) message goes to, opened."""
    fields = json.loads(crypto.decrypt_outbound(secrets, row.id, row.payload))
    return ReplyAddress.from_json(fields["address"].encode())


class OutboundQueue:
    """Claims, opens and settles queued messages; each call is its own short transaction."""

    def __init__(self, sessions: sessionmaker[Session], secrets: crypto.ServerSecrets) -> None:
        self.sessions = sessions
        self.secrets = secrets

    def claim_due(self, adapters: set[str], limit: int = 100, ids: list[str] | None = None) -> list[OutboundItem]:
        """Claim up to `limit` due messages for these adapters (or exactly `ids`), oldest first."""
        now = exact_now()
        with self.sessions.begin() as session:
            query = select(OutboundMessage.id).where(
                OutboundMessage.state == "pending",
                OutboundMessage.adapter.in_(adapters),
                OutboundMessage.next_attempt_at <= now,
                or_(OutboundMessage.claimed_until.is_(None), OutboundMessage.claimed_until < now),
            )
            if ids is not None:
                query = query.where(OutboundMessage.id.in_(ids))
            # Oldest first: within a minute, the exact first attempt time keeps the order they were queued in.
            order = (OutboundMessage.created_at, OutboundMessage.next_attempt_at)
            candidates = session.execute(query.order_by(*order).limit(limit)).scalars().all()
            claimed = []
            for message_id in candidates:
                won = session.execute(
                    update(OutboundMessage)
                    .where(
                        OutboundMessage.id == message_id,
                        OutboundMessage.state == "pending",
                        or_(OutboundMessage.claimed_until.is_(None), OutboundMessage.claimed_until < now),
                    )
                    .values(claimed_until=now + CLAIM_LEASE)
                ).rowcount
                if won:
                    claimed.append(message_id)
            rows = session.execute(select(OutboundMessage).where(OutboundMessage.id.in_(claimed))).scalars().all()
            items = []
            for row in sorted(rows, key=lambda r: (as_utc(r.created_at), as_utc(r.next_attempt_at))):
                try:
                    fields = json.loads(crypto.decrypt_outbound(self.secrets, row.id, row.payload))
                except crypto.DecryptionError:
                    # Written with a data key this server no longer has: it can never be sent, and must
                    # not stop the others. Dead, kept as long as dead messages are, then purged.
                    row.state, row.claimed_until, row.last_error, row.next_attempt_at = "dead", None, "undecryptable", utcnow()
                    continue
                choices = tuple((value, label) for value, label in fields.get("choices", ()))
                items.append(OutboundItem(row.id, ReplyAddress.from_json(fields["address"].encode()), fields["text"], row.attempts, choices))
            return items

    def sent(self, message_id: str) -> None:
        """Sent: nothing of it is kept."""
        with self.sessions.begin() as session:
            session.execute(delete(OutboundMessage).where(OutboundMessage.id == message_id))

    def release(self, message_id: str, not_before: datetime) -> None:
        """Not sent now (a rate limit): back in line without counting an attempt."""
        with self.sessions.begin() as session:
            session.execute(
                update(OutboundMessage).where(OutboundMessage.id == message_id).values(claimed_until=None, next_attempt_at=not_before)
            )

    def failed(self, message_id: str, error: str, retryable: bool, max_attempts: int) -> bool:
        """Record a failed attempt; True when the message is now dead."""
        with self.sessions.begin() as session:
            row = session.get(OutboundMessage, message_id)
            if row is None:
                return False
            row.attempts += 1
            dead = not retryable or row.attempts >= max_attempts
            row.state = "dead" if dead else "pending"
            row.claimed_until = None
            row.next_attempt_at = utcnow() if dead else exact_now() + timedelta(seconds=min(2**row.attempts, MAX_BACKOFF_SECONDS))
            row.last_error = error[:200]
            return dead

    def counts(self) -> dict[str, int]:
        with self.sessions.begin() as session:
            rows = session.execute(select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)).all()
        return {state: count for state, count in rows}
