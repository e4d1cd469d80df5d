"""Tables of the intake server. Every column that could identify a worker is ciphertext or a keyed hash.

Timestamps are kept to the minute: exact times would help correlate a case with
a phone company's records, and nothing here needs them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    """A worker's conversation in progress, found by the blind index of channel and address."""

    __tablename__ = "conversations"

    lookup: Mapped[str] = mapped_column(String(64), primary_key=True)
    draft: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted Draft (server data key)
    reply_address: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # encrypted
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Case(Base):
    """What the intake server keeps of a confirmed case: no content, only what STATUS needs."""

    __tablename__ = "cases"

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code_lookup: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="received")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reply_address: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # encrypted
    reply_address_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    # The worker's language, so news about the case reaches them in it (on STATUS from any channel too).
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # Did the worker agree to be contacted (the question with `grants_contact`)? Only True lets
    # the server keep a reply address and write to the worker first. None: a case from before
    # this was recorded (migration 0004 erased its address: the server could not tell).
    contact_allowed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # The worker's view of the outcome: None never asked, "asked" (resolved or closed), "given".
    feedback: Mapped[str | None] = mapped_column(String(8), nullable=True)


class AnswerWindow(Base):
    """A chat the team wrote to, which now answers into that case without STATUS (until it expires,
    NEW, or the case is closed). Found by the chat's blind index, like a conversation."""

    __tablename__ = "answer_windows"

    lookup: Mapped[str] = mapped_column(String(64), primary_key=True)
    window: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted: {case_id, language, ask}
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class CaseMessage(Base):
    """A message from the operator to the worker, shown on STATUS; encrypted under the data key."""

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id", ondelete="CASCADE"), index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxEntry(Base):
    """A sealed case waiting to be delivered to the queue; written in the confirming transaction."""

    __tablename__ = "outbox"

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)  # error type only, never content
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class InboundReceipt(Base):
    """A provider message already handled: its keyed hash, inserted atomically to deduplicate retries."""

    __tablename__ = "inbound_receipts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class MediaClaim(Base):
    """A message whose media are being cleaned, or were, found by its receipt's keyed hash: a
    provider's redelivery does not clean them again (storage/media_claims.py). No content."""

    __tablename__ = "media_claims"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # None while the cleaning runs; then "kept" (something was kept), or the reasons of the
    # refusals, comma-separated ("unreadable,too_large"), which a redelivery is told again.
    outcome: Mapped[str | None] = mapped_column(String(100), nullable=True)


class OutboundMessage(Base):
    """A message to a worker that is not the immediate HTTP reply: sent with retries, encrypted while it waits.

    One chat's messages go out one at a time, in (`seq`, `part`) order (storage/outbound.py).
    """

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_chat_seq", "chat", "seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    adapter: Mapped[str] = mapped_column(String(20))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted: reply address and text
    # pending | sent (Twilio: watched for delivery) | dead | cancelled (being sent when DELETE came)
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    chat: Mapped[str] = mapped_column(String(64))  # keyed hash of the chat (crypto.outbound_chat_lookup), never the address
    seq: Mapped[int] = mapped_column(BigInteger, index=True)  # its place in line: one more than the highest when queued
    part: Mapped[int] = mapped_column(Integer, default=0)  # the pieces of one message, in order, share its seq
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)  # error type and provider code only
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DraftMedia(Base):
    """A photo or voice note sent during a conversation, encrypted until the case is sealed with it."""

    __tablename__ = "draft_media"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lookup: Mapped[str] = mapped_column(String(64), index=True)  # the conversation it belongs to
    blob: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted: content type and bytes
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QueuedCase(Base):
    """The embedded queue: sealed cases waiting for the operator to pull them."""

    __tablename__ = "queue_cases"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(36), unique=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WorkerAnswer(Base):
    """A worker's answer into their case, sealed to the operator at once; kept until the operator acknowledges it."""

    __tablename__ = "worker_answers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # age ciphertext: the server cannot open it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A token of the operator API: only its keyed hash is kept, with a name for the people who manage it."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)  # the non-secret id inside the token
    name: Mapped[str] = mapped_column(String(60), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StatusAttempts(Base):
    """Counters of STATUS look-ups that found no case, and of look-ups refused while throttled.

    One row per scope and time window. The scope is "global" or a sender's keyed pseudonym
    (crypto.sender_pseudonym); nothing else about the sender, and never the code they tried.
    """

    __tablename__ = "status_attempts"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True, index=True)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)


class OptedOut(Base):
    """An address that opted out at the provider (Twilio STOP, or error 21610): nothing is sent to it.

    Only the keyed hash of channel and address (crypto.opt_out_lookup), never the address;
    START from that address removes the row.
    """

    __tablename__ = "opted_out"

    lookup: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChatMessageRefs(Base):
    """Ids of the messages in one chat (the worker's and the bot's) that DELETE may remove later.

    Kept beyond the conversation (the summary, the case code and the operator's messages come
    after it ends), found by a keyed hash of the chat (crypto.chat_refs_lookup), the ids and the
    minute each was sent encrypted under the data key; erased on DELETE or when `expires_at` passes.
    """

    __tablename__ = "chat_message_refs"

    lookup: Mapped[str] = mapped_column(String(64), primary_key=True)
    refs: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted JSON
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DutyPage(Base):
    """A page to the person on duty about an urgent case (storage/duty.py): no content, no address.

    `ref` is a short random reference, the only thing the page's text names; it says nothing of
    the case (neither its code nor its id), and the desk shows it beside the case. The roster's
    people and addresses are not here: `step` is a position in the roster (over its rounds).
    """

    __tablename__ = "duty_pages"

    ref: Mapped[str] = mapped_column(String(12), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)  # None: a test page
    reason: Mapped[str] = mapped_column(String(12))  # alert | answer | test
    state: Mapped[str] = mapped_column(String(14), index=True)  # open | acknowledged | unanswered | sent | failed
    step: Mapped[int] = mapped_column(Integer, default=0)
    phase: Mapped[str] = mapped_column(String(8), default="send")  # send: due to be sent; wait: sent, waiting for an acknowledgement
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # send attempts at this step
    # When the pager acts next (send, retry, escalate): exact while the page is open, to the minute once it ended.
    next_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # a desk user name


class DutyEvent(Base):
    """What happened to a page, for the desk's audit log: queued, sent, failed, escalated,
    acknowledged, unanswered. The person is named as the roster names them, the way by its kind
    (sms, telegram...), a failure by its kind; never an address or a text. Times to the minute."""

    __tablename__ = "duty_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page_ref: Mapped[str] = mapped_column(String(12), index=True)
    case_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    kind: Mapped[str] = mapped_column(String(14))
    person: Mapped[str | None] = mapped_column(String(60), nullable=True)
    way: Mapped[str | None] = mapped_column(String(10), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class CaseSender(Base):
    """Who sent a case, as the sender's keyed pseudonym (crypto.sender_pseudonym, never the address),
    kept `retention.case_sender_days` so the desk can mute a sender who abuses the hotline (storage/mutes.py)."""

    __tablename__ = "case_senders"

    case_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sender: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class MutedSender(Base):
    """A sender the desk muted (storage/mutes.py): their messages make no case and get no answer
    (danger words still get the emergency contacts) until `expires_at` or the desk unmutes them.
    The keyed pseudonym, never the address; the case the desk muted them from, to unmute by it."""

    __tablename__ = "muted_senders"

    sender: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    muted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
