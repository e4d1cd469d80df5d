"""Data key rotation mid-conversation, and one worker's messages handled at once by several threads."""

from __future__ import annotations

import json
import threading

from sqlalchemy import select

from bot.messages import InboundMessage
from bot.services import build_services
from storage import crypto
from storage.cases import CaseStore
from storage.db import utcnow
from storage.keys import add_data_key, load_operator_identity, load_server_secrets, retire_data_keys
from storage.models import Case, Conversation
from storage.outbox import forward_outbox
from storage.rotation import reencrypt_all
from worker_scripts import ENGLISH_INTAKE, ENGLISH_INTAKE_CONTACT_YES


def _send(services, text, sender="+8801711000000"):
    return list(services.intake.receive(InboundMessage(channel="sms", sender=sender, text=text)).texts)


def test_rotation_keeps_a_conversation_going_and_old_key_can_be_retired(services, settings):
    for text in ENGLISH_INTAKE[:6]:
        _send(services, text)
    for text in ENGLISH_INTAKE_CONTACT_YES:  # a second worker finishes and agrees to contact, so a case holds a reply address
        _send(services, text, sender="+15550002")
    _send(services, "1", sender="+15550002")
    with services.sessions.begin() as session:
        case_id = session.execute(select(Case.case_id)).scalar_one()
    with services.sessions.begin() as session:
        CaseStore(session, services.secrets).add_message(case_id, "We visited the factory.", utcnow())
    services.close()

    new_id = add_data_key(settings)
    rotated = build_services(settings)
    result = reencrypt_all(rotated.sessions, rotated.secrets)
    assert result.rewritten == 4  # draft + its reply address, the case's reply address, the message
    retire_data_keys(settings, keep=new_id)
    assert set(load_server_secrets(settings).data_keys.keys) == {new_id}
    rotated.close()

    after = build_services(settings)
    with after.sessions.begin() as session:
        blob = session.execute(select(Conversation.draft)).scalar_one()
    assert crypto.data_key_id_of(blob) == new_id
    replies = _send(after, "Sunrise Garments Ltd")  # the conversation goes on where it was
    assert after.catalogs.text("en", "ask.location") in replies
    after.close()


def test_rotation_rewraps_the_chat_message_ids_kept_for_delete(services, settings):
    from datetime import timedelta

    from storage.chat_refs import ChatRefStore
    from storage.models import ChatMessageRefs

    keep = timedelta(days=7)
    with services.sessions.begin() as session:
        ChatRefStore(session, services.secrets, keep).add("telegram", "555000333", "41,42", utcnow(), sent_by_bot=True)
    services.close()
    new_id = add_data_key(settings)
    rotated = build_services(settings)
    assert reencrypt_all(rotated.sessions, rotated.secrets).rewritten == 1
    retire_data_keys(settings, keep=new_id)
    rotated.close()
    after = build_services(settings)
    with after.sessions.begin() as session:
        assert crypto.data_key_id_of(session.execute(select(ChatMessageRefs.refs)).scalar_one()) == new_id
        assert [ref.ref for ref in ChatRefStore(session, after.secrets, keep).take("telegram", "555000333")] == ["41,42"]
    after.close()


def test_one_workers_messages_from_many_threads_lose_nothing(services):
    for text in ENGLISH_INTAKE[:4]:
        _send(services, text)
    errors = []

    def worker(thread_number):
        try:
            for part in range(5):
                _send(services, f"detail {thread_number}-{part} about the unpaid wages")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    script_rest = ["1", "Sunrise", "Gazipur", "skip", "May", "3", "no", "no", "no", "1"]
    for text in script_rest:
        _send(services, text)
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
    record = json.loads(crypto.open_case([identity], services.sink.peek()[0].sealed))
    for n in range(4):
        for part in range(5):
            assert f"detail {n}-{part} about" in record["description"]


def test_two_bot_processes_on_one_database_lose_none_of_one_workers_messages(services, settings):
    """Two deployments' worth of engines (as two bot processes) take one worker's messages at once.

    The race starts at the very first message, before the conversation row
    exists, which row locks alone do not cover on PostgreSQL.
    """
    other = build_services(settings)  # its own engine and pool, like a second process
    sender = "+8801711000099"
    errors = []
    barrier = threading.Barrier(2)

    def worker(process, number):
        try:
            barrier.wait(timeout=10)
            _send(process, "hello", sender=sender)  # both start a conversation at the same instant
            for text in ENGLISH_INTAKE[1:4] if number == 0 else []:
                _send(process, text, sender=sender)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(process, n)) for n, process in enumerate((services, other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    def details(process, number):
        try:
            for part in range(5):
                _send(process, f"detail {number}-{part} about the unpaid wages", sender=sender)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=details, args=(process, n)) for n, process in enumerate((services, other, services, other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    other.close()
    with services.sessions.begin() as session:
        assert len(session.execute(select(Conversation.lookup)).scalars().all()) == 1
    for text in ["1", "Sunrise", "Gazipur", "skip", "May", "3", "no", "no", "no", "1"]:
        _send(services, text, sender=sender)
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
    record = json.loads(crypto.open_case([identity], services.sink.peek()[0].sealed))
    for n in range(4):
        for part in range(5):
            assert f"detail {n}-{part} about" in record["description"]
