"""One contract for every case sink, run against the real servers: embedded table, Redis, RabbitMQ, webhook.

Each test confirms real cases through the intake, forwards them with the real
forwarder to a sink built from the config (`queue.kind`), and counts what the
consumer actually received: for the brokers, `pull_cases` into a real
OperatorStore through a counting source; for the webhook, the operator's HTTPS
receiver. "Down" is a TCP proxy in front of the shared server that drops every
connection (the shared servers are never stopped). The embedded queue lives in
the outbox's own database: it is down only when the whole server is, so the
tests of a sink being down are run for the three networked sinks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, update

from bot.messages import InboundMessage
from storage.keys import intake_signing_public_keys, load_operator_identity
from storage.models import OutboxEntry
from desk.operator_store import OperatorStore
from storage.outbox import dead_letters, forward_outbox, outbox_counts, retry_dead
from desk.pull import pull_cases
from storage.sinks import make_sink, make_source
from storage.sinks.source import QueuedItem

from sink_servers import (
    REDIS_PORT, RABBITMQ_PORT, WEBHOOK_SECRET, ToggleProxy, WebhookReceiver, ensure_rabbitmq, ensure_redis,
    rabbitmq_cleanup, redis_cleanup,
)
from worker_scripts import ENGLISH_INTAKE

ALL_KINDS = ["embedded", "redis", "rabbitmq", "webhook"]
NETWORKED_KINDS = ["redis", "rabbitmq", "webhook"]


def confirm_case(services, sender: str, urgent: bool = False) -> str:
    """A worker reports through the real intake; returns the case id that entered the outbox."""
    script = list(ENGLISH_INTAKE)
    if urgent:
        script[script.index("2")] = "1"  # someone is in danger now
    before = _outbox_ids(services)
    for text in script + ["1"]:
        services.intake.receive(InboundMessage(channel="sms", sender=sender, text=text))
    (case_id,) = _outbox_ids(services) - before
    return case_id


def _outbox_ids(services) -> set[str]:
    with services.sessions.begin() as session:
        return set(session.execute(select(OutboxEntry.case_id)).scalars())


def make_due(services) -> None:
    """Skip the backoff wait: every pending entry is due now."""
    with services.sessions.begin() as session:
        session.execute(update(OutboxEntry).values(next_attempt_at=OutboxEntry.created_at))


class CountingSource:
    """Wraps a real CaseSource and records every case id it hands to the puller (duplicates included)."""

    def __init__(self, source) -> None:
        self.source, self.received = source, []
        self.kind = source.kind

    def fetch(self, limit: int) -> list[QueuedItem]:
        items = self.source.fetch(limit)
        self.received += [item.case_id for item in items]
        return items

    def ack(self, item) -> None:
        self.source.ack(item)

    def release(self, item) -> None:
        self.source.release(item)

    def close(self) -> None:
        self.source.close()


@dataclass
class Harness:
    """A sink as the server uses it, the consumer on the other side, and a switch for the sink's server."""

    kind: str
    producer_dedups: bool  # the broker itself keeps a case id once (else the consumer's store does)
    sink: object
    consume: object  # () -> case ids received by this call, duplicates included
    kept: object  # () -> case ids the consumer keeps
    proxy: ToggleProxy | None = None
    cleanups: list = field(default_factory=list)

    def down(self) -> None:
        self.proxy.down()

    def up(self) -> None:
        self.proxy.up()


def _pulling_consumer(settings, sessions, identity, store):
    def consume() -> list[str]:
        source = CountingSource(make_source(settings, sessions))
        try:
            pull_cases(source, store, identity, signing_keys=intake_signing_public_keys(settings))
        finally:
            source.close()
        return source.received

    return consume


def build_harness(kind: str, services, settings_with, tmp_path) -> Harness:
    """Producer settings through a proxy (so the test can take it down); the consumer straight to the server."""
    identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
    store = OperatorStore(tmp_path / "operator-store.db", identity)
    name = f"test-{uuid.uuid4().hex[:12]}"
    if kind == "embedded":
        sink = make_sink(services.settings, services.sessions)
        harness = Harness(kind, True, sink, _pulling_consumer(services.settings, services.sessions, identity, store), None)
    elif kind == "redis":
        ensure_redis()
        proxy = ToggleProxy(REDIS_PORT)
        redis_settings = {"stream": name, "timeout_seconds": 2}
        producer = settings_with(queue={"kind": "redis", "redis": {**redis_settings, "url": f"redis://127.0.0.1:{proxy.port}/0"}})
        consumer = settings_with(queue={"kind": "redis", "redis": {**redis_settings, "consumer": "operator-1"}})
        harness = Harness(kind, True, make_sink(producer, services.sessions), _pulling_consumer(consumer, None, identity, store), None, proxy)
        harness.cleanups.append(lambda: redis_cleanup(name))
    elif kind == "rabbitmq":
        ensure_rabbitmq()
        proxy = ToggleProxy(RABBITMQ_PORT)
        producer = settings_with(queue={"kind": "rabbitmq", "rabbitmq": {"url": f"amqp://127.0.0.1:{proxy.port}/%2F", "queue": name, "timeout_seconds": 2}})
        consumer = settings_with(queue={"kind": "rabbitmq", "rabbitmq": {"queue": name}})
        harness = Harness(kind, False, make_sink(producer, services.sessions), _pulling_consumer(consumer, None, identity, store), None, proxy)
        harness.cleanups.append(lambda: rabbitmq_cleanup(name))
    else:
        receiver = WebhookReceiver(tmp_path / "receiver", WEBHOOK_SECRET)
        proxy = ToggleProxy(receiver.port)
        secret_file = services.settings.path("keys/webhook-secret")
        secret_file.write_text(WEBHOOK_SECRET + "\n")
        secret_file.chmod(0o600)
        producer = settings_with(queue={"kind": "webhook", "webhook": {
            "url": f"https://127.0.0.1:{proxy.port}/cases", "secret": {"file": "keys/webhook-secret"},
            "ca_file": str(receiver.cert_file), "timeout_seconds": 2,
        }})
        seen = {"count": 0}

        def consume() -> list[str]:
            new = receiver.posts[seen["count"]:]
            seen["count"] = len(receiver.posts)
            return new

        harness = Harness(kind, False, make_sink(producer, services.sessions), consume, lambda: list(receiver.kept), proxy)
        harness.cleanups.append(receiver.close)
    if kind != "webhook":
        harness.kept = lambda: [summary.case_id for summary in store.summaries()]
    harness.cleanups.append(store.close)
    if harness.proxy is not None:
        harness.cleanups.append(harness.proxy.close)
    close = getattr(harness.sink, "close", None)
    if close is not None:
        harness.cleanups.insert(0, close)
    return harness


@pytest.fixture
def harness(request, services, settings_with, tmp_path) -> Iterator[Harness]:
    built = build_harness(request.param, services, settings_with, tmp_path)
    yield built
    for cleanup in built.cleanups:
        cleanup()


@pytest.mark.parametrize("harness", ALL_KINDS, indirect=True)
def test_every_case_reaches_the_consumer_once_urgent_first(harness, services):
    ids = {confirm_case(services, "+8801711000001"), confirm_case(services, "+8801711000002")}
    urgent_id = confirm_case(services, "+8801711000003", urgent=True)
    assert forward_outbox(services.sessions, harness.sink, max_attempts=3).delivered == 3
    received = harness.consume()
    assert received[0] == urgent_id
    assert sorted(received) == sorted(ids | {urgent_id})  # each once
    assert sorted(harness.kept()) == sorted(ids | {urgent_id})
    assert harness.consume() == []  # acknowledged: nothing comes again
    assert outbox_counts(services.sessions) == {"delivered": 3}


@pytest.mark.parametrize("harness", NETWORKED_KINDS, indirect=True)
def test_a_sink_that_is_down_keeps_cases_pending_and_they_arrive_once_when_it_is_back(harness, services):
    ids = {confirm_case(services, "+8801711000001"), confirm_case(services, "+8801711000002")}
    harness.down()
    result = forward_outbox(services.sessions, harness.sink, max_attempts=5)
    assert (result.delivered, result.failed, result.dead) == (0, 2, 0)
    assert outbox_counts(services.sessions) == {"pending": 2}
    assert harness.consume() == []
    harness.up()
    make_due(services)
    assert forward_outbox(services.sessions, harness.sink, max_attempts=5).delivered == 2
    assert sorted(harness.consume()) == sorted(ids)  # every case, none twice
    assert sorted(harness.kept()) == sorted(ids)


@pytest.mark.parametrize("harness", ALL_KINDS, indirect=True)
def test_a_redelivery_after_a_crash_leaves_the_consumer_with_the_case_once(harness, services):
    case_id = confirm_case(services, "+8801711000001")
    with services.sessions.begin() as session:
        sealed = session.get(OutboxEntry, case_id).sealed
    assert forward_outbox(services.sessions, harness.sink, max_attempts=3).delivered == 1
    # The forwarder crashed after delivering, before marking: the entry is pending again.
    with services.sessions.begin() as session:
        session.execute(update(OutboxEntry).values(state="pending", sealed=sealed))
    assert forward_outbox(services.sessions, harness.sink, max_attempts=3).delivered == 1
    received = harness.consume()
    assert received == ([case_id] if harness.producer_dedups else [case_id, case_id])
    assert harness.kept() == [case_id]


@pytest.mark.parametrize("harness", NETWORKED_KINDS, indirect=True)
def test_dead_letter_after_max_attempts_then_retry_delivers_once(harness, services):
    case_id = confirm_case(services, "+8801711000001")
    harness.down()
    assert forward_outbox(services.sessions, harness.sink, max_attempts=2).failed == 1
    make_due(services)
    assert forward_outbox(services.sessions, harness.sink, max_attempts=2).dead == 1
    assert outbox_counts(services.sessions) == {"dead": 1}
    assert dead_letters(services.sessions) == [(case_id, "unreachable")]
    harness.up()
    make_due(services)
    assert forward_outbox(services.sessions, harness.sink, max_attempts=2).delivered == 0  # dead stays dead
    assert retry_dead(services.sessions) == 1
    assert forward_outbox(services.sessions, harness.sink, max_attempts=2).delivered == 1
    assert harness.consume() == [case_id]
    assert harness.kept() == [case_id]
