"""What each sink does beyond the shared contract, against the real servers: Redis taking over a dead
consumer's cases, RabbitMQ giving back what a consumer never acknowledged, the webhook's signature and
answers, the `queue` section of the config, `grievance queue status|retry` and `grievance cases pull`."""

from __future__ import annotations

import time
import uuid

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import cli
from bot.config import ConfigError, settings_from_mapping
from storage import crypto
from storage.keys import intake_signing_public_keys, load_operator_identity
from desk.operator_store import OperatorStore, store_location
from storage.outbox import SinkError, forward_outbox
from storage.sinks import make_sink
from storage.sinks.rabbitmq import RabbitQueue
from storage.sinks.redis_streams import RedisStreamsQueue
from storage.sinks.webhook import WebhookSink

from conftest import make_config
from sink_servers import REDIS_PORT, WEBHOOK_SECRET, WebhookReceiver, ensure_rabbitmq, ensure_redis, rabbitmq_cleanup, redis_cleanup
from worker_scripts import ENGLISH_INTAKE


@pytest.fixture
def stream_name():
    ensure_redis()
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    redis_cleanup(name)


@pytest.fixture
def queue_name():
    ensure_rabbitmq()
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    rabbitmq_cleanup(name)


def redis_queue(stream: str, consumer: str, claim_idle_seconds: float = 300) -> RedisStreamsQueue:
    return RedisStreamsQueue(
        f"redis://127.0.0.1:{REDIS_PORT}/0", stream=stream, consumer=consumer, claim_idle_seconds=claim_idle_seconds
    )


def rabbit_queue(queue: str) -> RabbitQueue:
    return RabbitQueue.from_url("amqp://127.0.0.1:5672/%2F", password=None, queue=queue, timeout_seconds=5)


# ---------------------------------------------------------------- Redis


def test_redis_takes_over_the_pending_cases_of_a_consumer_that_died(stream_name):
    producer = redis_queue(stream_name, "server")
    producer.deliver("case-1", b"sealed-1", False)
    producer.deliver("case-2", b"sealed-2", True)
    dead = redis_queue(stream_name, "laptop-a")
    assert [item.case_id for item in dead.fetch(10)] == ["case-2", "case-1"]  # urgent first
    dead.close()  # gone without acknowledging: both cases are pending on laptop-a

    survivor = redis_queue(stream_name, "laptop-b", claim_idle_seconds=0.5)
    assert survivor.fetch(10) == []  # not idle long enough: laptop-a may still be working on them
    time.sleep(0.7)
    taken = survivor.fetch(10)
    assert sorted(item.case_id for item in taken) == ["case-1", "case-2"]
    assert {item.sealed for item in taken} == {b"sealed-1", b"sealed-2"}
    for item in taken:
        survivor.ack(item)
    assert survivor.depth() == (0, 0)  # acknowledged and deleted: Redis keeps no sealed copy
    assert redis_queue(stream_name, "laptop-a", claim_idle_seconds=0).fetch(10) == []
    for queue in (producer, survivor):
        queue.close()


def test_redis_consumer_restarted_on_the_same_machine_gets_its_own_pending_cases_at_once(stream_name):
    producer = redis_queue(stream_name, "server")
    producer.deliver("case-1", b"sealed", False)
    crashed = redis_queue(stream_name, "laptop-a")
    assert len(crashed.fetch(10)) == 1
    crashed.close()
    restarted = redis_queue(stream_name, "laptop-a")  # default claim_idle 300 s does not matter for its own
    (item,) = restarted.fetch(10)
    restarted.ack(item)
    assert restarted.fetch(10) == [] and restarted.depth() == (0, 0)
    for queue in (producer, restarted):
        queue.close()


def test_redis_dedup_key_expires_with_the_configured_ttl(stream_name):
    producer = RedisStreamsQueue(f"redis://127.0.0.1:{REDIS_PORT}/0", stream=stream_name, dedup_seconds=120)
    producer.deliver("case-1", b"sealed", False)
    ttl = producer._client.ttl(producer.dedup_key("case-1"))
    assert 0 < ttl <= 120
    producer.close()


# ---------------------------------------------------------------- RabbitMQ


def test_rabbitmq_gives_back_what_a_consumer_never_acknowledged(queue_name):
    producer = rabbit_queue(queue_name)
    producer.deliver("case-1", b"sealed-1", False)
    producer.deliver("case-2", b"sealed-2", True)
    assert producer.depth() == (2, 1)
    crashed = rabbit_queue(queue_name)
    assert [item.case_id for item in crashed.fetch(10)] == ["case-2", "case-1"]  # urgent first
    assert producer.depth() == (0, 0)  # handed out, not yet acknowledged
    crashed.close()  # connection gone without an ack
    survivor = rabbit_queue(queue_name)
    again = survivor.fetch(10)
    assert [(item.case_id, item.sealed) for item in again] == [("case-2", b"sealed-2"), ("case-1", b"sealed-1")]
    for item in again:
        survivor.ack(item)
    survivor.close()
    later = rabbit_queue(queue_name)
    assert later.fetch(10) == []
    later.close()
    assert producer.depth() == (0, 0)
    producer.close()


def test_rabbitmq_messages_are_persistent_with_the_case_id_as_message_id(queue_name):
    producer = rabbit_queue(queue_name)
    producer.deliver("case-1", b"sealed", False)
    channel = producer._open()
    method, properties, body = channel.basic_get(queue_name, auto_ack=True)
    assert (properties.delivery_mode, properties.message_id, body) == (2, "case-1", b"sealed")
    assert channel.queue_declare(queue_name, durable=True, passive=True)  # durable (a mismatch would close the channel)
    producer.close()


def test_rabbitmq_unreachable_is_a_retryable_sink_error():
    sink = RabbitQueue.from_url("amqp://127.0.0.1:1/%2F", password=None, queue="unused", timeout_seconds=1)
    with pytest.raises(SinkError) as caught:
        sink.deliver("case-1", b"sealed", False)
    assert caught.value.retryable and caught.value.kind == "unreachable"


# ---------------------------------------------------------------- webhook


NOW = 1_800_000_000
BODY = b'{"schema":"grievance.sealed-case/1","case_id":"c1","urgent":false,"sealed":"AAAA"}'
GOOD = crypto.sign_webhook(WEBHOOK_SECRET, NOW, BODY)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "signature", "now", "valid"),
    [
        (WEBHOOK_SECRET, str(NOW), BODY, GOOD, NOW, True),
        (WEBHOOK_SECRET, str(NOW), BODY, GOOD, NOW + 299, True),  # within the allowed skew
        (WEBHOOK_SECRET, str(NOW), BODY, GOOD, NOW + 301, False),  # stale: a replay
        (WEBHOOK_SECRET, str(NOW), BODY, GOOD, NOW - 301, False),  # from the future
        ("another-secret-of-the-same-sort-entirely", str(NOW), BODY, GOOD, NOW, False),
        (WEBHOOK_SECRET, str(NOW), BODY.replace(b"false", b"true"), GOOD, NOW, False),  # body changed
        (WEBHOOK_SECRET, str(NOW + 1), BODY, GOOD, NOW, False),  # timestamp changed
        (WEBHOOK_SECRET, str(NOW), BODY, GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1"), NOW, False),
        (WEBHOOK_SECRET, str(NOW), BODY, GOOD.removeprefix("v1="), NOW, False),  # version missing
        (WEBHOOK_SECRET, str(NOW), BODY, "", NOW, False),
        (WEBHOOK_SECRET, "not-a-number", BODY, GOOD, NOW, False),
        (WEBHOOK_SECRET, "", BODY, GOOD, NOW, False),
        (WEBHOOK_SECRET, "١٨٠٠٠٠٠٠٠٠", BODY, GOOD, NOW, False),  # non-ASCII digits are refused
    ],
)
def test_webhook_signature_verification(secret, timestamp, body, signature, now, valid):
    assert crypto.verify_webhook_signature(secret, timestamp, body, signature, max_skew=300, now=now) is valid


@pytest.fixture
def receiver(tmp_path):
    built = WebhookReceiver(tmp_path / "receiver", WEBHOOK_SECRET)
    yield built
    built.close()


def webhook_sink(receiver, secret=WEBHOOK_SECRET, ca=True, clock=time.time) -> WebhookSink:
    return WebhookSink(
        f"https://127.0.0.1:{receiver.port}/cases", secret,
        ca_file=str(receiver.cert_file) if ca else None, timeout_seconds=2, clock=clock,
    )


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(200, None), (201, None), (204, None), (408, True), (429, True), (500, True), (502, True), (503, True),
     (400, False), (401, False), (403, False), (404, False), (409, False), (422, False), (301, False)],
)
def test_webhook_answers_decide_delivered_retry_or_dead(receiver, status, retryable):
    receiver.answer_with = status
    sink = webhook_sink(receiver)
    if retryable is None:
        sink.deliver("case-1", b"sealed", False)
    else:
        with pytest.raises(SinkError) as caught:
            sink.deliver("case-1", b"sealed", False)
        assert (caught.value.retryable, caught.value.kind) == (retryable, f"http_{status}")
    sink.close()


def test_webhook_receiver_refuses_a_wrong_secret_and_a_stale_clock(receiver):
    for sink in (webhook_sink(receiver, secret="x" * 40), webhook_sink(receiver, clock=lambda: time.time() - 3600)):
        with pytest.raises(SinkError) as caught:
            sink.deliver("case-1", b"sealed", False)
        assert (caught.value.retryable, caught.value.kind) == (False, "http_401")  # dead at once
        sink.close()
    assert receiver.refused == 2 and receiver.kept == {}
    good = webhook_sink(receiver)
    good.deliver("case-1", b"sealed", True)
    assert receiver.kept == {"case-1": b"sealed"}
    good.close()


def test_webhook_does_not_trust_a_certificate_it_was_not_given(receiver):
    sink = webhook_sink(receiver, ca=False)  # system CAs only: the receiver's self-signed cert is refused
    with pytest.raises(SinkError) as caught:
        sink.deliver("case-1", b"sealed", False)
    assert (caught.value.retryable, caught.value.kind) == (True, "unreachable")
    assert receiver.posts == []
    sink.close()


def test_webhook_sink_refuses_plain_http():
    with pytest.raises(ValueError):
        WebhookSink("http://127.0.0.1:9/cases", WEBHOOK_SECRET)


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("queue", "line"),
    [
        ({"kind": "kafka"}, "config error: queue.kind: Input should be 'embedded', 'redis', 'rabbitmq' or 'webhook'"),
        ({"kind": "webhook"}, "config error: queue.webhook: required when queue.kind is webhook (url and secret)"),
        ({"redis": {"url": "redis://:hunter2@127.0.0.1:6379/0"}},
         "config error: queue.redis.url: no password in the URL: give it in queue.redis.password as {file: ...} or {env: ...}"),
        ({"rabbitmq": {"url": "amqp://app:hunter2@127.0.0.1/%2F"}},
         "config error: queue.rabbitmq.url: no password in the URL: give it in queue.rabbitmq.password as {file: ...} or {env: ...}"),
        ({"rabbitmq": {"url": "http://127.0.0.1"}}, "config error: queue.rabbitmq.url: expected amqp://host or amqps://host"),
        ({"webhook": {"url": "http://cases.example.org", "secret": {"env": "S"}}}, "config error: queue.webhook.url: expected https://host"),
        ({"webhook": {"url": "https://cases.example.org"}}, "config error: queue.webhook.secret: Field required"),
        ({"webhook": {"url": "https://x.org", "secret": "inline"}}, "config error: queue.webhook.secret: Input should be a valid dictionary or instance of SecretSource"),
        ({"redis": {"stream": "has space"}}, "config error: queue.redis.stream: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'"),
        ({"redis": {"timeout_seconds": 0}}, "config error: queue.redis.timeout_seconds: Input should be greater than 0"),
        ({"redis": {"colour": "red"}}, "config error: queue.redis.colour: Extra inputs are not permitted"),
        ({"max_attempts": 0}, "config error: queue.max_attempts: Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_queue_section_is_one_line_naming_the_key(queue, line):
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"queue": queue})
    assert str(caught.value) == line
    assert "hunter2" not in str(caught.value)


def test_a_missing_or_weak_webhook_secret_stops_start_up(settings_with, services, monkeypatch):
    queue = {"kind": "webhook", "webhook": {"url": "https://cases.example.org/in", "secret": {"env": "TEST_WEBHOOK_SECRET"}}}
    monkeypatch.delenv("TEST_WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match=r"^config error: queue.webhook.secret: environment variable TEST_WEBHOOK_SECRET is not set$"):
        make_sink(settings_with(queue=queue), services.sessions)
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", "short")
    with pytest.raises(ConfigError, match=r"^config error: queue.webhook.secret: too short"):
        make_sink(settings_with(queue=queue), services.sessions)


def test_a_rabbitmq_user_needs_a_password_from_a_secret_source(settings_with, services, monkeypatch):
    with pytest.raises(ConfigError, match=r"^config error: queue.rabbitmq.password: required when queue.rabbitmq.url names a user$"):
        make_sink(settings_with(queue={"kind": "rabbitmq", "rabbitmq": {"url": "amqp://guest@127.0.0.1/%2F"}}), services.sessions)
    ensure_rabbitmq()
    monkeypatch.setenv("TEST_RABBIT_PASSWORD", "guest")
    name = f"test-{uuid.uuid4().hex[:12]}"
    sink = make_sink(settings_with(queue={"kind": "rabbitmq", "rabbitmq": {
        "url": "amqp://guest@127.0.0.1/%2F", "password": {"env": "TEST_RABBIT_PASSWORD"}, "queue": name}}), services.sessions)
    sink.deliver("case-1", b"sealed", False)  # authenticated with the password from the environment
    assert sink.depth() == (1, 0)
    sink.close()
    rabbitmq_cleanup(name)


def test_the_example_config_yaml_is_valid():
    from pathlib import Path

    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    assert settings_from_mapping(data).queue.kind == "embedded"


# ---------------------------------------------------------------- CLI and end to end


def write_config(deployment_dir, database_url, queue) -> str:
    path = deployment_dir / "config.yaml"
    path.write_text(yaml.safe_dump(make_config(deployment_dir, database_url, queue=queue)))
    return str(path)


def run(config_path, *args):
    return CliRunner().invoke(cli, ["--config", config_path, *args], catch_exceptions=False)


def talk(send, sender):
    for text in ENGLISH_INTAKE + ["1"]:
        replies = send(sender, text)
    assert any("case code" in reply for reply in replies)


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_a_worker_report_travels_through_the_broker_into_the_operator_store(kind, send, services, settings_with, deployment_dir, database_url):
    ensure_redis() if kind == "redis" else ensure_rabbitmq()
    name = f"test-{uuid.uuid4().hex[:12]}"
    queue = {"kind": kind, kind: {"stream" if kind == "redis" else "queue": name}}
    try:
        talk(send, "+8801711000000")
        sink = make_sink(settings_with(queue=queue), services.sessions)
        assert forward_outbox(services.sessions, sink, max_attempts=3).delivered == 1
        sink.close()
        config_path = write_config(deployment_dir, database_url, queue)
        assert run(config_path, "queue", "status").output.splitlines()[1] == f"queue ({kind}): 1 waiting, 0 urgent"
        pulled = run(config_path, "cases", "pull")
        assert pulled.output.strip() == "pulled 1 new cases (0 already here, 0 for another key)"
        assert run(config_path, "cases", "pull").output.strip() == "pulled 0 new cases (0 already here, 0 for another key)"
        settings = services.settings
        identity = load_operator_identity(settings.path(settings.operator.identity_file))
        store = OperatorStore(store_location(settings), identity)
        (summary,) = store.summaries()
        record = store.get(summary.case_id)
        store.close()
        assert record["answers"]["workplace"] == "Sunrise Garments Ltd" and record["category"] == "wages"
    finally:
        redis_cleanup(name) if kind == "redis" else rabbitmq_cleanup(name)


def test_a_worker_report_reaches_the_operators_own_system_by_webhook(send, services, settings_with, receiver):
    talk(send, "+8801711000000")
    secret_file = services.settings.path("keys/webhook-secret")
    secret_file.write_text(WEBHOOK_SECRET)
    secret_file.chmod(0o600)
    queue = {"kind": "webhook", "webhook": {"url": f"https://127.0.0.1:{receiver.port}/cases",
                                            "secret": {"file": "keys/webhook-secret"}, "ca_file": str(receiver.cert_file)}}
    sink = make_sink(settings_with(queue=queue), services.sessions)
    assert forward_outbox(services.sessions, sink, max_attempts=3).delivered == 1
    sink.close()
    (sealed,) = receiver.kept.values()
    identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
    import json

    assert json.loads(crypto.open_case([identity], sealed))["answers"]["location"] == "Gazipur"


def test_pull_with_a_webhook_sink_says_the_cases_go_to_the_operators_system(services, deployment_dir, database_url, monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
    config_path = write_config(deployment_dir, database_url, {
        "kind": "webhook", "webhook": {"url": "https://cases.example.org/in", "secret": {"env": "TEST_WEBHOOK_SECRET"}}})
    result = run(config_path, "cases", "pull")
    assert result.exit_code == 0
    assert "straight to the operator's own case system, so there is nothing to pull here" in result.output


def test_pull_from_an_unreachable_broker_is_one_line(services, deployment_dir, database_url):
    config_path = write_config(deployment_dir, database_url, {"kind": "redis", "redis": {"url": "redis://127.0.0.1:1/0", "timeout_seconds": 1}})
    result = CliRunner().invoke(cli, ["--config", config_path, "cases", "pull"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: cannot pull from the redis queue: redis is unreachable (unreachable)"


def test_queue_status_shows_dead_case_ids_with_the_error_kind_and_retry_puts_them_back(send, services, deployment_dir, database_url):
    talk(send, "+8801711000000")
    config_path = write_config(deployment_dir, database_url, {"kind": "redis", "max_attempts": 1,
                                                             "redis": {"url": "redis://127.0.0.1:1/0", "timeout_seconds": 1}})
    forwarded = run(config_path, "forward")
    assert "delivered 0, failed 0, dead-lettered 1" in forwarded.output
    status = run(config_path, "queue", "status").output.splitlines()
    assert status[0] == "outbox: 0 pending, 1 dead-lettered, 0 delivered (not yet purged)"
    assert status[1] == "queue (redis): cannot be read (unreachable)"
    with services.sessions.begin() as session:
        from storage.models import OutboxEntry

        case_id = session.query(OutboxEntry.case_id).scalar()
    assert status[2] == f"dead  {case_id}  unreachable"
    assert run(config_path, "queue", "retry").output.strip() == "1 dead-lettered cases will be retried"
    assert run(config_path, "queue", "status").output.splitlines()[0].startswith("outbox: 1 pending, 0 dead-lettered")


def test_the_documented_verification_example_accepts_our_signature_and_refuses_a_forgery():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "production.md").read_text()
    queues = guide.split("## Queues", 1)[1].split("\n## ", 1)[0]
    example = queues.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(example, "docs/production.md", "exec"), namespace)  # noqa: S102 - our own documentation
    verify = namespace["verify_webhook_signature"]
    timestamp = int(time.time())
    signature = crypto.sign_webhook(WEBHOOK_SECRET, timestamp, BODY)
    assert verify(WEBHOOK_SECRET.encode(), str(timestamp), BODY, signature) is True
    assert verify(WEBHOOK_SECRET.encode(), str(timestamp), BODY + b" ", signature) is False
    assert verify(WEBHOOK_SECRET.encode(), str(timestamp - 3600), BODY, crypto.sign_webhook(WEBHOOK_SECRET, timestamp - 3600, BODY)) is False


def test_redis_a_failed_add_leaves_no_dedup_key_so_the_retry_delivers(stream_name):
    producer = redis_queue(stream_name, "server")
    producer._client.set(stream_name, "not a stream")  # XADD on it fails inside the script
    with pytest.raises(SinkError) as caught:
        producer.deliver("case-1", b"sealed", False)
    assert (caught.value.retryable, caught.value.kind) == (True, "redis_error")
    assert producer._client.exists(producer.dedup_key("case-1")) == 0
    producer._client.delete(stream_name)
    producer.deliver("case-1", b"sealed", False)
    assert producer.depth() == (1, 0)
    producer.close()


def test_redis_entries_with_the_same_id_in_both_streams_are_both_handed_out(stream_name):
    queue = redis_queue(stream_name, "laptop-a")
    for stream, case_id, urgent in ((f"{stream_name}:urgent", "case-u", b"1"), (stream_name, "case-n", b"0")):
        queue._client.xadd(stream, {"case_id": case_id, "sealed": b"s", "urgent": urgent}, id="5-0")
    assert [item.case_id for item in queue.fetch(10)] == ["case-u", "case-n"]
    queue.close()


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_cases_sealed_to_another_operator_stay_in_the_broker_for_them(kind, send, services, settings_with, tmp_path):
    ensure_redis() if kind == "redis" else ensure_rabbitmq()
    name = f"test-{uuid.uuid4().hex[:12]}"
    talk(send, "+8801711000000")
    producer = settings_with(queue={"kind": kind, kind: {"stream" if kind == "redis" else "queue": name}})
    sink = make_sink(producer, services.sessions)
    try:
        assert forward_outbox(services.sessions, sink, max_attempts=3).delivered == 1
        from desk.pull import pull_cases
        from storage.sinks import make_source

        def consumer(who: str):
            extra = {"consumer": who, "claim_idle_seconds": 0.3} if kind == "redis" else {}
            return make_source(settings_with(queue={"kind": kind, kind: {"stream" if kind == "redis" else "queue": name, **extra}}), None)

        other_identity, _ = crypto.new_operator_keypair()
        other_store = OperatorStore(tmp_path / "other.db", other_identity)
        source = consumer("other-operator")
        result = pull_cases(source, other_store, other_identity, signing_keys=intake_signing_public_keys(services.settings))
        source.close()
        other_store.close()
        assert (result.pulled, result.not_for_this_key) == (0, 1)
        time.sleep(0.4)  # Redis: the other operator's consumer holds it until it has been idle this long
        identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
        store = OperatorStore(tmp_path / "mine.db", identity)
        source = consumer("this-operator")
        assert pull_cases(source, store, identity, signing_keys=intake_signing_public_keys(services.settings)).pulled == 1
        source.close()
        store.close()
        assert sink.depth() == (0, 0)
    finally:
        sink.close()
        redis_cleanup(name) if kind == "redis" else rabbitmq_cleanup(name)


def test_no_secret_reaches_an_error_a_log_line_or_the_outbox(send, services, settings_with, captured_logs, monkeypatch, tmp_path, receiver):
    ensure_redis()
    talk(send, "+8801711000000")
    monkeypatch.setenv("TEST_REDIS_PASSWORD", "hunter2-redis-password")
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
    name = f"test-{uuid.uuid4().hex[:12]}"
    redis_sink = make_sink(settings_with(queue={"kind": "redis", "redis": {
        "stream": name, "password": {"env": "TEST_REDIS_PASSWORD"}}}), services.sessions)  # the test Redis has no password
    receiver.answer_with = 503
    webhook = make_sink(settings_with(queue={"kind": "webhook", "webhook": {
        "url": f"https://127.0.0.1:{receiver.port}/cases", "secret": {"env": "TEST_WEBHOOK_SECRET"},
        "ca_file": str(receiver.cert_file)}}), services.sessions)
    from sqlalchemy import update

    from storage.models import OutboxEntry
    from storage.outbox import dead_letters, outbox_counts

    seen = []
    for sink, kind in ((redis_sink, "auth"), (webhook, "http_503")):
        with services.sessions.begin() as session:
            session.execute(update(OutboxEntry).values(next_attempt_at=OutboxEntry.created_at))
        assert forward_outbox(services.sessions, sink, max_attempts=5).failed == 1
        with pytest.raises(SinkError) as caught:
            sink.deliver("case-x", b"sealed", False)
        assert caught.value.kind == kind and caught.value.retryable
        with services.sessions.begin() as session:
            assert session.query(OutboxEntry.last_error).scalar() == kind
        seen.append(str(caught.value))
        sink.close()
    assert outbox_counts(services.sessions) == {"pending": 1} and dead_letters(services.sessions) == []
    everything = " ".join(seen + [captured_logs.text])
    for secret in ("hunter2-redis-password", WEBHOOK_SECRET):
        assert secret not in everything
    redis_cleanup(name)


def test_queue_status_with_a_webhook_sink_says_where_cases_go(services, deployment_dir, database_url, monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
    config_path = write_config(deployment_dir, database_url, {
        "kind": "webhook", "webhook": {"url": "https://cases.example.org/in", "secret": {"env": "TEST_WEBHOOK_SECRET"}}})
    lines = run(config_path, "queue", "status").output.splitlines()
    assert lines == [
        "outbox: 0 pending, 0 dead-lettered, 0 delivered (not yet purged)",
        "queue (webhook): cases go to the operator's own system (no queue to count here)",
    ]
