"""The intake conversation, step by step, through the real Intake (SQLite, keys, sealing).

From first contact (welcome, language menu) through consent, the description in
several messages, the NLU's category suggestion, every configured question, the
summary (change, cancel, send) to the case code and STATUS; then BACK, whole
conversations in each shipped language with that language's own words, restarts
and the idle expiry of unfinished reports. Expected wording is always rendered
from the catalogs, so these tests hold in every language.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.casecode import format_code, is_valid_code
from bot.messages import InboundMessage
from bot.services import build_services
from nlu import phrases
from storage import crypto
from storage.db import utcnow
from storage.embedded_queue import EmbeddedQueue
from storage.models import Conversation
from storage.outbox import forward_outbox
from storage.retention import purge_expired
from engine_support import conversations, prompt_part, sealed_cases, shown_word, the_case
from worker_scripts import ANSWERS, NEUTRAL, MORE

LANGUAGES = ("en", "bn", "vi", "es")
CODE_SHOWN = re.compile(r"\b[0-9]{4} [0-9]{3} [0-9]{3} [0-9]{4}\b")

# What a worker writes, per language: the description makes the built-in NLU suggest "wages".
QUESTION_STEPS = ("workplace", "location", "brand", "when", "people_affected", "urgent", "contact_consent", "referral_consent")


def word(kind: str, lang: str) -> str:
    """The canonical keyword of `kind` in `lang`, from nlu/data/keywords.yaml."""
    return phrases(kind, lang)[0]


def menu_number(services, lang: str) -> str:
    return str(services.settings.deployment.languages.index(lang) + 1)


def script(services, lang: str, *, suggestion: bool = True, **overrides: str) -> list[tuple[str, str]]:
    """(step the bot is at, what the worker sends there), from first contact to sending the summary."""
    answers = {**ANSWERS[lang], **({} if suggestion else {"description": NEUTRAL[lang]}), **overrides}
    steps = [("start", "hello"), ("language", menu_number(services, lang)), ("consent", "yes"), ("description", answers["description"])]
    steps.append(("suggest", "1") if suggestion else ("category", "3"))
    steps += [(step, answers[step]) for step in ("workplace", "location", "brand", "when")]
    steps += [("people_affected", answers["people_affected"]), ("urgent", "2"), ("contact_consent", "2"), ("referral_consent", "1")]
    steps.append(("summary", "1"))
    return steps


class Chat:
    """One worker's conversation: `until(step)` drives it there, checking each question asked."""

    def __init__(self, services, send, lang: str, sender: str = "+8801711000001", channel: str = "sms", **script_options) -> None:
        self.services, self._send, self.lang, self.sender, self.channel = services, send, lang, sender, channel
        self.steps = script(services, lang, **script_options)
        self.position = 0  # index in `steps` of the step the bot is at
        self.prompt: str | None = None  # the last question asked
        self.prompts: dict[str, str] = {}

    def say(self, text: str) -> list[str]:
        return self._send(self.sender, text, channel=self.channel)

    def t(self, key: str, **values: object) -> str:
        return self.services.catalogs.text(self.lang, key, **values)

    @property
    def step(self) -> str:
        return self.steps[self.position][0]

    def answer(self) -> list[str]:
        """Send the scripted answer of the current step; check the next question is asked."""
        _, text = self.steps[self.position]
        replies = self.say(text)
        self.position += 1
        if self.position < len(self.steps):
            assert prompt_part(self.services, self.lang, self.step) in replies[-1], (self.step, replies)
            self.prompt = self.prompts[self.step] = replies[-1]
        return replies

    def at(self, step: str) -> None:
        """The bot is at `step` now (the test moved the conversation by hand)."""
        self.position = [name for name, _ in self.steps].index(step)

    def moved_on(self) -> None:
        """The test answered the current step by hand; the bot is at the next one."""
        self.position += 1

    def until(self, step: str) -> str:
        """Answer every step before `step`; return the question asked at `step`."""
        target = [name for name, _ in self.steps].index(step)
        assert target >= self.position, f"already past {step}"
        while self.position < target:
            self.answer()
        return self.prompt

    def finish(self) -> list[str]:
        """Answer from the current step through sending the summary; return the last replies."""
        replies = []
        while self.position < len(self.steps):
            replies = self.answer()
        return replies


def code_in(replies: list[str]) -> str:
    found = CODE_SHOWN.findall(replies[-1])
    assert len(found) == 1, replies
    return found[0].replace(" ", "")


def expire_all_drafts(services) -> None:
    with services.sessions.begin() as session:
        session.execute(update(Conversation).values(expires_at=utcnow() - timedelta(minutes=1)))


# ---------------------------------------------------------------- first contact and language


def test_first_contact_gets_the_welcome_and_a_menu_of_endonyms(services, send):
    replies = send("+8801711000001", "hello")
    catalogs, deployment = services.catalogs, services.settings.deployment
    assert len(replies) == 1  # one message, one SMS segment for four languages
    assert replies[0].startswith(catalogs.text(deployment.default_language, "welcome", name=deployment.name) + "\n")
    menu = replies[0]
    assert catalogs.text(deployment.default_language, "language.menu") in menu
    for number, lang in enumerate(deployment.languages, 1):
        assert f"{number} {catalogs.text(lang, 'language.name')}" in menu.splitlines()
    assert [catalogs.text(lang, "language.name") for lang in LANGUAGES] == ["English", "বাংলা", "Tiếng Việt", "Español"]
    assert conversations(services) == 1


@pytest.mark.parametrize("lang", LANGUAGES)
def test_language_chosen_by_number_gives_privacy_notice_and_what_happened_in_that_language(services, send, lang):
    send("w", "hi")
    replies = send("w", menu_number(services, lang))
    t = services.catalogs.text
    assert replies == [t(lang, "privacy", no=shown_word("no", lang)) + "\n\n" + t(lang, "ask.description")]


@pytest.mark.parametrize(
    ("typed", "lang"),
    [("বাংলা", "bn"), ("Español", "es"), ("español", "es"), ("ESPANOL", "es"), ("Tiếng Việt", "vi"), ("tieng viet", "vi"),
     ("English", "en"), ("Bengali", "bn"), ("Spanish", "es"), ("২", "bn"), ("৪", "es"), ("３", "vi")],
)  # fmt: skip
def test_language_chosen_by_endonym_english_name_or_local_digit(services, send, typed, lang):
    send("w", "hi")
    replies = send("w", typed)
    assert replies[0].startswith(services.catalogs.text(lang, "privacy", no=shown_word("no", lang)))
    assert services.catalogs.text(lang, "ask.description") in replies[0]


# ---------------------------------------------------------------- consent


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("how", ["word", "english word"])
def test_consent_yes_by_word_asks_what_happened(services, send, lang, how):
    chat = Chat(services, send, lang)
    chat.until("consent")
    replies = chat.say({"word": word("yes", lang), "english word": "yes"}[how])
    assert replies == [chat.t("ask.description")]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("how", ["word", "english word"])
def test_consent_no_keeps_nothing_and_the_next_message_starts_over(services, send, lang, how):
    chat = Chat(services, send, lang)
    chat.until("consent")
    replies = chat.say("no" if how == "english word" else word("no", lang))
    assert replies == [chat.t("consent.declined")]
    assert conversations(services) == 0
    again = chat.say("hello?")
    default = services.settings.deployment.default_language
    assert again[0].startswith(services.catalogs.text(default, "welcome", name=services.settings.deployment.name))
    assert services.catalogs.text(default, "language.menu") in again[0]


# ---------------------------------------------------------------- description and category


@pytest.mark.parametrize("lang", LANGUAGES)
def test_description_in_several_messages_is_sealed_whole_joined_by_newlines(services, send, lang):
    chat = Chat(services, send, lang)
    chat.until("description")
    first = chat.say(ANSWERS[lang]["description"])
    assert first[0] == chat.t("description.thanks")
    assert chat.t("hint.write_more") in first[-1]  # more text is still welcome
    more = ["Second part of what happened.", "Third part, also about the wages."]
    for part in more:
        assert chat.say(part) == [chat.t("description.added"), first[-1]]
    chat.at("suggest")
    chat.finish()
    case = the_case(services)
    assert case["description"] == "\n".join([ANSWERS[lang]["description"], *more])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_nlu_suggestion_accepted_becomes_the_category(services, send, lang):
    chat = Chat(services, send, lang)
    chat.until("description")
    replies = chat.say(ANSWERS[lang]["description"])
    suggestion = chat.t("ask.suggestion", category=chat.t("category.wages"))
    assert replies[-1].startswith(suggestion)
    assert chat.t("hint.yes_no") in replies[-1]
    assert chat.say(word("yes", lang)) == [chat.t("ask.workplace")]
    chat.at("workplace")
    chat.finish()
    case = the_case(services)
    assert case["category"] == "wages"
    assert case["nlu"]["suggested_category"] == "wages"
    assert case["nlu"]["confidence"] >= services.settings.nlu.suggestion_min_confidence


@pytest.mark.parametrize("lang", LANGUAGES)
def test_nlu_suggestion_refused_shows_the_category_menu_and_a_number_picks_one(services, send, lang):
    chat = Chat(services, send, lang)
    chat.until("suggest")
    menu = chat.say(word("no", lang))
    assert len(menu) == 1 and menu[0].startswith(chat.t("ask.category"))
    categories = services.settings.flow.categories
    for number, code in enumerate(categories, 1):
        assert f"{number} {chat.t(f'category.{code}')}" in menu[0].splitlines()
    safety = categories.index("safety") + 1
    assert chat.say(str(safety)) == [chat.t("ask.workplace")]
    chat.at("workplace")
    chat.finish()
    case = the_case(services)
    assert case["category"] == "safety"
    assert case["nlu"]["suggested_category"] == "wages"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_without_a_suggestion_the_category_menu_comes_at_once(services, send, lang):
    chat = Chat(services, send, lang, suggestion=False)
    chat.until("description")
    replies = chat.say(NEUTRAL[lang])
    assert replies[0] == chat.t("description.thanks")
    assert replies[1].startswith(chat.t("ask.category"))
    assert chat.t("hint.write_more") in replies[1]
    chat.moved_on()
    chat.finish()
    case = the_case(services)
    assert case["category"] == services.settings.flow.categories[2]
    assert case["nlu"]["suggested_category"] is None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_done_word_after_back_to_the_description_moves_on_without_being_kept(services, send, lang):
    chat = Chat(services, send, lang)
    suggestion = chat.until("suggest")
    assert chat.say(word("back", lang)) == [chat.t("ask.description")]
    assert chat.say(word("done", lang)) == [suggestion]
    chat.finish()
    assert the_case(services)["description"] == ANSWERS[lang]["description"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_done_word_while_the_description_is_open_is_not_added_to_it(services, send, lang):
    chat = Chat(services, send, lang, suggestion=False)
    chat.until("category")
    replies = chat.say(word("done", lang))
    # The menu was just shown: a short hint, not the whole menu again (SMS segments cost money).
    assert replies == [chat.t("hint.category_again", max=len(services.settings.flow.categories), help=shown_word("help", lang))]
    chat.finish()
    assert the_case(services)["description"] == NEUTRAL[lang]


# ---------------------------------------------------------------- the configured questions


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_configured_question_is_asked_in_order_and_sealed(services, send, lang):
    chat = Chat(services, send, lang)
    chat.until("workplace")
    asked = []
    for step in QUESTION_STEPS:
        assert chat.step == step
        asked.append(step)
        chat.answer()
    assert chat.step == "summary"
    assert asked == [q.id for q in services.settings.flow.questions if q.kind != "category"]
    chat.finish()
    case = the_case(services)
    assert case["answers"] == {
        "workplace": ANSWERS[lang]["workplace"],
        "location": ANSWERS[lang]["location"],
        "brand": ANSWERS[lang]["brand"],
        "when": ANSWERS[lang]["when"],
        "referral_consent": True,
        "people_affected": 40,
        "urgent": False,
        "contact_consent": False,
    }


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("source", ["native", "english"])
def test_optional_brand_can_be_skipped(services, send, lang, source):
    chat = Chat(services, send, lang)
    prompt = chat.until("brand")
    skip = word("skip", lang) if source == "native" else "skip"
    assert chat.t("hint.skip", skip=word("skip", lang).upper()) in prompt
    assert chat.say(skip) == [chat.t("ask.when")]
    chat.moved_on()
    summary = chat.until("summary")
    assert chat.t("label.brand") not in summary and ": -" not in summary  # an unanswered optional question is left out
    chat.finish()
    assert the_case(services)["answers"]["brand"] is None


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("answer", "expected"),
    [("1", True), ("2", False), ("yes", True), ("no", False), ("native yes", True), ("native no", False)],
)
def test_yes_no_question_takes_numbers_and_words(services, send, lang, answer, expected):
    chat = Chat(services, send, lang)
    prompt = chat.until("referral_consent")
    assert chat.t("hint.yes_no") in prompt
    text = word(answer.split()[1], lang) if answer.startswith("native") else answer
    assert chat.say(text)[-1].startswith(prompt_part(services, lang, "summary"))
    chat.moved_on()
    chat.finish()
    assert the_case(services)["answers"]["referral_consent"] is expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("40", 40), ("about 40", 40), ("৪০", 40), ("প্রায় ৪০ জন", 40), ("khoảng 40 người", 40), ("unas 40 personas", 40),
     ("around 1,200 workers", 1200), ("४०", 40), ("０", 0)],
)  # fmt: skip
def test_number_question_reads_the_number_among_words_and_local_digits(services, send, typed, expected):
    chat = Chat(services, send, "en")
    chat.until("people_affected")
    assert chat.say(typed) == [chat.t("ask.urgent") + "\n" + chat.t("hint.yes_no")]
    chat.moved_on()
    chat.finish()
    assert the_case(services)["answers"]["people_affected"] == expected


@pytest.mark.parametrize("lang", LANGUAGES)
def test_urgent_yes_sends_the_emergency_contacts_at_once_and_marks_the_case_urgent(services, send, lang):
    chat = Chat(services, send, lang)
    chat.until("urgent")
    replies = chat.say(word("yes", lang))
    contacts = services.settings.deployment.emergency_contacts
    assert contacts, "the test deployment has emergency contacts"
    assert replies[0] == chat.t("urgent.contacts", contacts="\n".join(contacts))
    for contact in contacts:
        assert contact in replies[0]
    assert chat.t("ask.contact_consent") in replies[1]
    chat.moved_on()
    summary = chat.until("summary")
    assert f"{chat.t('label.urgent')}: {chat.t('value.yes')}" in summary.splitlines()
    chat.finish()
    case = the_case(services)
    assert case["urgent"] is True and case["answers"]["urgent"] is True
    assert EmbeddedQueue(services.sessions).peek()[0].urgent is True


@pytest.mark.parametrize("lang", LANGUAGES)
def test_urgent_no_sends_no_contacts_and_the_case_is_not_urgent(services, send, lang):
    chat = Chat(services, send, lang)
    chat.until("urgent")
    replies = chat.say(word("no", lang))
    assert len(replies) == 1 and chat.t("ask.contact_consent") in replies[0]
    for contact in services.settings.deployment.emergency_contacts:
        assert contact not in replies[0]
    chat.moved_on()
    chat.finish()
    assert the_case(services)["urgent"] is False


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "telegram"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_contact_consent_yes_seals_the_senders_address(services, send, lang, channel):
    sender = {"sms": "+8801711000042", "whatsapp": "whatsapp:+8801711000042", "telegram": "123456789"}[channel]
    chat = Chat(services, send, lang, sender=sender, channel=channel)
    chat.until("contact_consent")
    assert chat.say(word("yes", lang))[0].startswith(chat.t("ask.referral_consent"))
    chat.moved_on()
    summary = chat.answer()
    assert f"{chat.t('label.contact_consent')}: {chat.t('value.yes')}" in summary[0].splitlines()
    chat.finish()
    case = the_case(services)
    assert case["contact"] == {"channel": channel, "address": sender}
    assert case["answers"]["contact_consent"] is True
    assert case["channel"] == channel


@pytest.mark.parametrize("lang", LANGUAGES)
def test_contact_consent_no_leaves_contact_null(services, send, lang):
    chat = Chat(services, send, lang)
    chat.until("contact_consent")
    assert chat.t("ask.contact_consent") in chat.prompt
    chat.finish()
    case = the_case(services)
    assert case["contact"] is None
    assert case["answers"]["contact_consent"] is False
    assert "+8801711000001" not in json.dumps(case)


# ---------------------------------------------------------------- summary, change, cancel, send


@pytest.mark.parametrize("lang", LANGUAGES)
def test_summary_reads_back_every_answer(services, send, lang):
    chat = Chat(services, send, lang)
    summary = chat.until("summary")
    t, answers = chat.t, ANSWERS[lang]
    lines = summary.splitlines()
    assert summary.startswith(prompt_part(services, lang, "summary"))
    words = [shown_word(kind, lang) for kind in ("confirm", "change", "cancel")]
    assert summary.endswith("\n" + ", ".join(f"{i} {w}" for i, w in enumerate(words, 1)))
    assert answers["description"] not in summary  # the worker's story is not quoted back (SMS segments)
    assert t("category.wages") in lines
    for step in ("workplace", "location", "brand", "when"):  # the worker's own words, without a label
        assert answers[step] in lines
    assert f"{t('label.referral_consent')}: {t('value.yes')}" in lines
    assert f"{t('label.people_affected')}: 40" in lines
    assert f"{t('label.urgent')}: {t('value.no')}" in lines
    assert f"{t('label.contact_consent')}: {t('value.no')}" in lines


def test_summary_leaves_out_a_long_description_but_the_case_keeps_it_whole(services, send):
    long_description = "They did not pay our wages. " * 20
    chat = Chat(services, send, "en", description=long_description)
    summary = chat.until("summary")
    assert "They did not pay" not in summary
    chat.finish()
    assert the_case(services)["description"] == long_description.strip()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("how", ["number", "word"])
def test_change_one_answer_returns_to_the_summary_with_the_new_value(services, send, lang, how):
    chat = Chat(services, send, lang)
    chat.until("summary")
    menu = chat.say("2" if how == "number" else word("change", lang))
    assert len(menu) == 1 and menu[0].startswith(chat.t("ask.change"))
    fields = ["description", *(q.id for q in services.settings.flow.questions)]
    for number, field_id in enumerate(fields, 1):
        assert f"{number} {chat.t(f'label.{field_id}')}" in menu[0].splitlines()
    assert chat.say(str(fields.index("workplace") + 1)) == [chat.t("ask.workplace")]
    summary = chat.say("Sunrise Knitwear")
    assert len(summary) == 1
    assert "Sunrise Knitwear" in summary[0].splitlines()
    assert ANSWERS[lang]["workplace"] not in summary[0]
    assert ANSWERS[lang]["location"] in summary[0].splitlines()
    chat.finish()
    case = the_case(services)
    assert case["answers"]["workplace"] == "Sunrise Knitwear"
    assert case["answers"]["location"] == ANSWERS[lang]["location"]


def test_change_the_description_replaces_it(services, send):
    chat = Chat(services, send, "en")
    chat.until("summary")
    chat.say("2")
    assert chat.say("1")[0].startswith(chat.t("ask.change_description"))  # add (1, the default) or replace (2)
    assert chat.say("2") == [chat.t("ask.description")]
    summary = chat.say("They locked the fire exit during the night shift.")
    if chat.t("ask.alert") in summary[-1]:  # danger words: the alert question first (tests/test_engine_danger.py)
        summary = chat.say("2")[1:]
    assert summary[0].startswith(prompt_part(services, "en", "summary"))
    chat.finish()
    assert the_case(services)["description"] == "They locked the fire exit during the night shift."


def test_change_a_yes_no_answer_and_the_category(services, send):
    chat = Chat(services, send, "en")
    chat.until("summary")
    fields = ["description", *(q.id for q in services.settings.flow.questions)]
    chat.say("2")
    chat.say(str(fields.index("referral_consent") + 1))
    summary = chat.say("no")
    assert f"{chat.t('label.referral_consent')}: {chat.t('value.no')}" in summary[0].splitlines()
    chat.say("2")
    assert chat.say(str(fields.index("category") + 1))[0].startswith(chat.t("ask.category"))
    summary = chat.say(str(services.settings.flow.categories.index("hours") + 1))
    assert chat.t("category.hours") in summary[0].splitlines()
    chat.finish()
    case = the_case(services)
    assert case["answers"]["referral_consent"] is False and case["category"] == "hours"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_done_while_changing_the_description_keeps_it_and_returns_to_the_summary(services, send, lang):
    chat = Chat(services, send, lang)
    summary = chat.until("summary")
    chat.say("2")
    chat.say("1")
    assert chat.say(word("done", lang)) == [summary]
    chat.finish()
    case = the_case(services)
    assert case["description"] == ANSWERS[lang]["description"] and case["category"] == "wages"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("how", ["3", "native cancel", "english cancel"])
def test_cancel_from_the_summary_erases_everything(services, send, lang, how):
    chat = Chat(services, send, lang)
    chat.until("summary")
    text = {"3": "3", "native cancel": word("cancel", lang), "english cancel": "cancel"}[how]
    assert chat.say(text) == [chat.t("erase.confirm") + "\n" + chat.t("hint.yes_no")]  # asked first
    assert conversations(services) == 1
    assert chat.say("1") == [chat.t("cancelled")]
    assert conversations(services) == 0
    assert sealed_cases(services) == []


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("how", ["1", "native confirm", "english confirm"])
def test_sending_gives_a_grouped_14_digit_code_and_the_acknowledgement_days(services, send, lang, how):
    chat = Chat(services, send, lang)
    chat.until("summary")
    replies = chat.say({"1": "1", "native confirm": word("confirm", lang), "english confirm": "send"}[how])
    code = code_in(replies)
    assert len(code) == 14 and is_valid_code(code)
    days = services.settings.deployment.acknowledge_within_days
    assert replies == [chat.t("confirmed", code=format_code(code), days=days, status=word("status", lang).upper())]
    assert conversations(services) == 0  # the draft is gone once the case is sealed
    case = the_case(services)
    assert case["code"] == code
    received = datetime.strptime(case["received_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert date.fromisoformat(case["acknowledge_by"]) == (received + timedelta(days=days)).date()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_sealed_case_validates_and_every_field_is_answered(services, send, lang):
    chat = Chat(services, send, lang)
    replies = chat.finish()
    case = the_case(services)  # validates against the schema
    assert case["code"] == code_in(replies)
    assert case["language"] == lang
    assert case["channel"] == "sms"
    assert case["category"] == "wages"
    assert case["description"] == ANSWERS[lang]["description"]
    assert set(case["answers"]) == set(QUESTION_STEPS)
    assert all(value is not None for value in case["answers"].values()), case["answers"]
    assert case["nlu"]["backend"] == services.understander.name


def test_the_case_is_sealed_only_to_the_operator(services, send):
    Chat(services, send, "en").finish()
    forward_outbox(services.sessions, services.sink, max_attempts=3)
    sealed = EmbeddedQueue(services.sessions).peek()[0].sealed
    assert ANSWERS["en"]["workplace"].encode() not in sealed
    with pytest.raises(crypto.DecryptionError):
        crypto.open_case([crypto.new_operator_keypair()[0]], sealed)


# ---------------------------------------------------------------- STATUS after sending


@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_afterwards_reports_received_from_the_same_and_another_sender(services, send, lang):
    chat = Chat(services, send, lang)
    code = code_in(chat.finish())

    def received_line(reply_lang: str) -> str:
        t = services.catalogs.text
        return t(reply_lang, "status.line", code=format_code(code), status=t(reply_lang, "case_status.received"))

    same = chat.say(f"{word('status', lang)} {format_code(code)}")
    assert same[0] == received_line(lang)  # the case's own language, kept with the case
    assert conversations(services) == 1 and chat.say(word("cancel", lang))  # the dialogue opened; STOP ends it
    other = send("someone-else", f"STATUS {code}", channel="telegram")
    # From any phone the case's news comes in the case's language, then the dialogue opens.
    assert other[0] == received_line(lang)
    assert conversations(services) == 1 and send("someone-else", "STOP", channel="telegram")
    assert conversations(services) == 0  # STOP ends the dialogue: nothing of it is kept


# ---------------------------------------------------------------- BACK


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("source", ["native", "english"])
def test_back_walks_back_one_step_at_a_time_to_the_first_question(services, send, lang, source):
    chat = Chat(services, send, lang)
    chat.until("summary")
    back = word("back", lang) if source == "native" else "back"
    walk = [*reversed(QUESTION_STEPS), "suggest", "description", "consent"]
    write_more = "\n" + chat.t("hint.write_more")
    for step in walk:
        # The suggestion was first asked while more description was welcome; not any more.
        assert chat.say(back) == [chat.prompts[step].replace(write_more, "")], step
    assert chat.say(back) == [chat.t("back.at_start"), chat.prompts["consent"]]
    # Going forward again still reaches a complete case.
    chat.at("consent")
    chat.finish()
    assert the_case(services)["answers"]["workplace"] == ANSWERS[lang]["workplace"]


def test_back_at_the_language_menu_says_it_is_the_first_question(services, send):
    send("w", "hi")
    replies = send("w", "back")
    assert replies[0] == services.catalogs.text("en", "back.at_start")
    assert services.catalogs.text("en", "language.menu") in replies[1]


def test_back_from_the_summary_after_a_change_goes_to_the_last_question(services, send):
    chat = Chat(services, send, "en")
    chat.until("summary")
    chat.say("2")
    chat.say("3")  # workplace
    chat.say("Sunrise Knitwear")
    assert chat.say("back") == [chat.prompts["referral_consent"]]


def test_back_while_changing_an_answer_returns_to_the_summary_unchanged(services, send):
    chat = Chat(services, send, "en")
    summary = chat.until("summary")
    chat.say("2")
    chat.say("3")
    assert chat.say("back") == [summary]
    assert chat.say("back") == [chat.prompts["referral_consent"]]


def test_back_then_a_new_answer_replaces_the_old_one(services, send):
    chat = Chat(services, send, "en")
    chat.until("people_affected")
    assert chat.say("back") == [chat.prompts["when"]]
    chat.say("only yesterday")
    chat.finish()
    assert the_case(services)["answers"]["when"] == "only yesterday"


# ---------------------------------------------------------------- whole conversations per language


@pytest.mark.parametrize("lang", LANGUAGES)
def test_whole_conversation_in_the_workers_own_words(services, send, lang):
    """Every yes/no/skip/done/back/confirm is the language's own keyword, not a number."""
    answers = ANSWERS[lang]
    t = lambda key, **values: services.catalogs.text(lang, key, **values)  # noqa: E731
    sender = f"+84-worker-{lang}"
    say = lambda text: send(sender, text)  # noqa: E731
    say("hello")
    assert say(services.catalogs.text(lang, "language.name"))[0].startswith(t("privacy", no=shown_word("no", lang)))
    assert say(word("yes", lang)) == [t("ask.description")]
    assert say(answers["description"])[0] == t("description.thanks")
    assert say(MORE[lang])[0] == t("description.added")
    assert say(word("back", lang)) == [t("ask.description")]
    assert t("ask.suggestion", category=t("category.wages")) in say(word("done", lang))[0]
    assert say(phrases("yes", lang)[-1]) == [t("ask.workplace")]
    assert say(answers["workplace"]) == [t("ask.location")]
    assert t("ask.brand") in say(answers["location"])[0]
    # The second description message ("...yesterday") named a time: it is offered to confirm,
    # and typing another answer instead is taken as the answer.
    when = say(word("skip", lang))[0].split("\n")
    assert when[0] == t("ask.when") and when[-1] == t("hint.yes_no")
    assert t("ask.people_affected") in say(answers["when"])[0]
    assert t("ask.urgent") in say(answers["people_affected"])[0]
    urgent = say(word("yes", lang))
    assert urgent[0] == t("urgent.contacts", contacts="\n".join(services.settings.deployment.emergency_contacts))
    assert t("ask.referral_consent") in say(word("yes", lang))[0]
    summary = say(word("no", lang))
    assert summary[0].startswith(prompt_part(services, lang, "summary"))
    sent = say(word("confirm", lang))
    code = code_in(sent)
    days = services.settings.deployment.acknowledge_within_days
    # Danger now (YES above): an urgent report is not told to wait the usual days (issue 19).
    assert sent == [t("confirmed.urgent", code=format_code(code), days=days, status=word("status", lang).upper())]
    case = the_case(services)
    assert case["language"] == lang
    assert case["description"] == answers["description"] + "\n" + MORE[lang]
    assert case["category"] == "wages" and case["urgent"] is True
    assert case["answers"] == {
        "workplace": answers["workplace"], "location": answers["location"], "brand": None, "when": answers["when"],
        "referral_consent": False, "people_affected": 40, "urgent": True, "contact_consent": True,
    }  # fmt: skip
    assert case["contact"] == {"channel": "sms", "address": sender}


# ---------------------------------------------------------------- restarts and expiry


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_draft_survives_a_restart_and_resumes_where_it_was(services, send, settings, lang):
    chat = Chat(services, send, lang)
    prompt = chat.until("when")
    services.close()
    restarted = build_services(settings)
    try:

        def send_after_restart(sender: str, text: str, channel: str = "sms") -> list[str]:
            return list(restarted.intake.receive(InboundMessage(channel=channel, sender=sender, text=text)).texts)

        chat.services, chat._send = restarted, send_after_restart
        assert chat.say(word("help", lang))[-1] == prompt  # still at the same question
        chat.finish()
        case = the_case(restarted)
    finally:
        restarted.close()
    assert case["answers"]["workplace"] == ANSWERS[lang]["workplace"]
    assert case["answers"]["brand"] == ANSWERS[lang]["brand"]
    assert case["answers"]["when"] == ANSWERS[lang]["when"]
    assert case["description"] == ANSWERS[lang]["description"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_idle_draft_past_its_expiry_is_erased_and_the_worker_told(services, send, lang):
    chat = Chat(services, send, lang)
    chat.until("location")
    expire_all_drafts(services)
    replies = chat.say(ANSWERS[lang]["location"])
    hours = f"{services.settings.session.idle_expiry_hours:g}"
    assert replies[0] == services.catalogs.text(lang, "expired", hours=hours)  # in the worker's own language
    default = services.settings.deployment.default_language
    # The message is a first message again: the welcome, in its language when it is clear (and the
    # message kept when it says something: tests/test_engine_danger.py).
    welcomes = [services.catalogs.text(lang, "welcome", name=services.settings.deployment.name) for lang in LANGUAGES]
    assert any(replies[1].startswith(welcome) for welcome in welcomes)
    # The menu's header in the same language as the welcome (issue 21).
    headers = [services.catalogs.text(lang, "language.menu") for lang in (default, *LANGUAGES)]
    assert any(header in replies[1].splitlines() for header in headers)
    # What was answered before is gone: a new conversation starts at the language menu.
    privacy = services.catalogs.text(lang, "privacy", no=shown_word("no", lang))
    assert send(chat.sender, menu_number(services, lang))[0].startswith(privacy)


def test_a_draft_is_kept_while_it_is_not_idle_too_long(services, send):
    chat = Chat(services, send, "en")
    before = utcnow()
    chat.until("location")
    after = utcnow()
    with services.sessions.begin() as session:
        expires_at = session.execute(select(Conversation.expires_at)).scalar_one().replace(tzinfo=None)
    idle = timedelta(hours=services.settings.session.idle_expiry_hours)
    assert (before + idle).replace(tzinfo=None) <= expires_at <= (after + idle).replace(tzinfo=None)
    assert chat.say(ANSWERS["en"]["location"])[0].startswith(chat.t("ask.brand"))


def test_expiry_counts_from_the_last_message_with_a_moved_clock(services, send, monkeypatch):
    chat = Chat(services, send, "en")
    chat.until("location")
    later = utcnow() + timedelta(hours=services.settings.session.idle_expiry_hours, minutes=1)
    monkeypatch.setattr("bot.intake.utcnow", lambda: later)
    replies = chat.say(ANSWERS["en"]["location"])
    assert replies[0] == chat.t("expired", hours=f"{services.settings.session.idle_expiry_hours:g}")


def test_purge_erases_expired_drafts_and_keeps_live_ones(services, send):
    Chat(services, send, "en", sender="idle").until("workplace")
    expire_all_drafts(services)
    Chat(services, send, "bn", sender="active").until("workplace")
    assert conversations(services) == 2
    result = purge_expired(services.sessions)
    assert result.conversations == 1
    assert conversations(services) == 1
    replies = send("idle", "Rahman Garments")  # the idle worker starts over
    assert services.catalogs.text("en", "language.menu") in replies[-1]
    active = send("active", ANSWERS["bn"]["workplace"])
    assert active == [services.catalogs.text("bn", "ask.location")]
