"""The answer-back after STATUS <code> ends (issue 10): after a quiet while or a NEW word the
next message starts afresh, and the worker's answers reach the operator in the order sent."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import bot.intake as intake_module
from dialogue_support import confirm_case
from nlu import phrases
from storage import crypto
from storage.cases import CaseStore, answer_sequence, ordered_answer_id
from storage.db import utcnow
from storage.models import WorkerAnswer

WORKER = "+8801711000950"


def t(services, key: str, lang: str = "en", **values) -> str:
    return services.catalogs.text(lang, key, **values)


def welcome(services) -> str:
    return t(services, "welcome", name=services.settings.deployment.name)


def answers_waiting(services) -> int:
    with services.sessions.begin() as session:
        return session.query(WorkerAnswer).count()


def opened_answers(services) -> list[str]:
    identity = services.settings.path(services.settings.operator.identity_file).read_text(encoding="utf-8").splitlines()[0]
    with services.sessions.begin() as session:
        pending = CaseStore(session, services.secrets).pending_answers(100)
    return [json.loads(crypto.open_worker_answer([identity], answer.sealed))["text"] for answer in pending]


def test_a_message_long_after_the_answer_back_starts_a_new_report(services, send, monkeypatch):
    _, code = confirm_case(services, "+8801711000951")
    send(WORKER, f"STATUS {code}")
    send(WORKER, "Thank you, the wages were paid")
    later = utcnow() + timedelta(days=3)
    monkeypatch.setattr(intake_module, "utcnow", lambda: later)
    replies = send(WORKER, "They locked the fire exit at the new factory")
    # a new report, not an answer filed into the old case; what it says is kept for that report
    assert replies[0].startswith(welcome(services) + "\n" + t(services, "kept.note") + "\n")
    assert answers_waiting(services) == 1


def test_a_message_within_the_idle_time_is_still_an_answer(services, send, monkeypatch):
    _, code = confirm_case(services, "+8801711000952")
    send(WORKER, f"STATUS {code}")
    later = utcnow() + timedelta(minutes=10)
    monkeypatch.setattr(intake_module, "utcnow", lambda: later)
    assert send(WORKER, "The wages were paid") == [t(services, "dialogue.added", cancel="EXIT")]
    assert answers_waiting(services) == 1


@pytest.mark.parametrize(("lang", "word"), [("en", "NEW"), ("en", "new report"), ("bn", "নতুন"), ("vi", "mới"), ("es", "nuevo")])
def test_a_new_report_word_leaves_the_answer_back(services, send, lang, word):
    _, code = confirm_case(services, "+8801711000953")
    send(WORKER, f"STATUS {code}")
    if lang != "en":
        send(WORKER, "language")
        send(WORKER, str(services.settings.deployment.languages.index(lang) + 1))
    replies = send(WORKER, word)
    # the welcome of a new report in the worker's language; the NEW word is no story to keep
    assert len(replies) == 1
    assert replies[0].startswith(t(services, "welcome", lang, name=services.settings.deployment.name) + "\n")
    assert t(services, "language.menu") in replies[0] and t(services, "kept.note", lang) not in replies[0]
    assert answers_waiting(services) == 0


def test_every_language_has_a_new_report_word():
    for lang in ("en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es"):
        assert phrases("new_report", lang)


def test_answers_sent_within_one_minute_reach_the_operator_in_the_order_sent(services, send):
    _, code = confirm_case(services, "+8801711000954")
    send(WORKER, f"STATUS {code}")
    texts = [f"answer number {i}" for i in range(12)]
    for text in texts:
        send(WORKER, text)
    assert opened_answers(services) == texts


def test_answer_ids_increase_even_when_the_clock_does_not(services):
    case_id, _ = confirm_case(services, "+8801711000955")
    now = utcnow()
    with services.sessions.begin() as session:
        store = CaseStore(session, services.secrets)
        first = store.add_answer(case_id, "first", now)
        session.flush()
        # Another answer of the case already waits with an id far in the future (a clock that stepped back).
        ahead = ordered_answer_id(answer_sequence(first) + 10**9)
        session.add(WorkerAnswer(id=ahead, case_id=case_id, sealed=b"x", created_at=now))
        session.flush()
        later = store.add_answer(case_id, "second", now)
    assert answer_sequence(later) == answer_sequence(ahead) + 1
    assert later > ahead > first


def test_an_ordered_answer_id_is_a_uuid_that_sorts_by_its_sequence():
    import uuid

    ids = [ordered_answer_id(sequence) for sequence in (1, 2, 4095, 4096, 10**15, 10**15 + 1)]
    assert ids == sorted(ids)
    assert all(str(uuid.UUID(value)) == value and uuid.UUID(value).version == 8 for value in ids)
    assert [answer_sequence(value) for value in ids] == [1, 2, 4095, 4096, 10**15, 10**15 + 1]
