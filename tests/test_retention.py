"""Retention: each kind of row is kept exactly as long as the config says, then erased; purges are idempotent and concurrent-safe."""

from __future__ import annotations

import threading
from dataclasses import astuple
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from sqlalchemy import func, select, update

from bot.config import ConfigError, Retention, settings_from_mapping
from bot.messages import InboundMessage, ReplyAddress
from bot.services import build_services
from databases import REPO
from storage.keys import init_keys
from storage.models import Case, Conversation, InboundReceipt, OutboundMessage, OutboxEntry
from storage.outbound import enqueue
from storage.outbox import forward_outbox
from storage.db import as_utc
from storage.retention import purge_expired
from worker_scripts import ENGLISH_INTAKE, ENGLISH_INTAKE_CONTACT_YES

POLICY = {"receipts_days": 2, "sent_outbound_hours": 5, "dead_outbound_days": 3, "delivered_outbox_hours": 10}
SESSION = {"idle_expiry_hours": 24, "reply_address_retention_days": 4}
MINUTE = timedelta(minutes=1)


def _count(services, query) -> int:
    with services.sessions.begin() as session:
        return session.execute(query).scalar_one()


# kind: (PurgeResult field, how long it is kept, rows of it in the deployment, how many are left)
KINDS = {
    "draft": ("conversations", timedelta(hours=24), lambda s: _count(s, select(func.count()).select_from(Conversation))),
    "reply address": (
        "reply_addresses", timedelta(days=4), lambda s: _count(s, select(func.count()).where(Case.reply_address.is_not(None))),
    ),
    "receipt": ("receipts", timedelta(days=2), lambda s: _count(s, select(func.count()).select_from(InboundReceipt))),
    "unconfirmed outbound": (
        "dead_outbound", timedelta(hours=5), lambda s: _count(s, select(func.count()).where(OutboundMessage.state == "sent")),
    ),
    "dead outbound": (
        "dead_outbound", timedelta(days=3), lambda s: _count(s, select(func.count()).where(OutboundMessage.state == "dead")),
    ),
    "delivered outbox": (
        "outbox_entries", timedelta(hours=10), lambda s: _count(s, select(func.count()).where(OutboxEntry.state == "delivered")),
    ),
}


def _receive(services, sender: str, text: str, update_id: int) -> None:
    services.intake.receive(InboundMessage(channel="sms", sender=sender, text=text, provider_id=f"msg-{sender}-{update_id}"))


@pytest.fixture
def deployment(settings_with):
    """A deployment holding one of each kind, all made between `start` and `end`: (services, start, end)."""
    settings = settings_with(session=SESSION, retention=POLICY)
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    start = datetime.now(UTC)
    for number, text in enumerate([*ENGLISH_INTAKE_CONTACT_YES, "1"]):  # a confirmed case with a reply address (YES to contact)
        _receive(services, "+15550001", text, number)
    _receive(services, "+15550002", "hello", 0)  # a draft in progress
    assert forward_outbox(services.sessions, services.sink, max_attempts=3).delivered == 1
    with services.sessions.begin() as session:
        for state in ("sent", "dead"):
            message_id = enqueue(session, services.secrets, ReplyAddress("fake", "telegram", "chat-9"), f"a {state} message")
            session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id).values(state=state))
    end = datetime.now(UTC)
    yield services, start, end
    services.close()


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_kept_for_its_period_then_erased(deployment, kind):
    services, start, end = deployment
    field, period, rows = KINDS[kind]
    before = rows(services)
    assert before >= 1
    just_before = start.replace(second=0, microsecond=0) + period - MINUTE
    kept = purge_expired(services.sessions, services.settings.retention, now=just_before)
    assert rows(services) == before
    if kind not in ("unconfirmed outbound", "dead outbound"):  # these two share a counter
        assert getattr(kept, field) == 0
    erased = purge_expired(services.sessions, services.settings.retention, now=end + period + MINUTE)
    assert rows(services) == 0
    assert getattr(erased, field) >= before


def test_a_delivered_outbox_marker_goes_at_the_next_purge_by_default(deployment):
    services, _, _ = deployment
    assert services.settings.retention.delivered_outbox_hours == 10
    assert purge_expired(services.sessions, Retention()).outbox_entries == 1  # the default: 0 hours
    assert KINDS["delivered outbox"][2](services) == 0


def test_purging_again_erases_nothing_more(deployment):
    services, _, end = deployment
    late = end + timedelta(days=30)
    first = purge_expired(services.sessions, services.settings.retention, now=late)
    # sender_mutes=1: the case's sender (a keyed pseudonym) is forgotten after retention.case_sender_days
    assert first == type(first)(1, 1, 1, len(ENGLISH_INTAKE) + 2, 2, 0, sender_mutes=1)
    assert astuple(purge_expired(services.sessions, services.settings.retention, now=late)) == (0,) * 10
    with services.sessions.begin() as session:
        assert session.execute(select(func.count()).select_from(Case)).scalar_one() == 1  # the case itself stays


def test_two_purges_at_once_from_two_processes_erase_each_row_once(deployment):
    services, _, end = deployment
    other = build_services(services.settings)  # its own engine and pool, like cron beside the server
    late = end + timedelta(days=30)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def purge(process):
        try:
            barrier.wait(timeout=10)
            results.append(purge_expired(process.sessions, process.settings.retention, now=late))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=purge, args=(process,)) for process in (services, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()
    assert errors == []
    totals = tuple(map(sum, zip(*(astuple(result) for result in results))))
    assert totals == (1, 1, 1, len(ENGLISH_INTAKE) + 2, 2, 0, 0, 0, 0, 1)
    assert all(rows(services) == 0 for _, _, rows in KINDS.values())


def test_the_example_config_states_the_defaults_and_bad_values_name_their_key(tmp_path):
    example = yaml.safe_load((REPO / "config.yaml").read_text())
    assert Retention.model_validate(example["retention"]) == Retention()
    for key, value in [("receipts_days", 0.5), ("dead_outbound_days", -1), ("sent_outbound_hours", "soon"), ("kept_forever", 1)]:
        with pytest.raises(ConfigError) as error:
            settings_from_mapping({"retention": {key: value}}, base_dir=tmp_path)
        assert str(error.value).startswith(f"config error: retention.{key}: ")
        assert "\n" not in str(error.value)


def test_status_counters_go_when_their_window_ends_and_overall_counts_after_keep_counts_days(services):
    from storage.models import StatusAttempts

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    throttle = services.settings.status_throttle  # 60-minute sender windows, overall counts kept 30 days
    rows = [("sender-old", now - timedelta(minutes=61)), ("sender-now", now - timedelta(minutes=10)),
            ("global", now - timedelta(days=31)), ("global", now - timedelta(days=1))]
    with services.sessions.begin() as session:
        session.add_all(StatusAttempts(scope=scope, window_start=start, failed=1, refused=0) for scope, start in rows)
    assert purge_expired(services.sessions, services.settings.retention, now=now, throttle=throttle).status_counters == 2
    with services.sessions.begin() as session:
        left = sorted((row.scope, as_utc(row.window_start)) for row in session.execute(select(StatusAttempts)).scalars())
    assert left == sorted([("sender-now", now - timedelta(minutes=10)), ("global", now - timedelta(days=1))])


def test_chat_message_ids_go_after_chat_message_refs_days_and_a_delete_marker_after_an_hour(services):
    from storage.chat_refs import ChatRefStore
    from storage.models import ChatMessageRefs

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    keep = timedelta(days=services.settings.retention.chat_message_refs_days)
    with services.sessions.begin() as session:
        store = ChatRefStore(session, services.secrets, keep)
        store.add("telegram", "555000111", "17", now, sent_by_bot=False)
        store.add("telegram", "555000111", "18,19", now, sent_by_bot=True)
        store.take("telegram", "555000222")  # nothing kept for that chat: nothing to take
        store.pass_next("telegram", "555000222", now, 1)  # DELETE's answer will not be kept
    assert purge_expired(services.sessions, services.settings.retention, now=now + keep - MINUTE).chat_message_refs == 1  # the marker
    assert purge_expired(services.sessions, services.settings.retention, now=now + keep).chat_message_refs == 1
    with services.sessions.begin() as session:
        assert session.execute(select(func.count()).select_from(ChatMessageRefs)).scalar_one() == 0
