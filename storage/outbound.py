"""The outbound queue: messages to workers that are not the immediate HTTP reply, each chat's in order.

Operator follow-ups, replies on channels that answer through an API call
(Telegram, WhatsApp Cloud, Messenger, LINE) and later reminders wait here,
address and text encrypted, until a dispatcher sends them. A dispatcher first
*claims* a message for a short lease; a process that dies mid-send leaves a
claim that simply runs out, and the message is sent again (at least once).
Failures back off exponentially; a permanent failure, or too many, parks the
message as dead.

*Order, per chat.* Each message names its chat (`chat`: a keyed hash of adapter,
channel and address, `crypto.outbound_chat_lookup`, never the address) and its
place in line (`seq`, then `part` for the pieces of one message). A dispatcher
claims only a chat's first waiting message, and only while none of that chat's
messages is out (claimed), so one chat's messages go one at a time and in order,
across threads and processes; a message waiting for a retry holds back the
later ones of its chat, never another chat's. `seq` is one more than the highest
in the table, taken in the queuing transaction: a message queued after another
one was committed comes after it. The turns of one chat are serialized by its
conversation's lock, so their replies line up in the order of the turns; two
messages queued at the same moment by transactions that do not see each other
(an operator's and a turn's) may take either order. Claims of one chat are
serialized by a transaction-level advisory lock on PostgreSQL (a dispatcher that
finds it taken leaves the chat to the one holding it) and by the write gate on
SQLite; nothing else takes that lock, so different chats never wait for each other.

*DELETE* (`cancel_queued`, in the intake's transaction): every message queued
for the chat is erased: waiting, dead, or watched for delivery. One being sent
at that moment cannot be called back: it is marked `cancelled` (its text erased
at once), so its sender deletes it from the chat where the provider allows
rather than remembering it, and it holds the chat until then, so nothing queued
before DELETE goes out after the answer to it.

*Locks on PostgreSQL, always taken in this order:* the conversation's (the
intake's turn; the dispatcher recording a Telegram message id), then this
queue's chat lock, then rows. The intake never takes the chat lock.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import ReplyAddress

from . import crypto
from .db import as_utc, utcnow
from .models import OutboundMessage

MAX_BACKOFF_SECONDS = 3600
CLAIM_LEASE = timedelta(seconds=60)
PENDING, SENT, DEAD, CANCELLED = "pending", "sent", "dead", "cancelled"
_CHAT_LOCK_SEED = 1  # the advisory lock of a chat, apart from the conversations' own (seed 0)

# Every message sent passes these: Core statements, built once (then compiled once, from the cache).
_TABLE = OutboundMessage.__table__
_INSERT = insert(_TABLE)
_HIGHEST_SEQ = select(func.max(_TABLE.c.seq))
_STATE = select(_TABLE.c.state).where(_TABLE.c.id == bindparam("b_id"))
_CHAT_LINE = (  # a chat's messages still to go, or going, in their order
    select(_TABLE.c.id, _TABLE.c.state, _TABLE.c.claimed_until, _TABLE.c.adapter, _TABLE.c.next_attempt_at,
           _TABLE.c.payload, _TABLE.c.attempts, _TABLE.c.seq, _TABLE.c.part)
    .where(_TABLE.c.chat == bindparam("b_chat"), _TABLE.c.state.in_((PENDING, CANCELLED)))
    .order_by(_TABLE.c.seq, _TABLE.c.part, _TABLE.c.next_attempt_at)
)
_CLAIM = update(_TABLE).where(_TABLE.c.id == bindparam("b_id"), _TABLE.c.state == PENDING).values(claimed_until=bindparam("b_until"))
_DELETE = delete(_TABLE).where(_TABLE.c.id == bindparam("b_id"))


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
    chat: str = ""
    seq: int = 0
    part: int = 0
    # In memory only, never stored: a provider's short-lived token to answer the worker's own
    # message with (LINE's reply token: free, where a push is counted), given by the webhook.
    reply_token: str | None = None


@dataclass(frozen=True)
class Settled:
    """What became of a message sent: `live` False when DELETE cancelled it meanwhile (or it was gone)."""

    live: bool
    next: OutboundItem | None = None  # the chat's next message, claimed, when it may go at once


class _Cancelled(Exception):
    """DELETE cancelled the message while it was being sent: what was recorded of it is undone."""


def chat_of(secrets: crypto.ServerSecrets, address: ReplyAddress) -> str:
    """The keyed hash naming the chat a message to `address` goes to."""
    return crypto.outbound_chat_lookup(secrets, address.adapter, address.channel, address.address)


def _insert(
    session: Session, secrets: crypto.ServerSecrets, address: ReplyAddress, text: str,
    choices: tuple[tuple[str, str], ...] = (), *, seq: int | None = None, part: int = 0,
    state: str = PENDING, attempts: int = 0, not_before: datetime | None = None,
) -> str:
    message_id = str(uuid.uuid4())
    payload = json.dumps({"address": address.to_json().decode(), "text": text, "choices": choices}).encode()
    connection = session.connection()
    if seq is None:  # the end of the line
        seq = (connection.execute(_HIGHEST_SEQ).scalar_one_or_none() or 0) + 1
    connection.execute(_INSERT, {
        "id": message_id, "adapter": address.adapter, "payload": crypto.encrypt_outbound(secrets, message_id, payload),
        "state": state, "attempts": attempts, "next_attempt_at": not_before or exact_now(), "created_at": utcnow(),
        "chat": chat_of(secrets, address), "seq": seq, "part": part,
    })
    return message_id


def enqueue(
    session: Session,
    secrets: crypto.ServerSecrets,
    address: ReplyAddress,
    text: str,
    choices: tuple[tuple[str, str], ...] = (),
) -> str:
    """Queue a message at the end of its chat's line, in the caller's transaction; returns its id."""
    return _insert(session, secrets, address, text, choices)


def enqueue_piece(
    session: Session, secrets: crypto.ServerSecrets, sending: OutboundItem | None, address: ReplyAddress, text: str,
    *, piece: int, state: str = PENDING, attempts: int = 0, not_before: datetime | None = None,
) -> str | None:
    """Queue a piece of the message being sent (`sending`) in that message's place in its chat's line.

    Twilio keeps each part it sent for its delivery status (`state` "sent"), and puts back the
    parts it could not send: they go before anything queued after the message. None when
    DELETE has cancelled `sending` meanwhile: nothing more of it is kept, and the caller sends
    no more of it. Without `sending` (called outside a dispatcher) the piece goes to the end of the line.
    """
    if sending is None:
        return _insert(session, secrets, address, text, state=state, attempts=attempts, not_before=not_before)
    # Locked, so a DELETE either ran before (and cancelled it) or waits for this piece and erases it too.
    current = session.execute(
        select(OutboundMessage.state).where(OutboundMessage.id == sending.id).with_for_update()
    ).scalar_one_or_none()
    if current != PENDING:
        return None
    return _insert(session, secrets, address, text, seq=sending.seq, part=sending.part + piece,
                   state=state, attempts=attempts, not_before=not_before)


def cancel_queued(session: Session, secrets: crypto.ServerSecrets, address: ReplyAddress, *, chat_erased: bool = True) -> int:
    """DELETE: erase every message queued for this chat, in the caller's transaction; returns how many.

    Waiting, dead and watched-for-delivery messages go at once. One being sent right now
    cannot be called back; it holds the chat until its sender is done, so the answer to DELETE
    goes out after it. With `chat_erased` (the conversation is erased now, not only asked
    about) it is marked cancelled and its text erased: its sender then deletes it from the chat
    where the provider allows, instead of remembering it for a DELETE that has already run.
    """
    chat, now = chat_of(secrets, address), exact_now()
    rows = session.execute(  # locked: a claim or a piece being added waits for this transaction
        select(OutboundMessage.id, OutboundMessage.state, OutboundMessage.claimed_until)
        .where(OutboundMessage.chat == chat).with_for_update()
    ).all()
    out = [row.id for row in rows if row.state in (PENDING, CANCELLED) and _leased(row.claimed_until, now)]
    if chat_erased:
        for message_id in out:
            nothing = crypto.encrypt_outbound(secrets, message_id, b"{}")
            session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id).values(state=CANCELLED, payload=nothing))
    # A new statement: it also sees a piece committed while the rows above were locked.
    erase = delete(OutboundMessage).where(OutboundMessage.chat == chat)
    if out:
        erase = erase.where(OutboundMessage.id.not_in(out))
    return session.execute(erase).rowcount + (len(out) if chat_erased else 0)


def address_of(secrets: crypto.ServerSecrets, row: OutboundMessage) -> ReplyAddress:
    """The address a queued (or watched) message goes to, opened."""
    fields = json.loads(crypto.decrypt_outbound(secrets, row.id, row.payload))
    return ReplyAddress.from_json(fields["address"].encode())


def _leased(claimed_until: datetime | None, now: datetime) -> bool:
    return claimed_until is not None and as_utc(claimed_until) > now


def _lock_chat(session: Session, chat: str, *, wait: bool) -> bool:
    """Serialize the claims of one chat (PostgreSQL, until the transaction ends); False if `wait` is off and it is taken."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: the write gate lets one write transaction run at a time already
    key = func.hashtextextended(chat, _CHAT_LOCK_SEED)
    if wait:
        session.execute(select(func.pg_advisory_xact_lock(key)))
        return True
    return bool(session.execute(select(func.pg_try_advisory_xact_lock(key))).scalar_one())


def _state(session: Session, message_id: str) -> str | None:
    return session.connection().execute(_STATE, {"b_id": message_id}).scalar_one_or_none()


class OutboundQueue:
    """Claims, opens and settles queued messages; each call is its own short transaction."""

    def __init__(self, sessions: sessionmaker[Session], secrets: crypto.ServerSecrets) -> None:
        self.sessions = sessions
        self.secrets = secrets

    def claim_due(self, adapters: set[str], limit: int = 100, ids: list[str] | None = None) -> list[OutboundItem]:
        """Claim the first message of up to `limit` chats whose turn it is (only the chats of `ids`, if given), oldest first."""
        now = exact_now()
        with self.sessions.begin() as session:
            # Cancelled while being sent by a process that never came back (its lease ran out): nothing left to do.
            session.execute(delete(OutboundMessage).where(OutboundMessage.state == CANCELLED, OutboundMessage.claimed_until <= now))
            query = select(OutboundMessage.chat).where(
                OutboundMessage.state == PENDING,
                OutboundMessage.adapter.in_(adapters),
                OutboundMessage.next_attempt_at <= now,
            )
            if ids is not None:
                query = query.where(OutboundMessage.chat.in_(select(OutboundMessage.chat).where(OutboundMessage.id.in_(ids))))
            chats = session.execute(
                query.group_by(OutboundMessage.chat).order_by(func.min(OutboundMessage.seq)).limit(limit)
            ).scalars().all()
            items = [self._claim_head(session, chat, adapters, now, wait=False) for chat in chats]
            return [item for item in items if item is not None]

    def claim_next(self, chat: str, adapters: set[str]) -> OutboundItem | None:
        """The chat's next message, claimed, if it may go now (after one was given up)."""
        with self.sessions.begin() as session:
            return self._claim_head(session, chat, adapters, exact_now(), wait=True)

    def _claim_head(self, session: Session, chat: str, adapters: set[str], now: datetime, *, wait: bool) -> OutboundItem | None:
        """Claim the chat's first waiting message if it is due and none of the chat's is out; else None."""
        if not _lock_chat(session, chat, wait=wait):
            return None  # another dispatcher is claiming or settling this chat's message right now
        connection = session.connection()
        while True:
            rows = connection.execute(_CHAT_LINE, {"b_chat": chat}).all()
            if any(_leased(row.claimed_until, now) for row in rows):
                return None  # one is being sent: the rest wait for it
            head = next((row for row in rows if row.state == PENDING), None)
            if head is None or head.adapter not in adapters or as_utc(head.next_attempt_at) > now:
                return None  # nothing waiting, or the first must wait (a retry's backoff): so must the rest
            claimed = connection.execute(_CLAIM, {"b_id": head.id, "b_until": now + CLAIM_LEASE}).rowcount
            if not claimed:  # DELETE took it meanwhile
                return None
            try:
                fields = json.loads(crypto.decrypt_outbound(self.secrets, head.id, head.payload))
            except crypto.DecryptionError:
                # Written with a data key this server no longer has: it can never be sent, and must
                # not stop the others. Dead, kept as long as dead messages are, then purged.
                session.execute(update(OutboundMessage).where(OutboundMessage.id == head.id).values(
                    state=DEAD, claimed_until=None, last_error="undecryptable", next_attempt_at=utcnow()))
                continue
            choices = tuple((value, label) for value, label in fields.get("choices", ()))
            address = ReplyAddress.from_json(fields["address"].encode())
            return OutboundItem(head.id, address, fields["text"], head.attempts, choices, chat, head.seq, head.part)

    def sent(self, message_id: str, *, chat: str | None = None, record=None, then: set[str] | None = None) -> Settled:
        """Sent: nothing of it is kept.

        `record(session)` (keeping the message's id for a later DELETE) is written in the same
        transaction, unless DELETE cancelled the message meanwhile: then `live` is False and the
        caller deletes it from the chat instead (without `record`, `live` is not looked up: True). With `then` (the adapters the caller serves),
        the chat's next message is claimed at once when it may go.
        """
        with self.sessions.begin() as session:
            live = record is None or _state(session, message_id) == PENDING  # only a record needs to know
            if live and record is not None:
                try:
                    with session.begin_nested():
                        # The record takes the conversation's lock (PostgreSQL), which a DELETE holds
                        # while it cancels: read after it, the state cannot change before this commits.
                        record(session)
                        if _state(session, message_id) != PENDING:
                            raise _Cancelled
                except _Cancelled:
                    live = False
            session.connection().execute(_DELETE, {"b_id": message_id})
            following = self._claim_head(session, chat, then, exact_now(), wait=True) if chat and then else None
        return Settled(live, following)

    def release(self, message_id: str, not_before: datetime) -> None:
        """Not sent now (a rate limit): back in line, first of its chat still, without counting an attempt."""
        with self.sessions.begin() as session:
            session.execute(
                update(OutboundMessage).where(OutboundMessage.id == message_id, OutboundMessage.state == PENDING)
                .values(claimed_until=None, next_attempt_at=not_before)
            )
            session.execute(delete(OutboundMessage).where(OutboundMessage.id == message_id, OutboundMessage.state == CANCELLED))

    def failed(self, message_id: str, error: str, retryable: bool, max_attempts: int) -> bool:
        """Record a failed attempt; True when the message will not be tried again (dead, or cancelled by DELETE)."""
        with self.sessions.begin() as session:
            row = session.get(OutboundMessage, message_id)
            if row is None:
                return False
            if row.state == CANCELLED:
                session.delete(row)
                return True
            row.attempts += 1
            dead = not retryable or row.attempts >= max_attempts
            row.state = DEAD if dead else PENDING
            row.claimed_until = None
            row.next_attempt_at = utcnow() if dead else exact_now() + timedelta(seconds=min(2**row.attempts, MAX_BACKOFF_SECONDS))
            row.last_error = error[:200]
            return dead

    def counts(self) -> dict[str, int]:
        with self.sessions.begin() as session:
            rows = session.execute(select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)).all()
        return {state: count for state, count in rows}
