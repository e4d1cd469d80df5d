"""A worker sending maximal messages does not hold up the others: the description is read outside the write transaction.

Reproduction of the audit: three 4 KB messages made every other worker wait 2.4 s,
because the description was read (category, danger words, entities) inside the write
transaction, and on SQLite one writer goes at a time. Here the understander, while it
reads a big description, has another worker's message handled on another thread and
waits for it: that is only possible if no write transaction is open around the reading.
No time is asserted (bench/isolation_bench.py measures the other worker's latency).
"""

from __future__ import annotations

import threading
from itertools import count

import pytest

from bot.draft import Draft
from bot.intake import Intake
from bot.messages import InboundMessage
from bot import text_work
from nlu.entities import extract_entities
from nlu.understanding import Understanding

BIG_SENDER = "+8801711000555"
BIG_MESSAGE = ("Rahman Garments Ltd has not paid 40 workers for two months and the supervisor beat a worker. " * 60)[:4000]
assert 3900 < len(BIG_MESSAGE) <= 4000


class Watching:
    """An understander that, on each big description, has another worker answered meanwhile."""

    def __init__(self, inner, intake_of) -> None:
        self.inner, self.intake_of = inner, intake_of
        self.name = inner.name
        self.big_reads = 0
        self.others_answered: list[bool] = []
        self.others = count(1)

    def understand(self, text: str, language: str | None = None) -> Understanding:
        if len(text) >= 3000:
            self.big_reads += 1
            self.others_answered.append(self._other_worker_answered())
        return self.inner.understand(text, language)

    def _other_worker_answered(self) -> bool:
        answers: list = []
        sender = f"+88017119{next(self.others):05d}"

        def other() -> None:
            answers.append(self.intake_of().receive(InboundMessage(channel="sms", sender=sender, text="hello")).texts)

        thread = threading.Thread(target=other)
        thread.start()
        # Not a time limit on speed: inside the write gate the other worker would wait for
        # this thread forever (and then fail on the gate's busy timeout); outside it, at once.
        thread.join(timeout=60)
        return bool(answers and answers[0])


@pytest.fixture
def watched(services):
    holder: list[Intake] = []
    spy = Watching(services.intake.understander, lambda: holder[0])
    intake = Intake(services.settings, services.secrets, services.sessions, services.catalogs, spy)
    holder.append(intake)
    return intake, spy


def test_another_worker_is_answered_while_maximal_messages_are_read(watched):
    intake, spy = watched

    def send(text: str) -> list[str]:
        return list(intake.receive(InboundMessage(channel="sms", sender=BIG_SENDER, text=text)).texts)

    for text in ("hi", "1", "yes"):
        send(text)
    for _ in range(3):
        replies = send(BIG_MESSAGE)
        assert replies  # each big message is answered too
    assert spy.big_reads == 3  # each description read once: before the gate, not again inside it
    assert spy.others_answered == [True, True, True]


def test_work_prepared_for_another_input_is_never_used():
    class Counting:
        name = "counting"
        calls = 0

        def understand(self, text, language=None):
            Counting.calls += 1
            return Understanding(language, "wages" if "paid" in text else None, 0.9, False)

    understander = Counting()
    draft = Draft(step="description", language="en", description=["They have not paid us"])
    prepared = text_work.prepare(understander, draft, "for two months at Rahman Garments Ltd", 5000)
    assert Counting.calls == 1
    with text_work.using(prepared):
        same = text_work.understanding(understander, "They have not paid us\nfor two months at Rahman Garments Ltd", "en")
        assert Counting.calls == 1 and same.category == "wages"
        # The conversation changed in between (another message came first): read again, never the stale one.
        other = text_work.understanding(understander, "They have not paid us\nthe gate is locked\nfor two months", "en")
        assert Counting.calls == 2 and other is not same
        assert text_work.entities("for two months at Rahman Garments Ltd") == extract_entities("for two months at Rahman Garments Ltd")
        assert text_work.entities("Sunrise Textiles Ltd") == extract_entities("Sunrise Textiles Ltd")
    assert text_work.understanding(understander, "They have not paid us\nfor two months at Rahman Garments Ltd", "en") is not same


@pytest.mark.parametrize(
    ("draft", "text", "prepared"),
    [
        (None, "hello there", False),  # first contact: no description
        (Draft(step="language"), "hello there", False),
        (Draft(step="description", language="en"), "They did not pay us", True),
        (Draft(step="q:workplace", language="en", description=["x"], description_open=True), "and they hit us", True),
        (Draft(step="q:workplace", language="en", description=["x"]), "Rahman Garments", False),  # an answer, not description
        (Draft(step="description", language="en"), "1234", False),
        (Draft(step="description", language="en"), "x" * 5001, False),  # refused as too long anyway
    ],
)
def test_only_text_that_would_be_description_is_read_ahead(draft, text, prepared):
    class Inner:
        name = "inner"

        def understand(self, text, language=None):
            return Understanding(language, None, 0.0, False)

    result = text_work.prepare(Inner(), draft, text, 5000)
    assert bool(result.understandings) is prepared and bool(result.entities) is prepared


def test_entities_of_earlier_messages_stay_offered_and_the_fullest_name_wins(send, services):
    t = lambda key, **v: services.catalogs.text("en", key, **v)  # noqa: E731
    for text in ("hi", "1", "yes"):
        send("+8801711000556", text)
    send("+8801711000556", "Sunrise Garments has not paid 40 workers")
    send("+8801711000556", "It is Sunrise Garments Ltd in Gazipur, 12 of us")
    asked = send("+8801711000556", "1")  # yes, the suggested category
    assert t("ask.confirm_entity", value="Sunrise Garments Ltd") in asked[-1]
    location = send("+8801711000556", "yes")[-1]  # the place, named in the second message, is offered too
    assert location.startswith(t("ask.location")) and t("ask.confirm_entity", value="Gazipur") in location


def test_a_message_of_4094_zero_width_joiners_is_description_like_any_other(send, services):
    """The audit's second reproduction (5.5 s inside the write gate before): now an ordinary turn."""
    t = lambda key, **v: services.catalogs.text("en", key, **v)  # noqa: E731
    for text in ("hi", "1", "yes"):
        send("+8801711000557", text)
    replies = send("+8801711000557", "They did not pay" + "\u200d" * 4094 + " our wages")
    assert replies[0] == t("description.thanks")
    assert t("ask.suggestion", category=t("category.wages")) in replies[1]  # the joiners cost the reading nothing
    replies = send("+8801711000557", "\u200c" * 4094)  # nothing but joiners: an empty message, asked again
    assert replies[0] == t("error.empty") and t("ask.suggestion", category=t("category.wages")) in replies[1]
