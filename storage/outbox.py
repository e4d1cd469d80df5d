"""The outbox forwarder: delivers sealed cases from the outbox to the configured sink.

A confirmed case enters the outbox in the same transaction as the worker's
last answer, so it cannot be lost between the two. The forwarder then delivers
at least once, with the case id as idempotency key: a crash after delivery but
before marking it delivered only means the sink sees the same case id again.
Failures back off exponentially; after `max_attempts` a case is parked as
dead-lettered and can be retried by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from .db import utcnow
from .models import OutboxEntry

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600


class SinkError(Exception):
    """Delivery failed; `retryable` says whether trying again can help.

    `kind` is a short code (`unreachable`, `timeout`, `http_503`, `nacked`...) kept as the
    entry's last error and shown by `grievance queue status`; neither it nor the message may
    carry case content or a secret, so sinks never pass a library's error text through.
    """

    def __init__(self, message: str, retryable: bool = True, kind: str = "failed") -> None:
        super().__init__(message)
        self.retryable = retryable
        self.kind = kind


class CaseSink(Protocol):
    """Where sealed cases are delivered: storage/sinks/ (embedded table, Redis, RabbitMQ, webhook)."""

    kind: str

    def deliver(self, case_id: str, sealed: bytes, urgent: bool) -> None:
        """Deliver idempotently: the same case id twice must reach the consumer once."""


@dataclass(frozen=True)
class ForwardResult:
    delivered: int = 0
    failed: int = 0
    dead: int = 0


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, MAX_BACKOFF_SECONDS))


def forward_outbox(sessions: sessionmaker[Session], sink: CaseSink, *, max_attempts: int, batch: int = 200) -> ForwardResult:
    """Deliver every due outbox entry once; urgent cases first."""
    now = utcnow()
    # Retries are timed to the second (a backoff of 2 s must not wait for the next minute); the
    # exact time is kept only while a case waits, and put back to the minute once it is delivered.
    exact = datetime.now(UTC)
    with sessions.begin() as session:
        due = session.execute(
            select(OutboxEntry.case_id, OutboxEntry.sealed, OutboxEntry.urgent, OutboxEntry.attempts)
            .where(OutboxEntry.state == "pending", OutboxEntry.next_attempt_at <= exact)
            .order_by(OutboxEntry.urgent.desc(), OutboxEntry.created_at)
            .limit(batch)
        ).all()
    delivered = failed = dead = 0
    for case_id, sealed, urgent, attempts in due:
        try:
            sink.deliver(case_id, sealed, urgent)
        except SinkError as error:
            attempts += 1
            give_up = not error.retryable or attempts >= max_attempts
            with sessions.begin() as session:
                session.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.case_id == case_id)
                    .values(
                        attempts=attempts,
                        state="dead" if give_up else "pending",
                        next_attempt_at=exact + _backoff(attempts),
                        last_error=error.kind[:200],
                    )
                )
            dead += give_up
            failed += not give_up
            log.warning(
                "case delivery failed",
                extra={"sink": sink.kind, "reason": error.kind, "attempts": attempts, "dead": give_up},
            )
            continue
        with sessions.begin() as session:
            # The sealed copy is dropped at once: the sink has it, and less kept is less to lose.
            session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.case_id == case_id)
                .values(state="delivered", delivered_at=now, next_attempt_at=now, sealed=b"", attempts=attempts + 1)
            )
        delivered += 1
    if delivered:
        log.info("cases forwarded", extra={"sink": sink.kind, "count": delivered})
    return ForwardResult(delivered, failed, dead)


def outbox_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """How many outbox entries are in each state."""
    with sessions.begin() as session:
        rows = session.execute(select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)).all()
    return {state: count for state, count in rows}


def dead_letters(sessions: sessionmaker[Session], limit: int = 100) -> list[tuple[str, str]]:
    """(case id, last error kind) of dead-lettered cases, oldest first."""
    with sessions.begin() as session:
        rows = session.execute(
            select(OutboxEntry.case_id, OutboxEntry.last_error)
            .where(OutboxEntry.state == "dead")
            .order_by(OutboxEntry.created_at)
            .limit(limit)
        ).all()
    return [(case_id, last_error or "unknown") for case_id, last_error in rows]


def retry_dead(sessions: sessionmaker[Session]) -> int:
    """Put every dead-lettered case back in line; returns how many."""
    with sessions.begin() as session:
        result = session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.state == "dead")
            .values(state="pending", attempts=0, next_attempt_at=utcnow())
        )
        return result.rowcount
