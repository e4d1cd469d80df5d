"""Times kept at rest are to the minute, as the README says: a finer time correlates with a provider's
records. Only what a retry schedule needs while a row waits is exact, and it is coarsened once the row
stops waiting (dead-lettered)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.messages import ReplyAddress
from storage.db import as_utc
from storage.models import OutboundMessage, QueuedCase
from storage.outbound import OutboundQueue, enqueue
from storage.sinks.embedded import EmbeddedQueue


def _to_the_minute(moment: datetime) -> bool:
    moment = as_utc(moment)
    return moment.second == 0 and moment.microsecond == 0


def test_the_embedded_queue_keeps_when_a_case_arrived_to_the_minute(services):
    EmbeddedQueue(services.sessions).deliver("case-1", b"sealed", False)
    with services.sessions.begin() as session:
        assert _to_the_minute(session.execute(select(QueuedCase.enqueued_at)).scalar_one())


def test_outbound_rows_keep_their_creation_to_the_minute_and_still_go_out_in_order(services):
    address = ReplyAddress("telegram", "telegram", "chat-1")
    with services.sessions.begin() as session:
        first = enqueue(session, services.secrets, address, "first")
    with services.sessions.begin() as session:
        second = enqueue(session, services.secrets, address, "second")
    queue = OutboundQueue(services.sessions, services.secrets)
    with services.sessions.begin() as session:
        rows = session.execute(select(OutboundMessage)).scalars().all()
    assert rows and all(_to_the_minute(row.created_at) for row in rows)
    assert [item.id for item in queue.claim_due({"telegram"})] == [first]  # first in, first out: one of a chat at a time
    assert queue.failed(first, "permanent", retryable=False, max_attempts=5) is True
    with services.sessions.begin() as session:
        dead = session.get(OutboundMessage, first)
    assert dead.state == "dead" and _to_the_minute(dead.next_attempt_at)
    assert [item.id for item in queue.claim_due({"telegram"})] == [second]
