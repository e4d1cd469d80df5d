"""Twilio delivery status: which failures are worth a retry, and the records that make a retry possible.

The dispatcher deletes a queued message once Twilio has *accepted* it, but
Twilio learns only later whether the phone got it (`POST /webhooks/twilio/status`,
MessageStatus `delivered`, `undelivered` or `failed` with an ErrorCode). To
retry then, something must still hold the text. So each message sent through
the REST API gets a *delivery watch*: a row of the outbound queue in state
`sent` (address and text encrypted like any queued message, never picked up by
the dispatcher), whose id travels in the status callback URL (`?ob=<id>`).

- `delivered` / `read`: the watch is deleted; nothing is kept.
- `undelivered` / `failed` with a retryable code (`RETRYABLE`): the watch turns
  back into a pending message after a delay, and the dispatcher sends it again.
  Attempts are counted across resends (the dispatcher's own attempts included);
  after `MAX_DELIVERY_ATTEMPTS` it is dead.
- any other code: dead at once (each retry is a paid message that would fail
  again). Dead rows are purged by retention after a week.
- no final status within `retention.sent_outbound_hours` (many SMS carriers never
  confirm delivery): the watch is erased by retention (`storage/retention.py`).

Replies given inline as TwiML are not watched: the worker's next message gets
the next reply anyway.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import ReplyAddress
from storage import crypto
from storage.models import OutboundMessage
from storage.opt_outs import OptOuts
from storage.outbound import OutboundItem, address_of, enqueue_piece, exact_now

ADAPTER = "twilio"
OPTED_OUT_CODE = 21610  # the recipient replied STOP: nothing reaches them until they send START
MAX_DELIVERY_ATTEMPTS = 6
RETRY_DELAYS = (timedelta(minutes=2), timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4))

# Delivery errors (status callbacks) after which the same message may well get through later.
RETRYABLE: dict[int, str] = {
    30001: "queue overflow (sent faster than the number's throughput)",
    30003: "unreachable handset (switched off, no signal)",
    30008: "unknown error",
    30009: "missing segment",
    30017: "carrier network congestion",
    30022: "US A2P 10DLC throughput exceeded",
    30036: "validity period expired while queued",
    63018: "WhatsApp rate limit exceeded",
    63038: "daily message limit of the account reached",
}
# Failures a retry cannot fix; listed for the record: any code not in RETRYABLE is treated so.
PERMANENT: dict[int, str] = {
    21610: "the recipient replied STOP (opted out until they send START)",
    30002: "account suspended",
    30004: "message blocked by the recipient or carrier",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "filtered by the carrier",
    30010: "price exceeds the maximum price",
    30034: "US A2P 10DLC sender not registered",
    63003: "number not on WhatsApp",
    63016: "WhatsApp message outside the 24-hour window (a template is needed)",
    63024: "invalid WhatsApp recipient",
    63049: "Meta chose not to deliver the message",
}

DELIVERED = frozenset({"delivered", "read"})
FAILED = frozenset({"failed", "undelivered"})
STATUSES = frozenset({"accepted", "scheduled", "queued", "sending", "sent", "canceled", "partially_delivered", *DELIVERED, *FAILED})
_WATCH_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def error_code(value: str | None) -> int | None:
    """Twilio's ErrorCode as a number (None when absent or not a number)."""
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 6 else None


def delivery_retryable(code: int | None) -> bool:
    return code in RETRYABLE


class DeliveryWatch:
    """Delivery watches in the outbound queue table (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session], secrets: crypto.ServerSecrets, public_url: str) -> None:
        self.sessions = sessions
        self.secrets = secrets
        self.callback_base = public_url.rstrip("/") + "/webhooks/twilio/status?ob="

    def open(self, address: ReplyAddress, text: str, attempts: int, sending: OutboundItem | None = None,
             piece: int = 0) -> tuple[str, str] | None:
        """Record a message about to be sent, the `piece`-th part of the queued message `sending`, in
        that message's place in its chat's line (a retry goes before what was queued after it);
        returns its watch id and the status callback URL. None: DELETE cancelled `sending`, send no more of it."""
        with self.sessions.begin() as session:
            watch_id = enqueue_piece(session, self.secrets, sending, address, text, piece=piece, state="sent", attempts=attempts)
        return None if watch_id is None else (watch_id, self.callback_base + watch_id)

    def opted_out(self, address: ReplyAddress) -> bool:
        """Did this address opt out (STOP, or an earlier error 21610)?"""
        with self.sessions.begin() as session:
            return OptOuts(session, self.secrets).is_opted_out(address)

    def mark_opted_out(self, address: ReplyAddress) -> None:
        """Twilio refused a message because the recipient opted out: send them nothing more."""
        with self.sessions.begin() as session:
            OptOuts(session, self.secrets).opt_out(address.channel, address.address, exact_now())

    def discard(self, watch_id: str) -> None:
        """The send failed before Twilio took the message: the dispatcher retries it, not the watch."""
        with self.sessions.begin() as session:
            session.execute(delete(OutboundMessage).where(OutboundMessage.id == watch_id, OutboundMessage.state == "sent"))

    def requeue(self, address: ReplyAddress, texts: list[str], attempts: int, delay: timedelta,
                sending: OutboundItem | None = None, first_piece: int = 0) -> None:
        """Parts of a split message that were not sent go back in the queue as messages of their own,
        in the message's place in its chat's line (nothing queued after it overtakes them); not if
        DELETE cancelled it."""
        not_before = exact_now() + delay
        with self.sessions.begin() as session:
            for offset, text in enumerate(texts):
                if enqueue_piece(session, self.secrets, sending, address, text, piece=first_piece + offset,
                                 attempts=attempts, not_before=not_before) is None:
                    return

    def settle(self, watch_id: str | None, status: str, code: int | None) -> str:
        """Apply one status callback; returns what happened (for the log): delivered, retry, dead, untracked, progress."""
        if status not in DELIVERED and status not in FAILED:
            return "progress"
        if not watch_id or not _WATCH_ID.match(watch_id):
            return "untracked"
        with self.sessions.begin() as session:
            row = session.execute(select(OutboundMessage).where(OutboundMessage.id == watch_id).with_for_update()).scalar_one_or_none()
            if row is None or row.adapter != ADAPTER or row.state != "sent":
                return "untracked"  # already settled, expired, or a duplicate callback
            if status in DELIVERED:
                session.delete(row)
                return "delivered"
            row.attempts += 1
            row.claimed_until = None
            row.last_error = f"twilio delivery error {code}" if code else "twilio delivery failed"
            if code == OPTED_OUT_CODE:  # reported late: the recipient opted out
                address = address_of(self.secrets, row)
                OptOuts(session, self.secrets).opt_out(address.channel, address.address, exact_now())
            if delivery_retryable(code) and row.attempts < MAX_DELIVERY_ATTEMPTS:
                row.state = "pending"
                row.next_attempt_at = exact_now() + RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
                return "retry"
            row.state = "dead"
            return "dead"
