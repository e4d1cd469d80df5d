"""Crashes and outages under load, against the real server (`grievance serve`: gunicorn and the forwarder).

* The whole server is killed with SIGKILL mid-load: every message answered with a 2xx is in
  the store, and after a restart (the load generator resending what got no 2xx, as Twilio
  does) every confirmed case reaches the operator exactly once.
* The forwarder is killed in the middle of a delivery: after a restart every case is
  delivered, and the receiver keeps each once (the one delivered twice is counted).
* PostgreSQL stops under load (a private cluster: the shared one is never stopped): webhooks
  answer 503, never a 2xx for a message not stored, never a 500; it comes back and the same
  server, not restarted, stores the retried messages and delivers every case.
* Redis or RabbitMQ goes away under load (a TCP proxy in front of the shared broker is cut:
  RabbitMQ itself is not stopped, starting a private broker takes too long for a test):
  workers keep getting answers, cases wait in the outbox and arrive once when it is back.

Nothing here passes on timing: each step waits for a condition, with a generous timeout.
"""

from __future__ import annotations

import io
import json
import os
import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest

from bench import loadgen
from bench.http_bench import make_deployment
from storage import crypto
from storage.sinks import make_source
from storage.sinks.embedded import EmbeddedQueue
from tests.outage_support import (
    CONFIRM_STEP,
    WORKPLACE_STEP,
    Load,
    PrivatePostgres,
    Server,
    Store,
    health,
    kill_group,
    pull_into_store,
    script_for,
    unit_of,
    wait_for,
    workplace_of,
)
from tests.sink_servers import (
    RABBITMQ_PORT,
    REDIS_PORT,
    WEBHOOK_SECRET,
    ToggleProxy,
    WebhookReceiver,
    ensure_rabbitmq,
    ensure_redis,
    rabbitmq_cleanup,
    redis_cleanup,
)

INTAKE_LENGTH = len(loadgen.INTAKE)


def fast_forwarder(config: dict) -> None:
    config["server"]["forward_interval_seconds"] = 0.5
    # The forwarder also purges when it starts: delivered markers must stay for the test to count them.
    config.setdefault("retention", {})["delivered_outbox_hours"] = 24


def deploy(tmp_path: Path, db: str, **options):
    """A deployment folder of `bench.http_bench` (Twilio enabled, `grievance init` run)."""
    root = tmp_path / "deployment"
    root.mkdir()
    return make_deployment(root, db, **options)


def all_forwarded(store: Store) -> bool:
    """Nothing left to deliver (delivered entries may have been purged already), nothing dead."""
    return set(store.outbox_states()) <= {"delivered"}


def every_case_once(units: Counter[int], workers: int) -> None:
    assert units == Counter(range(workers)), (
        f"lost: {sorted(set(range(workers)) - set(units))}, twice or more: {sorted(u for u, n in units.items() if n > 1)}"
    )


# ---------------------------------------------------------------- the server killed mid-load


def check_after_crash(store: Store, conversations: list[loadgen.Conversation]) -> None:
    """What must hold in the store of a server that died: each 2xx is stored, each confirmation has its case."""
    assert store.missing_receipts(conversations) == [], "a message answered with a 2xx is not in the store"
    drafts = store.drafts(conversations)
    units = store.sealed_units()
    # Delivered entries may already be purged (the forwarder purges when it starts); the other way
    # round, a case in the outbox without a sealed copy in the outbox or the queue would be lost.
    assert store.outbox_case_ids() <= set(units), "a case in the outbox has no sealed copy left anywhere"
    cases_of = Counter(units.values())
    assert all(count == 1 for count in cases_of.values()), "two cases for one conversation"
    for c in conversations:
        if c.acked == INTAKE_LENGTH:  # the confirmation was answered: its case exists, the draft is gone
            assert cases_of[c.index] == 1 and drafts[c.index] is None, c.index
        elif cases_of[c.index]:  # confirmed, but the answer was lost with the server: only the last message
            assert c.acked == CONFIRM_STEP, c.index
        elif c.acked:
            draft = drafts[c.index]
            assert draft is not None, f"worker {c.index}: {c.acked} answered messages, no draft"
            if c.acked > WORKPLACE_STEP:
                assert draft.answers["workplace"] == workplace_of(c.index)


def test_server_killed_mid_load_loses_no_answered_message_and_no_case(tmp_path):
    workers, concurrency = 40, 20
    deployment = deploy(tmp_path, "sqlite", configure=fast_forwarder)
    server = Server(deployment).start()
    store = Store(deployment)
    try:
        conversations = loadgen.build_conversations("127.0.0.1", server.port, workers, script=script_for)
        load = Load(server.port, conversations, concurrency).start()
        # Kill once the first conversations are confirmed and the next ones are halfway.
        wait_for(lambda: sum(c.acked == INTAKE_LENGTH for c in conversations) >= 8
                 and load.answered() >= 0.6 * load.total(), 90, "the load to get going")
        server.kill9()
        load.stop()
        answered_before = load.answered()
        assert 0 < answered_before < load.total()

        check_after_crash(store, conversations)

        # The check itself can fail: a "2xx" for a message the server never saw is caught.
        ghost = loadgen.Conversation("+8801799999999", [b""], sids=["SM" + "0" * 32], index=999, acked=1)
        assert store.missing_receipts([ghost]) == [(999, 0)]

        server.start()  # same deployment, same port
        load.start()
        wait_for(load.done, 120, "every conversation to be answered to the end after the restart")
        load.join()
        wait_for(lambda: all_forwarded(store), 60, "every case to be forwarded")
        assert store.missing_receipts(conversations) == []
        assert store.queue_case_count() == workers  # what the queue received: one row per case

        units, pulled = pull_into_store(EmbeddedQueue(store.sessions), store.identity, tmp_path / "operator.db", store.signing_keys)
        every_case_once(units, workers)
        assert pulled == workers and store.queue_case_count() == 0
    finally:
        server.stop()
        store.close()


# ---------------------------------------------------------------- the forwarder killed mid-delivery


class HeldReceiver:
    """The operator's webhook receiver (tests/sink_servers.py), holding one POST until released."""

    def __init__(self, folder: Path, hold_at: int) -> None:
        self.receiver = WebhookReceiver(folder, WEBHOOK_SECRET)
        self.holding, self.release = threading.Event(), threading.Event()
        seen = {"count": 0}
        lock = threading.Lock()
        base = self.receiver._server.RequestHandlerClass
        held = self

        class Handler(base):
            def do_POST(self) -> None:
                with lock:
                    seen["count"] += 1
                    mine = seen["count"]
                if mine == hold_at:
                    # The whole request is read first (the case has arrived), then the answer is held:
                    # the forwarder dies waiting for it, and the receiver keeps the case all the same.
                    self.rfile = io.BytesIO(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                    held.holding.set()
                    held.release.wait(30)
                try:
                    super().do_POST()
                except OSError:
                    pass  # the answer cannot reach a forwarder that died

        self.receiver._server.RequestHandlerClass = Handler

    def close(self) -> None:
        self.release.set()
        self.receiver.close()


def fill_outbox(deployment, count: int) -> None:
    """`count` confirmed cases in the outbox, through the real intake in this process."""
    from bot.config import load_settings
    from bot.intake import Intake
    from bot.i18n import Catalogs
    from bot.messages import InboundMessage
    from nlu.backends import make_understander
    from storage.db import make_engine, migrate, session_factory
    from storage.keys import load_server_secrets

    settings = load_settings(deployment.config)
    engine = make_engine(settings.database_url)
    migrate(engine)
    intake = Intake(settings, load_server_secrets(settings), session_factory(engine), Catalogs(settings.deployment.languages),
                    make_understander(settings.nlu))
    try:
        for index in range(count):
            for text in script_for(index):
                intake.receive(InboundMessage(channel="sms", sender=loadgen.worker_number(index), text=text,
                                              adapter="twilio", provider_id="SM" + uuid.uuid4().hex))
    finally:
        engine.dispose()


def test_forwarder_killed_mid_delivery_delivers_every_case_and_the_receiver_keeps_each_once(tmp_path):
    cases, hold_at = 30, 10
    held = HeldReceiver(tmp_path / "receiver", hold_at)
    receiver = held.receiver

    def webhook(config: dict) -> None:
        config["queue"].update(kind="webhook", webhook={
            "url": f"https://127.0.0.1:{receiver.port}/intake", "secret": {"env": "GRIEVANCE_WEBHOOK_SECRET"},
            "ca_file": str(receiver.cert_file), "timeout_seconds": 30,
        })
        fast_forwarder(config)

    os.environ["GRIEVANCE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    try:
        deployment = deploy(tmp_path, "sqlite", configure=webhook)
    finally:
        del os.environ["GRIEVANCE_WEBHOOK_SECRET"]
    deployment.env["GRIEVANCE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    fill_outbox(deployment, cases)
    store = Store(deployment)
    forwarder = None
    try:
        assert store.outbox_states() == Counter({"pending": cases})
        all_ids = store.outbox_case_ids()
        forwarder = deployment.start("forward", "--loop", start_new_session=True)
        assert held.holding.wait(60), "the forwarder never reached the held delivery"
        kill_group(forwarder)  # SIGKILL while it waits for the receiver's answer, mid-batch
        held.release.set()
        wait_for(lambda: len(receiver.posts) == hold_at, 10, "the held delivery to be recorded by the receiver")
        states = store.outbox_states()
        assert states == Counter({"delivered": hold_at - 1, "pending": cases - hold_at + 1}), states
        interrupted = receiver.posts[-1]

        forwarder = deployment.start("forward", "--loop", start_new_session=True)
        wait_for(lambda: all_forwarded(store), 60, "every case to be delivered")
        raw, unique = Counter(receiver.posts), set(receiver.kept)
        # Raw deliveries: one more than the cases, the interrupted one twice; the receiver keeps each once.
        assert len(receiver.posts) == cases + 1 and {c for c, n in raw.items() if n > 1} == {interrupted}
        assert unique == all_ids and len(unique) == cases
        units = Counter(unit_of(json.loads(crypto.open_case([store.identity], sealed))) for sealed in receiver.kept.values())
        every_case_once(units, cases)
    finally:
        if forwarder is not None:
            kill_group(forwarder)
        held.close()
        store.close()


# ---------------------------------------------------------------- PostgreSQL stops under load


@pytest.fixture
def private_postgres():
    cluster = PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def test_postgresql_stopped_under_load_answers_503_then_recovers_without_restart(tmp_path, private_postgres):
    workers = 30
    deployment = deploy(tmp_path, "postgresql", database_url=private_postgres.url,
                                 configure=fast_forwarder)
    server = Server(deployment).start()
    store = Store(deployment)
    try:
        conversations = loadgen.build_conversations("127.0.0.1", server.port, workers, script=script_for)
        load = Load(server.port, conversations, concurrency=workers).start()
        wait_for(lambda: load.answered() >= 0.3 * load.total(), 90, "the load to get going")
        private_postgres.stop()
        refused = lambda: sum(len(c.refusals) for c in conversations)  # noqa: E731
        wait_for(lambda: refused() >= 2 * workers, 60, "webhooks to be refused while the database is down")
        status, body = health(server.port)
        assert (status, body) == (503, {"status": "unavailable"})
        answered_while_down = load.answered()
        private_postgres.start()

        wait_for(load.done, 120, "every conversation to be answered to the end once the database is back")
        load.join()
        assert load.answered() > answered_while_down
        assert health(server.port)[0] == 200
        refusals = [r for c in conversations for r in c.refusals]
        assert refusals and {status for status, _ in refusals} == {503}, Counter(status for status, _ in refusals)
        assert {body for _, body in refusals} == {b"temporarily unavailable, please retry"}
        assert store.missing_receipts(conversations) == []
        wait_for(lambda: all_forwarded(store), 90, "every case to be forwarded")
        units, _ = pull_into_store(EmbeddedQueue(store.sessions), store.identity, tmp_path / "operator.db", store.signing_keys)
        every_case_once(units, workers)
        assert server.process.poll() is None  # the same server all along
    finally:
        server.stop()
        store.close()


# ---------------------------------------------------------------- a broker away under load


def broker_queue(kind: str, proxy_port: int, name: str):
    def configure(config: dict) -> None:
        if kind == "redis":
            config["queue"]["redis"].update(url=f"redis://127.0.0.1:{proxy_port}/0", stream=name, consumer="crash-test",
                                            timeout_seconds=2)
        else:
            config["queue"]["rabbitmq"].update(url=f"amqp://127.0.0.1:{proxy_port}/%2F", queue=name, timeout_seconds=2)
        config["queue"]["kind"] = kind
        fast_forwarder(config)

    return configure


def broker_depth(kind: str, name: str) -> int:
    if kind == "redis":
        import redis

        client = redis.Redis(host="127.0.0.1", port=REDIS_PORT)
        try:
            return client.xlen(name) + client.xlen(f"{name}:urgent")
        finally:
            client.close()
    import pika

    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", RABBITMQ_PORT))
    try:
        channel = connection.channel()
        return sum(channel.queue_declare(q, passive=True).method.message_count for q in (name, f"{name}.urgent"))
    finally:
        connection.close()


class BrokerAway:
    """One deployment whose queue is Redis or RabbitMQ behind a proxy that is cut, under load."""

    def __init__(self, kind: str, tmp_path: Path, workers: int) -> None:
        (ensure_redis if kind == "redis" else ensure_rabbitmq)()
        self.kind, self.workers = kind, workers
        self.name = f"crash-{kind}-{uuid.uuid4().hex[:8]}"
        self.proxy = ToggleProxy(REDIS_PORT if kind == "redis" else RABBITMQ_PORT)
        folder = tmp_path / kind
        folder.mkdir()
        self.deployment = deploy(folder, "sqlite", configure=broker_queue(kind, self.proxy.port, self.name))
        self.server = Server(self.deployment).start()
        self.store = Store(self.deployment)
        self.conversations = loadgen.build_conversations("127.0.0.1", self.server.port, workers, script=script_for)
        self.load = Load(self.server.port, self.conversations, concurrency=workers)

    def close(self) -> None:
        self.server.stop()
        self.store.close()
        self.proxy.close()
        (redis_cleanup if self.kind == "redis" else rabbitmq_cleanup)(self.name)


def test_redis_and_rabbitmq_away_under_load_intake_keeps_answering_and_cases_arrive_once(tmp_path):
    # Both brokers in one test, side by side: the outages and the waits for retries overlap.
    workers, early, before_cut = 30, 3, 10
    scenarios = []
    try:
        for kind in ("redis", "rabbitmq"):
            scenarios.append(BrokerAway(kind, tmp_path, workers))
        for each in scenarios:
            # A few whole conversations first: their cases go through, so the forwarder holds a live
            # connection to the broker when it goes away.
            Load(each.server.port, each.conversations[:early], early).start().join()
            wait_for(lambda: each.store.outbox_states() == Counter({"delivered": early}), 60,
                     f"the first cases to reach {each.kind} (outbox now: {{states}})", states=each.store.outbox_states)
            # Everyone else halfway through (no case confirmed yet), so that every later case is
            # confirmed while the broker is away, whatever the timing.
            each.load.start(until=before_cut)
        for each in scenarios:
            each.load.join()
            each.proxy.down()
            each.load.start()
        for each in scenarios:
            wait_for(each.load.done, 120, f"every conversation to be answered while {each.kind} is away")
            each.load.join()
            assert all(c.refusals == [] for c in each.conversations), f"a message was refused because {each.kind} was away"
            assert each.store.missing_receipts(each.conversations) == []
        for each in scenarios:
            # The cases wait in the outbox: each tried at least once, none delivered, none given up.
            waiting = Counter({"delivered": early, "pending": workers - early})
            wait_for(lambda: each.store.outbox_states() == waiting and each.store.failed_attempts() == workers - early,
                     60, f"every later case to have failed a delivery while {each.kind} is away")
        for each in scenarios:
            each.proxy.up()
        for each in scenarios:
            wait_for(lambda: all_forwarded(each.store), 150, f"every case to be delivered to {each.kind}")
            assert broker_depth(each.kind, each.name) == workers  # what the queue received: each case once
            source = make_source(each.store.settings, each.store.sessions)
            try:
                units, pulled = pull_into_store(source, each.store.identity, tmp_path / f"operator-{each.kind}.db", each.store.signing_keys)
            finally:
                source.close()
            every_case_once(units, workers)
            assert pulled == workers and broker_depth(each.kind, each.name) == 0
    finally:
        for each in scenarios:
            each.close()
