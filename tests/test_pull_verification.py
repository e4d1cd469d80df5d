"""Sealed cases are authenticated: whatever else lands in a queue is quarantined, and the pull goes on.

Anyone who can write to Redis, RabbitMQ or the queue table can seal a case to
the operator's public key. The intake server signs each case it queues (over
the case id and the sealed bytes); `cases pull` checks that before opening, and
sets aside with its reason anything forged, unsigned, tampered, not of the
schema, or carrying another case id than its queue item, acknowledging it so it
never blocks the queue. Each row runs on the embedded queue, Redis and RabbitMQ.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from storage import crypto
from storage.keys import intake_signing_public_keys, load_operator_identity, load_signing_key
from storage.models import OutboxEntry
from desk.operator_store import OperatorStore
from storage.outbox import forward_outbox
from desk.pull import pull_cases
from desk.quarantine import Quarantine
from storage.sinks import make_sink, make_source

from sink_servers import REDIS_PORT, ensure_rabbitmq, ensure_redis, rabbitmq_cleanup, redis_cleanup
from worker_scripts import ENGLISH_INTAKE

KINDS = ["embedded", "redis", "rabbitmq"]


def _sealed(services, record: dict) -> bytes:
    return crypto.seal_case(services.secrets, json.dumps(record).encode())


# name: (reason, how to make (queue case id, item bytes) from the server's signing key and a valid record)
BAD_ITEMS = {
    "forged with another key": ("bad_signature", lambda s, key, record: (
        record["case_id"], crypto.sign_sealed_case(crypto.new_signing_key(), record["case_id"], _sealed(s, record)))),
    "unsigned": ("unsigned", lambda s, key, record: (record["case_id"], _sealed(s, record))),
    "tampered after signing": ("bad_signature", lambda s, key, record: (
        record["case_id"], _flip_last_byte(crypto.sign_sealed_case(key, record["case_id"], _sealed(s, record))))),
    "signed for another case id": ("bad_signature", lambda s, key, record: (
        str(uuid.uuid4()), crypto.sign_sealed_case(key, record["case_id"], _sealed(s, record)))),
    "not of the schema": ("schema", lambda s, key, record: (
        record["case_id"], crypto.sign_sealed_case(key, record["case_id"], _sealed(s, {"case_id": record["case_id"], "x": 1})))),
    "not JSON": ("schema", lambda s, key, record: (
        record["case_id"], crypto.sign_sealed_case(key, record["case_id"], crypto.seal_case(s.secrets, b"\xff not json")))),
    "case id inside differs": ("case_id_mismatch", lambda s, key, record: (
        (other := str(uuid.uuid4())), crypto.sign_sealed_case(key, other, _sealed(s, record)))),
    "alert under another id than its delivery id": ("case_id_mismatch", lambda s, key, record: (
        (other := str(uuid.uuid4())), crypto.sign_sealed_case(key, other, _sealed(s, {**record, "kind": "alert", "delivery_id": str(uuid.uuid4())})))),
    "signed but not a sealed case": ("not_a_case", lambda s, key, record: (
        record["case_id"], crypto.sign_sealed_case(key, record["case_id"], b"plain bytes"))),
}


def _flip_last_byte(blob: bytes) -> bytes:
    return blob[:-1] + bytes([blob[-1] ^ 1])


@pytest.fixture(params=KINDS)
def queue_settings(request, settings_with, services):
    """Settings whose `queue` is this kind, on a fresh stream or queue name."""
    kind = request.param
    name = f"test-{uuid.uuid4().hex[:12]}"
    if kind == "redis":
        ensure_redis()
        section = {"kind": "redis", "redis": {"url": f"redis://127.0.0.1:{REDIS_PORT}/0", "stream": name}}
    elif kind == "rabbitmq":
        ensure_rabbitmq()
        section = {"kind": "rabbitmq", "rabbitmq": {"queue": name}}
    else:
        section = {"kind": "embedded"}
    yield settings_with(queue=section)
    if kind == "redis":
        redis_cleanup(name)
    elif kind == "rabbitmq":
        rabbitmq_cleanup(name)


def _confirm_case(send, sender: str) -> None:
    for text in [*ENGLISH_INTAKE, "1"]:
        replies = send(sender, text)
    assert any("case code" in reply for reply in replies)


def _pull(settings, services, store, identity, quarantine):
    source = make_source(settings, services.sessions)
    try:
        return pull_cases(source, store, identity, signing_keys=intake_signing_public_keys(settings), quarantine=quarantine)
    finally:
        source.close()


@pytest.mark.parametrize("bad", BAD_ITEMS)
def test_a_bad_item_is_quarantined_and_the_real_case_still_arrives(bad, queue_settings, services, send, tmp_path):
    reason, make = BAD_ITEMS[bad]
    settings = queue_settings
    identity = load_operator_identity(settings.path(settings.operator.identity_file))
    _confirm_case(send, "+8801711000000")
    with services.sessions.begin() as session:
        real = json.loads(crypto.open_case([identity], session.execute(select(OutboxEntry.sealed)).scalar_one()))
    sink = make_sink(settings, services.sessions)
    store = OperatorStore(tmp_path / "operator.db", identity)
    quarantine = Quarantine(tmp_path / "quarantine")
    try:
        # The bad item goes in first, urgent, straight into the queue as an intruder would put it.
        case_id, item = make(services, load_signing_key(settings), {**real, "case_id": str(uuid.uuid4())})
        sink.inner.deliver(case_id, item, True)
        assert forward_outbox(services.sessions, sink, max_attempts=3).delivered == 1
        result = _pull(settings, services, store, identity, quarantine)
        assert (result.pulled, result.quarantined) == (1, 1)
        assert [summary.case_id for summary in store.summaries()] == [real["case_id"]]
        assert quarantine.reasons() == [reason]
        assert _pull(settings, services, store, identity, quarantine) == type(result)(0, 0, 0, 0)  # the queue moved on
        assert sink.depth() == (0, 0)
    finally:
        sink.close()
        store.close()


def test_an_item_that_is_not_ours_at_all_is_quarantined_too(queue_settings, services, tmp_path):
    """A Redis entry without our fields, a RabbitMQ message without a message id: handed out and set aside."""
    settings = queue_settings
    identity = load_operator_identity(settings.path(settings.operator.identity_file))
    sink = make_sink(settings, services.sessions)
    store = OperatorStore(tmp_path / "operator.db", identity)
    quarantine = Quarantine(tmp_path / "quarantine")
    try:
        if sink.kind == "redis":
            sink.inner._client.xadd(sink.inner.streams[1], {"something": "else"})
        elif sink.kind == "rabbitmq":
            sink.inner._open().basic_publish("", sink.inner.queues[1], b"hello")
        else:
            sink.inner.deliver("", b"", False)
        result = _pull(settings, services, store, identity, quarantine)
        assert (result.pulled, result.quarantined) == (0, 1)
        assert quarantine.reasons() == ["unsigned"]
        assert sink.depth() == (0, 0)
    finally:
        sink.close()
        store.close()


def test_quarantined_items_are_kept_private_and_logs_name_only_the_reason(services, send, settings, tmp_path, captured_logs):
    identity = load_operator_identity(settings.path(settings.operator.identity_file))
    _confirm_case(send, "+8801711000000")
    with services.sessions.begin() as session:
        sealed = session.execute(select(OutboxEntry.sealed)).scalar_one()
    services.sink.inner.deliver(str(uuid.uuid4()), sealed, False)  # a genuine case copied in, unsigned
    store = OperatorStore(tmp_path / "operator.db", identity)
    quarantine = Quarantine(tmp_path / "quarantine")
    try:
        result = pull_cases(services.sink, store, identity, signing_keys=intake_signing_public_keys(settings), quarantine=quarantine)
    finally:
        store.close()
    assert result.quarantined == 1
    (kept,) = (tmp_path / "quarantine").iterdir()
    assert kept.stat().st_mode & 0o777 == 0o600 and (tmp_path / "quarantine").stat().st_mode & 0o777 == 0o700
    assert b"Gazipur" not in kept.read_bytes()  # as it came: still sealed
    (record,) = [r for r in captured_logs.records if r.getMessage() == "queue item quarantined"]
    assert record.reason == "unsigned" and "Gazipur" not in captured_logs.text


def test_pull_trusts_no_server_unless_configured(settings_with, services):
    from bot.config import ConfigError

    settings = settings_with(operator={"intake_signing_keys_file": "keys/none.txt"})
    with pytest.raises(ConfigError, match="operator.intake_signing_keys: no intake signing key"):
        intake_signing_public_keys(settings)
    with pytest.raises(ConfigError, match="operator.intake_signing_keys: an intake signing key must start with"):
        intake_signing_public_keys(settings_with(operator={"intake_signing_keys": ["age1notthis"]}))


def test_the_server_will_not_start_without_its_signing_key(settings, services):
    from bot.config import ConfigError

    settings.path(settings.secrets.signing_key.file).unlink()
    with pytest.raises(ConfigError, match=r"secrets.signing_key: .* not found \(run `grievance init`\)"):
        make_sink(settings, services.sessions)
