"""Safe when it matters most (issue 10): danger first at any step, nothing the worker writes lost.

Through the real Intake (database, keys, sealing, the embedded queue, the operator's store):
- a message with danger words, at any step, gets at once the emergency contacts and one
  question, in that message's language: alert the hotline team now? YES seals and queues an
  urgent alert (first in the queue), tells the worker what was sent and the case code, and the
  worker is back where they were; NO sends nothing. The full report later replaces the alert
  under the same case id and code, in the queue and in the operator's store;
- a first message that says something, and free text at the language menu or at consent, is
  kept and becomes the start of the description once the worker consents;
- CHANGE of the description adds to it (the default) or replaces it; new danger words ask again.
Expected wording is rendered from the catalogs, so the tests hold in every language.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.messages import InboundMessage
from engine_support import conversations, sealed_cases
from storage import crypto
from storage.embedded_queue import EmbeddedQueue
from storage.keys import intake_signing_public_keys, load_operator_identity
from storage.models import Case
from desk.operator_store import OperatorStore, store_location
from storage.outbox import forward_outbox
from desk.pull import pull_cases
from worker_scripts import ANSWERS

# Rows vary the words and the step, not what is stored: the PostgreSQL run takes one in six (tests/conftest.py).
pytestmark = pytest.mark.database_sampled(every=6)

LANGUAGES = ("en", "bn", "vi", "es")
CODE_SHOWN = re.compile(r"\b[0-9]{4} [0-9]{3} [0-9]{3} [0-9]{4}\b")

# The issue's reproduction and short danger messages of the same kind in the other languages.
DANGER = {
    "en": "FIRE in factory doors locked people trapped help",
    "bn": "কারখানায় আগুন, দরজা বন্ধ, মানুষ আটকে আছে",
    "vi": "Cháy nhà máy, cửa bị khóa, người bị kẹt",
    "es": "Fuego en la fábrica, puertas cerradas, gente atrapada",
}
STORY = {  # a first message that says something, without danger words
    "en": "My supervisor took my passport and keeps it",
    "bn": "সুপারভাইজার আমার পাসপোর্ট নিয়ে রেখে দিয়েছে",
    "vi": "Quản lý giữ hộ chiếu của tôi không trả lại",
    "es": "Mi supervisor me quitó el pasaporte y no me lo devuelve",
}


def menu_number(services, lang: str) -> str:
    return str(services.settings.deployment.languages.index(lang) + 1)


def intake(services, lang: str, contact: bool = False) -> list[str]:
    """What a worker sends from first contact to the summary (the engine flow tests' script)."""
    a = ANSWERS[lang]
    return [
        "hello", menu_number(services, lang), "yes", a["description"], "1",
        a["workplace"], a["location"], a["brand"], a["when"], a["people_affected"], "2", "1" if contact else "2", "2",
    ]  # fmt: skip


# How many messages of `intake` bring the worker to each step.
STOPS = {
    "first": 0, "language": 1, "consent": 2, "description": 3, "suggest": 4, "workplace": 5, "people_affected": 9,
    "contact_consent": 11, "summary": 13,
}  # fmt: skip


class Worker:
    def __init__(self, services, send, lang: str, sender: str = "+8801711000777") -> None:
        self.services, self._send, self.lang, self.sender = services, send, lang, sender
        self.last: list[str] = []

    def say(self, text: str) -> list[str]:
        self.last = self._send(self.sender, text)
        return self.last

    def t(self, key: str, lang: str | None = None, **values: object) -> str:
        return self.services.catalogs.text(lang or self.lang, key, **values)

    def until(self, stop: str, contact: bool = False) -> None:
        for text in intake(self.services, self.lang, contact)[: STOPS[stop]]:
            self.say(text)

    def contact_question(self, lang: str | None = None) -> str:
        """Asked right after an alert went out, when the report has no answer to contact yet (issue 19)."""
        return self.t("ask.alert_contact", lang) + "\n" + self.t("hint.yes_no", lang)

    def danger_prompt(self, lang: str | None = None) -> str:
        contacts = "\n".join(self.services.settings.deployment.emergency_contacts)
        return (
            self.t("danger.contacts", lang, contacts=contacts) + "\n\n" + self.t("ask.alert", lang) + "\n" + self.t("hint.yes_no", lang)
        )

    def in_dialogue(self, contact: bool = False) -> str:
        """A whole report sent, then STATUS <code>: the worker is answering into their case. Returns the code."""
        self.until("summary", contact)
        (code,) = CODE_SHOWN.findall(self.say("1")[-1])
        self.say(f"STATUS {code}")
        assert expected_after(self, "dialogue") in self.last[-1]
        return code.replace(" ", "")


def alerts(services) -> list[dict]:
    return [case for case in sealed_cases(services) if case.get("kind") == "alert"]


def identity_of(settings) -> str:
    return load_operator_identity(settings.path(settings.operator.identity_file))


def expected_after(worker: Worker, stop: str) -> str:
    """A text the question asked after the alert question must contain: the worker is back where they were."""
    t = worker.t
    return {
        # A danger message as the first message says its language clearly: the menu's header is in it.
        "first": t("language.menu", worker.lang),
        "language": t("language.menu", worker.services.settings.deployment.default_language),
        "consent": t("hint.write_more"),  # the story at the privacy notice was the consent and the description
        "description": t("hint.write_more"),  # the description was answered; more is still welcome
        "suggest": t("hint.write_more"),
        "workplace": t("ask.workplace"),
        "contact_consent": t("ask.contact_consent"),  # a yes/no question
        "referral_consent": t("ask.referral_consent"),
        "people_affected": t("ask.people_affected"),  # a number question
        "summary": t("summary.check", summary="\x00").split("\x00")[0],
        "dialogue": t("dialogue.prompt", cancel="\x00").split("\x00")[0],
    }[stop]


# ---------------------------------------------------------------- 1. danger first, at any step


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("stop", [*STOPS, "dialogue"])
@pytest.mark.parametrize("agreed", [True, False], ids=["yes", "no"])
def test_danger_words_at_any_step_get_the_contacts_and_the_alert_question_at_once(services, send, lang, stop, agreed):
    worker = Worker(services, send, lang)
    case_code = None
    if stop == "dialogue":
        case_code = worker.in_dialogue()
    else:
        worker.until(stop)
    replies = worker.say(DANGER[lang])
    assert replies[-1] == worker.danger_prompt()
    for contact in services.settings.deployment.emergency_contacts:
        assert contact in replies[-1]
    assert alerts(services) == [], "nothing is sent before YES"

    replies = worker.say("1" if agreed else "2")
    if agreed and stop not in ("summary", "dialogue"):  # no answer to contact yet: the way back is settled now
        assert replies[-1] == worker.contact_question()
        sent = replies
        replies = worker.say("2")
        assert replies[0] == worker.t("alert.contact_no", status=worker.services.intake.conversation.word("status", lang))
        replies = [*sent[:-1], *replies]
        # The worker at "may we contact you?" answered it with the alert: the next question follows.
        assert expected_after(worker, "referral_consent" if stop == "contact_consent" else stop) in replies[-1]
    else:
        assert expected_after(worker, stop) in replies[-1]
    found = alerts(services)
    if not agreed:
        assert replies[0] == worker.t("alert.not_sent") and found == []
        assert CODE_SHOWN.search("\n".join(replies)) is None
        return
    (code,) = CODE_SHOWN.findall(replies[0])
    (alert,) = found
    what = " / ".join(alert["description"].split("\n"))
    what = what if len(what) <= 60 else what[:60].rstrip() + "…"
    assert replies[0] == worker.t("alert.sent", what=what, code=code), "the worker is told what was sent"
    assert DANGER[lang][:20] in replies[0] or not alert["description"].startswith(DANGER[lang])
    assert alert["kind"] == "alert" and alert["urgent"] is True and alert["code"] == code.replace(" ", "")
    if case_code is not None:  # in answer mode the alert goes under the worker's own case and code
        assert alert["code"] == case_code
    assert DANGER[lang] in alert["description"]
    assert alert["language"] == lang
    queued = EmbeddedQueue(services.sessions).peek()
    assert queued[0].urgent is True and crypto.open_case([identity_of(services.settings)], queued[0].sealed)
    if stop in ("workplace", "referral_consent", "summary"):  # the answers so far go with it
        assert alert["answers"]["workplace"] == (None if stop == "workplace" else ANSWERS[lang]["workplace"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_danger_is_asked_about_once_per_conversation(services, send, lang):
    worker = Worker(services, send, lang)
    worker.until("consent")
    worker.say(DANGER[lang])  # at the privacy notice: the consent, and the start of the description
    assert worker.t("hint.write_more") in worker.say("2")[-1]
    replies = worker.say(DANGER[lang])  # again, as more description: no second question
    assert worker.danger_prompt() not in replies
    assert replies[0] == worker.t("description.added")


def _done(lang: str) -> str:
    from nlu import phrases

    return phrases("done", lang)[0].upper()


def test_the_issue_reproduction_fire_as_first_message_reaches_the_team_after_one_yes(services, send, settings):
    """'FIRE in factory doors locked people trapped help' as the first message: contacts at once,
    one YES queues the alert urgent; the operator pulls and opens it; the full report replaces it."""
    worker = Worker(services, send, "en")
    first = worker.say(DANGER["en"])
    assert first[0] == worker.t("welcome", name=settings.deployment.name) + "\n" + worker.t("kept.note")  # no menu yet
    assert first[-1] == worker.danger_prompt()
    sent = worker.say("yes")
    (shown,) = CODE_SHOWN.findall(sent[0])
    code = shown.replace(" ", "")
    assert sent[0] == worker.t("alert.sent", what=DANGER["en"], code=shown)
    assert sent[-1] == worker.contact_question()  # the way back, settled with the alert (issue 19)
    hours = settings.deployment.alert_contact_within_hours
    assert worker.say("yes")[0] == worker.t("alert.contact_yes", hours=hours)

    # The operator pulls and opens the alert at once.
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    identity = identity_of(settings)
    store = OperatorStore(store_location(settings), identity)
    assert pull_cases(services.sink, store, identity, signing_keys=intake_signing_public_keys(settings)).pulled == 1
    (summary,) = store.summaries()
    assert summary.urgent is True
    alert = store.get(summary.case_id)
    assert alert["kind"] == "alert" and alert["code"] == code and alert["description"] == DANGER["en"]

    # The worker goes on: what they wrote first starts the description.
    assert worker.t("kept.start", done="DONE") in worker.say("1")[0]  # English: the privacy notice
    worker.say("The exit on the second floor is always locked")  # the consent, added to what was kept
    _finish_to_summary(worker)  # "danger now?" is answered NO here: the case stays urgent for its alert
    confirmed = worker.say("1")
    assert CODE_SHOWN.findall(confirmed[-1]) == [shown], "the report keeps the alert's case code"

    with services.sessions.begin() as session:
        assert session.execute(select(Case.case_id)).scalars().all() == [summary.case_id], "one case, updated, not inserted"
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    assert pull_cases(services.sink, store, identity, signing_keys=intake_signing_public_keys(settings)).pulled == 1, "the report is not taken for a redelivery of the alert"
    (merged,) = store.summaries()
    assert merged.case_id == summary.case_id and merged.urgent is True
    report = store.get(summary.case_id)
    assert report["kind"] == "report" and report["code"] == code and report["urgent"] is True
    assert report["description"] == DANGER["en"] + "\nThe exit on the second floor is always locked"
    assert report["answers"]["urgent"] is False
    (kept_alert,) = report["alerts"]
    assert kept_alert["kind"] == "alert" and kept_alert["description"] == DANGER["en"]
    exported = list(store.iter_cases(__import__("desk.operator_store", fromlist=["CaseFilter"]).CaseFilter()))
    assert len(exported) == 1 and "alerts" not in exported[0].record
    store.close()


def test_the_alert_comes_first_in_the_queue(services, send):
    Worker(services, send, "en", sender="+100").until("summary")
    send("+100", "1")  # an ordinary report, queued first
    worker = Worker(services, send, "en", sender="+200")
    worker.say(DANGER["en"])
    worker.say("1")
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    queued = EmbeddedQueue(services.sessions).peek()
    assert [item.urgent for item in queued] == [True, False]


def test_an_alert_that_cannot_be_queued_still_leaves_the_worker_with_the_contacts(services, send, monkeypatch):
    from storage.cases import CaseStore

    def broken(*_args, **_kwargs):
        raise ValueError("sealing failed")

    monkeypatch.setattr(CaseStore, "add_alert", broken)
    worker = Worker(services, send, "bn")
    worker.until("consent")
    worker.say(DANGER["bn"])
    replies = worker.say("1")
    contacts = "\n".join(services.settings.deployment.emergency_contacts)
    assert replies[0] == worker.t("alert.failed", contacts=contacts)
    assert worker.t("hint.write_more") in replies[-1]  # the danger message started the description
    assert alerts(services) == []
    assert conversations(services) == 1  # the turn was kept: what the worker wrote is not lost


@pytest.mark.parametrize("lang", LANGUAGES)
def test_danger_words_in_the_worker_language_at_the_menu_are_answered_in_that_language(services, send, lang):
    worker = Worker(services, send, lang)
    worker.say("hello")
    assert worker.say(DANGER[lang])[-1] == worker.danger_prompt(lang)
    assert worker.say("2")[0] == worker.t("alert.not_sent", lang)


# ---------------------------------------------------------------- 2. nothing the worker writes is lost


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_first_message_that_says_something_is_kept_and_starts_the_description(services, send, lang):
    worker = Worker(services, send, lang)
    first = worker.say(STORY[lang])
    assert first[0].startswith(worker.t("welcome", name=services.settings.deployment.name) + "\n" + worker.t("kept.note"))
    assert worker.t("kept.start", done=_done(lang)) in worker.say(menu_number(services, lang))[0]
    worker.say(_done(lang))  # the consent: what was kept is the description
    assert worker.t("hint.write_more") in worker.last[-1]
    _finish_from_category(worker)
    (case,) = sealed_cases(services)
    assert case["description"] == STORY[lang]


def _finish_from_category(worker: Worker) -> None:
    """From the category (or its suggestion) through sending the summary, answering plainly."""
    _finish_to_summary(worker)
    assert CODE_SHOWN.search(worker.say("1")[-1])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_welcome_is_in_the_language_of_the_first_message(services, send, lang):
    replies = send("+1555", STORY[lang])
    assert replies[0].startswith(services.catalogs.text(lang, "welcome", name=services.settings.deployment.name))


def test_a_greeting_is_not_kept(services, send):
    worker = Worker(services, send, "en")
    assert worker.say("hello")[0].startswith(worker.t("welcome", name=services.settings.deployment.name) + "\n")
    assert worker.t("kept.start", done="DONE") not in worker.say("1")[0]
    assert worker.say("yes") == [worker.t("ask.description")]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_story_typed_at_the_privacy_notice_is_the_consent_and_the_description(services, send, lang):
    worker = Worker(services, send, lang)
    worker.until("consent")
    replies = worker.say(STORY[lang])
    assert replies[0] == worker.t("description.thanks") and worker.t("hint.write_more") in replies[-1]
    worker.say(ANSWERS[lang]["description"])  # more of it
    _finish_from_category(worker)
    (case,) = sealed_cases(services)
    assert case["description"] == STORY[lang] + "\n" + ANSWERS[lang]["description"]


def test_a_story_typed_at_the_language_menu_is_kept(services, send):
    worker = Worker(services, send, "en")
    worker.say("hi")
    replies = worker.say(STORY["en"])
    assert replies[0] == worker.t("kept.note") and worker.t("language.menu") in replies[-1]
    assert worker.t("kept.start", done="DONE") in worker.say("1")[0]


def test_consent_no_erases_what_was_kept(services, send, settings):
    worker = Worker(services, send, "en")
    worker.say(STORY["en"])
    worker.say("1")
    assert worker.say("2")[0] == worker.t("error.need_words") and conversations(services) == 1  # no numbered NO here
    assert worker.say("no") == [worker.t("consent.declined")]
    assert conversations(services) == 0
    assert worker.say("hello")[0].startswith(worker.t("welcome", name=settings.deployment.name))


# ---------------------------------------------------------------- 3. CHANGE of the description


def _to_change_description(worker: Worker) -> None:
    worker.until("summary")
    worker.say("2")  # change
    replies = worker.say("1")  # the description
    assert replies[-1] == worker.t("ask.change_description") + f"\n1 {worker.t('value.add')}\n2 {worker.t('value.replace')}"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("how", "expected"), [("1", "add"), ("2", "replace"), ("typed", "add")])
def test_change_of_the_description_adds_by_default_or_replaces(services, send, lang, how, expected):
    worker = Worker(services, send, lang)
    _to_change_description(worker)
    new = "New detail about the same problem."
    if how == "typed":
        replies = worker.say(new)
    else:
        assert worker.say(how) == [worker.t("ask.description")]
        replies = worker.say(new)
    assert replies[-1].startswith(worker.t("summary.check", summary="\x00").split("\x00")[0])
    worker.say("1")
    (case,) = sealed_cases(services)
    original = ANSWERS[lang]["description"]
    assert case["description"] == (original + "\n" + new if expected == "add" else new)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_new_danger_words_on_change_ask_about_danger_again(services, send, lang):
    worker = Worker(services, send, lang)
    worker.until("consent")
    worker.say(DANGER[lang])
    worker.say("2")  # no alert the first time
    worker.say("1")  # consent: the danger message starts the description
    worker.say(_done(lang))
    # go on to the summary, then CHANGE the description with new danger words
    _finish_to_summary(worker)
    worker.say("2")
    worker.say("1")
    worker.say("1")  # add
    replies = worker.say(DANGER[lang])
    assert replies[-1] == worker.danger_prompt()
    replies = worker.say("1")
    assert CODE_SHOWN.search(replies[0]) and replies[-1].startswith(worker.t("summary.check", summary="\x00").split("\x00")[0])
    (alert,) = alerts(services)
    assert alert["description"].count(DANGER[lang]) == 2


def _finish_to_summary(worker: Worker) -> None:
    summary = worker.t("summary.check", summary="\x00").split("\x00")[0]
    for _ in range(30):
        if worker.last[-1].startswith(summary):
            return
        last = worker.last[-1]
        if worker.t("hint.yes_no") in last:
            worker.say("2" if worker.t("ask.urgent") in last or worker.t("ask.contact_consent") in last else "1")
        elif worker.t("ask.category") in last:
            worker.say("1")
        elif worker.t("ask.people_affected") in last:
            worker.say("12")
        else:  # a text question: its answer, or SKIP where it may be skipped
            worker.say("skip" if worker.t("hint.skip", skip="\x00").split("\x00")[0] in last else "Gazipur")
    raise AssertionError(worker.last)


def test_a_message_in_answer_mode_with_danger_words_also_reaches_the_case(services, send):
    worker = Worker(services, send, "en")
    worker.in_dialogue()
    replies = worker.say(DANGER["en"])
    assert replies[0] == worker.t("dialogue.added", cancel="EXIT")  # SMS never names an opt-out word
    assert replies[-1] == worker.danger_prompt()


def test_small_talk_at_the_danger_question_asks_it_again(services):
    worker_sender = "+999"
    services.intake.receive(InboundMessage(channel="sms", sender=worker_sender, text=DANGER["en"]))
    reply = services.intake.receive(InboundMessage(channel="sms", sender=worker_sender, text="thank you"))
    assert reply.texts[0] == services.catalogs.text("en", "error.yes_no")
    assert reply.texts[-1].endswith(services.catalogs.text("en", "hint.yes_no"))


@pytest.mark.parametrize("lang", ["en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es"])
def test_the_danger_question_with_its_contacts_fits_three_sms_segments(lang):
    """The whole reply a worker in danger pays for: the contacts, the question and the YES/NO hint."""
    from bot.i18n import Catalogs
    from channels.sms_segments import count_segments

    catalogs = Catalogs((lang,))
    contacts = "Emergency services: 999\nDuty officer: 0100 200 300"
    prompt = (
        catalogs.text(lang, "danger.contacts", contacts=contacts) + "\n\n" + catalogs.text(lang, "ask.alert") + "\n"
        + catalogs.text(lang, "hint.yes_no")
    )  # fmt: skip
    assert count_segments(prompt).segments <= 3


@pytest.mark.parametrize("contact", [True, False], ids=["contact-yes", "contact-no"])
def test_an_alert_in_answer_mode_joins_the_workers_case_and_never_moves_its_reply_address(services, send, settings, contact):
    from storage.models import Case as CaseRow
    from bot.messages import ReplyAddress

    owner = Worker(services, send, "en", sender="+8801711000555")
    code = owner.in_dialogue(contact)
    stranger = Worker(services, send, "en", sender="+8801711000666")  # knows the code, writes from elsewhere
    stranger.say(f"STATUS {code}")
    stranger.say(DANGER["en"])
    sent = stranger.say("1")
    assert CODE_SHOWN.findall(sent[0]) == [f"{code[:4]} {code[4:7]} {code[7:10]} {code[10:]}"]
    with services.sessions.begin() as session:
        (row,) = session.execute(select(CaseRow)).scalars().all()
        assert row.urgent is True
        if not contact:  # the worker who said NO to contact is never written to: no address, not even the stranger's
            assert row.reply_address is None and row.contact_allowed is False
        else:
            held = ReplyAddress.from_json(crypto.decrypt_reply_address(services.secrets, row.case_id, row.reply_address))
            assert held.address == "+8801711000555"
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    identity = identity_of(settings)
    store = OperatorStore(store_location(settings), identity)
    assert pull_cases(services.sink, store, identity, signing_keys=intake_signing_public_keys(settings)).pulled == 2
    (summary,) = store.summaries()
    assert summary.urgent is True
    record = store.get(summary.case_id)
    assert record["kind"] == "report" and [alert["description"] for alert in record["alerts"]] == [DANGER["en"]]
    store.close()


@pytest.mark.parametrize("first", ["FIRE!", "help fire", "আগুন!", "cháy!"])
def test_one_danger_word_as_the_first_message_is_enough(services, send, first):
    replies = send("+8801711000888", first)
    assert any(services.catalogs.text(lang, "ask.alert") in replies[-1] for lang in LANGUAGES)
    for contact in services.settings.deployment.emergency_contacts:
        assert contact in replies[-1]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("how", ["consent no", "stop", "delete"])
def test_ending_the_conversation_after_an_alert_says_the_alert_stays_with_the_team(services, send, lang, how):
    from nlu import phrases

    worker = Worker(services, send, lang)
    worker.until("language")
    worker.say(DANGER[lang])  # at the menu: kept aside until consent
    (shown,) = CODE_SHOWN.findall(worker.say("1")[0])
    worker.say("2")  # may the team write back? NO
    worker.say(menu_number(services, lang))  # the privacy notice
    replies = worker.say({"consent no": phrases("no", lang)[0], "stop": phrases("cancel", lang)[0], "delete": phrases("delete", lang)[0]}[how])
    assert worker.t("alert.already_sent", code=shown) in replies
    assert conversations(services) == 0
    assert len(alerts(services)) == 1  # not taken back


# ---------------------------------------------------------------- 4. danger first across the flow's pauses, erase question, language switch


@pytest.fixture
def clock(monkeypatch):
    """clock(minutes): from now on the intake sees the time `minutes` later than the real one."""
    import bot.intake as intake_module
    from datetime import timedelta
    from storage.db import utcnow

    def move(minutes: float) -> None:
        shifted = utcnow() + timedelta(minutes=minutes)
        monkeypatch.setattr(intake_module, "utcnow", lambda: shifted)

    return move


@pytest.mark.parametrize("lang", LANGUAGES)
def test_danger_words_after_a_pause_get_welcome_back_and_the_alert_question(services, send, clock, lang):
    worker = Worker(services, send, lang)
    worker.until("workplace")
    clock(45)
    replies = worker.say(DANGER[lang])
    assert replies[0] == worker.t("welcome_back") and replies[-1] == worker.danger_prompt()


@pytest.mark.parametrize("answer", ["1", "yes"])
def test_yes_to_the_alert_question_after_a_pause_sends_the_alert(services, send, clock, answer):
    worker = Worker(services, send, "en")
    worker.until("workplace")
    worker.say(DANGER["en"])
    clock(45)  # the worker answers the alert question after a while: that YES is no small talk
    replies = worker.say(answer)
    assert CODE_SHOWN.search("\n".join(replies)), replies
    from storage.models import OutboxEntry

    with services.sessions.begin() as session:  # sealed and waiting, urgent (due at the moved clock's time)
        assert session.execute(select(OutboxEntry.urgent)).scalars().all() == [True]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_danger_words_at_the_erase_question_come_first_and_the_report_is_kept(services, send, lang):
    from nlu import phrases

    worker = Worker(services, send, lang)
    worker.until("workplace")
    worker.say(phrases("delete", lang)[0])
    assert worker.last == [worker.t("erase.confirm") + "\n" + worker.t("hint.yes_no")]
    assert worker.say(DANGER[lang])[-1] == worker.danger_prompt()
    replies = worker.say("2")  # no alert
    assert replies[0] == worker.t("alert.not_sent") and replies[-1] == worker.t("ask.workplace")
    worker.say(ANSWERS[lang]["workplace"])  # an answer, not a YES to erasing
    assert conversations(services) == 1
    _finish_from_category(worker)
    (case,) = sealed_cases(services)
    assert DANGER[lang] in case["description"] and case["answers"]["workplace"] == ANSWERS[lang]["workplace"]


def test_danger_words_at_the_language_menu_mid_report_come_first_and_join_the_description(services, send):
    worker = Worker(services, send, "en")
    worker.until("workplace")
    worker.say("LANGUAGE")
    assert worker.t("language.menu") in worker.last[-1]
    assert worker.say(DANGER["en"])[-1] == worker.danger_prompt()
    assert worker.t("language.menu") in worker.say("2")[-1]  # back where they were
    worker.say("1")  # English again
    assert worker.last[-1] == worker.t("ask.workplace")
    worker.say(ANSWERS["en"]["workplace"])
    _finish_from_category(worker)
    (case,) = sealed_cases(services)
    assert case["description"] == ANSWERS["en"]["description"] + "\n" + DANGER["en"]


def test_a_language_named_at_the_alert_question_asks_it_again_in_that_language(services, send):
    worker = Worker(services, send, "en")
    worker.until("workplace")
    worker.say(DANGER["en"])
    replies = worker.say("Español")
    assert replies[-1] == worker.danger_prompt("es")
    assert alerts(services) == []


def test_after_danger_words_at_the_erase_question_a_yes_answers_the_step_not_the_erase(services, send):
    from nlu import phrases

    worker = Worker(services, send, "en")
    worker.until("contact_consent")  # "May the hotline team write to you...? 1 = YES, 2 = NO"
    worker.say(phrases("delete", "en")[0])
    assert worker.say(DANGER["en"])[-1] == worker.danger_prompt()
    assert worker.say("2")[-1].startswith(worker.t("ask.contact_consent"))
    replies = worker.say("1")  # yes, write to me: the erase question was dropped for the danger
    assert worker.t("deleted") not in replies and conversations(services) == 1
    assert replies[-1].startswith(worker.t("ask.referral_consent"))


@pytest.mark.parametrize(("answer", "erased"), [("1", True), ("2", False)])
def test_delete_at_the_alert_question_asks_first_and_that_answer_is_about_erasing(services, send, answer, erased):
    from nlu import phrases

    worker = Worker(services, send, "en")
    worker.until("workplace")
    worker.say(DANGER["en"])
    assert worker.say(phrases("delete", "en")[0]) == [worker.t("erase.confirm") + "\n" + worker.t("hint.yes_no")]
    replies = worker.say(answer)
    assert alerts(services) == [], "a YES to erasing is no YES to the alert"
    if erased:
        assert replies == [worker.t("deleted"), worker.t("erase.on_phone")] and conversations(services) == 0
    else:
        assert replies == [worker.t("erase.kept"), worker.danger_prompt()]  # asked about the alert again
