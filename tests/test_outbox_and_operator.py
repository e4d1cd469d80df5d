"""Cases to the operator: outbox in the confirming transaction, at-least-once forwarding, idempotent queue and pull."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.case_record import validate_case_record
from bot.messages import InboundMessage, ReplyAddress
from storage import crypto
from storage.keys import intake_signing_public_keys, load_operator_identity
from storage.models import Case, OutboxEntry
from desk.operator_store import OperatorStore, OperatorStoreError, store_location
from desk.pull import pull_cases
from storage.outbox import SinkError, forward_outbox, outbox_counts, retry_dead
from storage.retention import purge_expired
from desk_support import store_holds
from worker_scripts import ENGLISH_INTAKE


def confirm_case(services, sender="+8801711000000", urgent=False, contact="no"):
    script = [*ENGLISH_INTAKE[:-2], contact, "no"]
    if urgent:
        script[script.index("2")] = "1"  # danger now: yes
    for text in script + ["1"]:
        reply = services.intake.receive(InboundMessage(channel="sms", sender=sender, text=text))
    assert reply.case_code
    return reply.case_code


def identity_of(settings):
    return load_operator_identity(settings.path(settings.operator.identity_file))


class FlakySink:
    """A sink that fails a given number of times, then delivers into the real embedded queue."""

    kind = "flaky"

    def __init__(self, real, failures, retryable=True):
        self.real, self.failures, self.retryable, self.calls = real, failures, retryable, 0

    def deliver(self, case_id, sealed, urgent):
        self.calls += 1
        if self.calls <= self.failures:
            raise SinkError("sink down", retryable=self.retryable, kind="sink_down")
        self.real.deliver(case_id, sealed, urgent)


def test_confirming_writes_the_sealed_case_to_the_outbox_in_the_same_transaction(services):
    confirm_case(services)
    with services.sessions.begin() as session:
        entry = session.execute(select(OutboxEntry)).scalar_one()
        case = session.execute(select(Case)).scalar_one()
    assert entry.state == "pending" and entry.case_id == case.case_id
    assert b"Sunrise" not in entry.sealed and entry.sealed.startswith(crypto.SEAL_V1)
    record = json.loads(crypto.open_case([identity_of(services.settings)], entry.sealed))
    validate_case_record(record)
    assert record["answers"]["workplace"] == "Sunrise Garments Ltd"


def test_forwarding_is_at_least_once_and_the_queue_keeps_one_copy(services):
    confirm_case(services)
    assert forward_outbox(services.sessions, services.sink, max_attempts=3).delivered == 1
    with services.sessions.begin() as session:
        entry = session.execute(select(OutboxEntry)).scalar_one()
        session.execute(OutboxEntry.__table__.update().values(state="pending", sealed=b"x"))  # as if the mark was lost
    services.sink.deliver(entry.case_id, b"again", False)  # a redelivery after a crash
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    assert services.sink.depth() == (1, 0)


def test_urgent_cases_come_first_in_the_queue(services):
    confirm_case(services, sender="+1")
    confirm_case(services, sender="+2", urgent=True)
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    first, second = services.sink.peek()
    assert first.urgent and not second.urgent


def test_failed_delivery_backs_off_then_dead_letters_and_can_be_retried(services, monkeypatch):
    confirm_case(services)
    sink = FlakySink(services.sink, failures=2)
    result = forward_outbox(services.sessions, sink, max_attempts=2)
    assert result.failed == 1 and services.sink.depth() == (0, 0)
    assert forward_outbox(services.sessions, sink, max_attempts=2).failed == 0  # not due yet: backoff
    with services.sessions.begin() as session:
        session.execute(OutboxEntry.__table__.update().values(next_attempt_at=OutboxEntry.created_at))
    assert forward_outbox(services.sessions, sink, max_attempts=2).dead == 1
    assert outbox_counts(services.sessions) == {"dead": 1}
    with services.sessions.begin() as session:
        assert session.execute(select(OutboxEntry.last_error)).scalar_one() == "sink_down"  # the kind, no text
    assert retry_dead(services.sessions) == 1
    assert forward_outbox(services.sessions, sink, max_attempts=2).delivered == 1
    assert services.sink.depth() == (1, 0)


def test_a_retry_is_timed_to_the_second_and_a_delivered_entry_keeps_only_the_minute(services):
    from datetime import UTC, datetime, timedelta

    from storage.db import as_utc

    confirm_case(services)
    sink = FlakySink(services.sink, failures=1)
    before = datetime.now(UTC)
    assert forward_outbox(services.sessions, sink, max_attempts=5).failed == 1
    after = datetime.now(UTC)
    with services.sessions.begin() as session:
        due = as_utc(session.execute(select(OutboxEntry.next_attempt_at)).scalar_one())
    # The first backoff is 2 s from the attempt, not "the next whole minute".
    assert before + timedelta(seconds=2) - timedelta(milliseconds=1) <= due <= after + timedelta(seconds=2)
    with services.sessions.begin() as session:
        session.execute(OutboxEntry.__table__.update().values(next_attempt_at=before))  # the 2 s have passed
    assert forward_outbox(services.sessions, sink, max_attempts=5).delivered == 1
    with services.sessions.begin() as session:
        entry = session.execute(select(OutboxEntry)).scalar_one()
    for moment in (entry.next_attempt_at, entry.delivered_at):
        assert as_utc(moment).second == 0 and as_utc(moment).microsecond == 0


def test_permanent_failure_dead_letters_at_once(services):
    confirm_case(services)
    result = forward_outbox(services.sessions, FlakySink(services.sink, failures=1, retryable=False), max_attempts=10)
    assert result.dead == 1


def test_pull_opens_keeps_encrypted_and_acknowledges(services, settings):
    confirm_case(services)
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    identity = identity_of(settings)
    store = OperatorStore(store_location(settings), identity)
    assert pull_cases(services.sink, store, identity, signing_keys=intake_signing_public_keys(settings)).pulled == 1
    assert services.sink.depth() == (0, 0)
    assert pull_cases(services.sink, store, identity, signing_keys=intake_signing_public_keys(settings)).pulled == 0
    (summary,) = store.summaries()
    record = store.get(summary.case_id[:8])
    assert record["answers"]["location"] == "Gazipur" and record["category"] == "wages"
    assert not store_holds(store_location(settings), b"Gazipur")
    store.close()
    other_identity, _ = crypto.new_operator_keypair()
    wrong = OperatorStore(store_location(settings), other_identity)
    with pytest.raises(OperatorStoreError):
        wrong.get(summary.case_id)
    wrong.close()


def test_a_store_add_twice_is_harmless(services, settings):
    identity = identity_of(settings)
    store = OperatorStore(store_location(settings), identity)
    confirm_case(services)
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    item = services.sink.peek()[0]
    record = json.loads(crypto.open_case([identity], item.sealed))
    assert store.add(record) is True and store.add(record) is False
    assert pull_cases(services.sink, store, identity, signing_keys=intake_signing_public_keys(settings)).already_had == 1
    store.close()


def test_cases_for_another_operator_stay_in_the_queue(services, settings):
    confirm_case(services)
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    other_identity, _ = crypto.new_operator_keypair()
    store = OperatorStore(settings.path("operator/other.db"), other_identity)
    result = pull_cases(services.sink, store, other_identity, signing_keys=intake_signing_public_keys(settings))
    assert (result.pulled, result.not_for_this_key) == (0, 1)
    assert services.sink.depth() == (1, 0)
    store.close()


def test_purge_drops_delivered_outbox_entries_and_expired_reply_addresses(services):
    confirm_case(services, contact="yes")
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    with services.sessions.begin() as session:
        session.execute(Case.__table__.update().values(reply_address_expires_at=Case.created_at))
    result = purge_expired(services.sessions)
    assert (result.outbox_entries, result.reply_addresses) == (1, 1)
    with services.sessions.begin() as session:
        assert session.execute(select(Case.reply_address)).scalar_one() is None
        assert session.execute(select(OutboxEntry)).first() is None


def test_reply_address_is_kept_encrypted_for_the_case(services):
    confirm_case(services, contact="yes")
    with services.sessions.begin() as session:
        case = session.execute(select(Case)).scalar_one()
    assert b"8801711000000" not in case.reply_address
    opened = crypto.decrypt_reply_address(services.secrets, case.case_id, case.reply_address)
    address = ReplyAddress.from_json(opened)
    assert (address.adapter, address.channel, address.address) == ("console", "sms", "+8801711000000")
    assert address.last_inbound_at is not None


def test_no_reply_address_is_kept_for_a_worker_who_declined_contact(services):
    confirm_case(services, contact="no")
    with services.sessions.begin() as session:
        case = session.execute(select(Case)).scalar_one()
    assert (case.contact_allowed, case.reply_address, case.reply_address_expires_at) == (False, None, None)
