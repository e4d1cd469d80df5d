"""One worker's conversation is handled by one transaction at a time, before its row exists (two first
messages at once) and after: the second transaction waits for the first and reads what it saved.

Deterministic: the first transaction is held open while the second is shown to be waiting.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.draft import Draft
from bot.messages import ReplyAddress
from storage import crypto
from storage.conversations import ConversationStore
from storage.db import utcnow

EXPIRY = timedelta(hours=72)
ADDRESS = ReplyAddress("twilio", "sms", "+8801711000042")


def draft(step: str) -> Draft:
    return Draft(step=step, language="en", description=[f"said at step {step}"])


@pytest.mark.parametrize(("row_exists", "first_erases"), [(False, False), (True, False), (True, True)],
                         ids=["first message", "later message", "the first ends the conversation"])
def test_a_second_transaction_waits_for_the_first_and_reads_its_save(services, row_exists, first_erases):
    lookup = crypto.conversation_lookup(services.secrets, "sms", ADDRESS.address)
    if row_exists:
        with services.sessions.begin() as session:
            ConversationStore(session, services.secrets, EXPIRY).save(lookup, draft("consent"), ADDRESS, utcnow())
    second_read: list[Draft | None] = []
    second_started = threading.Event()

    def second() -> None:
        second_started.set()
        with services.sessions.begin() as session:
            second_read.append(ConversationStore(session, services.secrets, EXPIRY).load(lookup, utcnow()).draft)

    with services.sessions.begin() as session:
        store = ConversationStore(session, services.secrets, EXPIRY)
        first_read = store.load(lookup, utcnow()).draft
        assert (first_read is not None) == row_exists
        if first_erases:
            store.erase(lookup)
        else:
            store.save(lookup, draft("description"), ADDRESS, utcnow())
        thread = threading.Thread(target=second)
        thread.start()
        second_started.wait(5)
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the second transaction read the conversation while the first held it"
    thread.join(timeout=10)
    assert second_read == [None if first_erases else draft("description")]
