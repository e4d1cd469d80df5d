"""Bad input at every kind of step, in every shipped language, through the real Intake.

Empty and blank messages, messages over `limits.max_message_chars`, emoji only,
control and invisible characters, wrong menu numbers, unknown slash commands, a
lone surrogate and random binary-ish text each get a short reply in the worker's
language (the catalog text of the expected error) and the same question again;
never an exception, and nothing already answered is lost: every test finishes
the conversation and checks the sealed case.
"""

from __future__ import annotations

import json
import random
import unicodedata

import pytest

from bot.messages import InboundMessage
from bot.services import build_services
from nlu import phrases
from storage.keys import init_keys
from engine_support import conversations, prompt_part, shown_word, the_case
from worker_scripts import ANSWERS, NEUTRAL

# Rows vary the words and the step, not what is stored: the PostgreSQL run takes one in six (tests/conftest.py).
pytestmark = pytest.mark.database_sampled(every=6)

LANGUAGES = ("en", "bn", "vi", "es")

CATEGORY_CHOICE = 3  # "safety" in the default category menu

TOO_LONG = ("word " * 2000).strip() + " and more"  # 10,009 characters
EMOJI = "😀🙏🔥😭"
BINARY = random.Random(31).randbytes(400).decode("latin-1")
LONE_SURROGATE = "\ud800"


def script(services, lang: str, *, suggestion: bool = True) -> list[tuple[str, str]]:
    """(step the bot is at, what the worker sends there), from first contact to sending."""
    answers = ANSWERS[lang]
    number = str(services.settings.deployment.languages.index(lang) + 1)
    steps = [("start", "hello"), ("language", number), ("consent", "yes")]
    if suggestion:
        steps += [("description", answers["description"]), ("suggest", "1")]
    else:
        steps += [("description", NEUTRAL[lang]), ("category", str(CATEGORY_CHOICE))]
    steps += [("workplace", answers["workplace"]), ("location", answers["location"]), ("brand", answers["brand"]),
              ("when", answers["when"]), ("people_affected", "about 40"), ("urgent", "2"),
              ("contact_consent", "2"), ("referral_consent", "1"), ("summary", "1")]  # fmt: skip
    return steps


class Chat:
    """One worker's conversation: `until(step)` drives it there; `finish()` sends the report."""

    def __init__(self, services, send, lang: str, sender: str = "+8801711000001", **script_options) -> None:
        self.services, self._send, self.lang, self.sender = services, send, lang, sender
        self.suggestion = script_options.get("suggestion", True)
        self.steps = script(services, lang, **script_options)
        self.position = 0

    def say(self, text: str) -> list[str]:
        return self._send(self.sender, text)

    def t(self, key: str, **values: object) -> str:
        return self.services.catalogs.text(self.lang, key, **values)

    def at(self, step: str) -> None:
        """The bot is at `step` now (the test moved the conversation by hand)."""
        self.position = [name for name, _ in self.steps].index(step)

    def moved_on(self) -> None:
        """The test answered the current step by hand; the bot is at the next one."""
        self.position += 1

    def until(self, step: str) -> str:
        """Answer every step before `step`; return the question asked at `step`."""
        target = [name for name, _ in self.steps].index(step)
        replies: list[str] = []
        while self.position < target:
            replies = self.say(self.steps[self.position][1])
            self.position += 1
            name = self.steps[self.position][0]
            if name != "language":
                assert prompt_part(self.services, self.lang, name) in replies[-1], (name, replies)
        return replies[-1]

    def finish(self) -> dict:
        """Answer from the current step through sending; return the sealed case."""
        while self.position < len(self.steps):
            self.say(self.steps[self.position][1])
            self.position += 1
        return the_case(self.services)

    def expected_case(self) -> dict:
        answers = ANSWERS[self.lang]
        return {
            "description": answers["description"] if self.suggestion else NEUTRAL[self.lang],
            "category": "wages" if self.suggestion else self.services.settings.flow.categories[CATEGORY_CHOICE - 1],
            "answers": {
                "workplace": answers["workplace"], "location": answers["location"], "brand": answers["brand"],
                "when": answers["when"], "referral_consent": True, "people_affected": 40, "urgent": False, "contact_consent": False,
            },
        }  # fmt: skip


def assert_nothing_lost(chat: Chat, case: dict) -> None:
    expected = chat.expected_case()
    assert case["description"] == expected["description"]
    assert case["category"] == expected["category"]
    assert case["answers"] == expected["answers"]
    assert case["language"] == chat.lang


# ---------------------------------------------------------------- the table

N_CATEGORIES = 13  # the default flow.categories (checked below)

# (case id, step, what the worker sends, expected error key, its placeholder values)
BAD_INPUTS = [
    ("empty-description", "description", "", "error.empty", {}),
    ("empty-question", "workplace", "", "error.empty", {}),
    ("empty-summary", "summary", "", "error.empty", {}),
    ("blank-question", "workplace", " \t \n  \u3000 ", "error.empty", {}),
    ("blank-yes-no", "referral_consent", "\n\n\n", "error.empty", {}),
    ("too-long-description", "description", TOO_LONG, "error.too_long", {"max": 5000}),
    ("too-long-question", "workplace", TOO_LONG, "error.too_long", {"max": 5000}),
    ("too-long-number", "people_affected", "4" * 10_000, "error.too_long", {"max": 5000}),
    ("too-long-summary", "summary", "1" * 10_000, "error.too_long", {"max": 5000}),
    ("emoji-description", "description", EMOJI, "error.need_words", {}),
    ("emoji-question", "workplace", EMOJI, "error.need_words", {}),
    ("emoji-yes-no", "referral_consent", EMOJI, "error.yes_no", {}),
    ("emoji-consent", "consent", EMOJI, "error.need_words", {}),
    ("emoji-number", "people_affected", EMOJI, "error.need_number", {}),
    ("emoji-category-menu", "category", EMOJI, "hint.category_again", {"max": N_CATEGORIES, "help": "HELP"}),
    ("emoji-summary-menu", "summary", EMOJI, "error.choose_number", {"max": 3}),
    ("zero-category-menu", "category", "0", "hint.category_again", {"max": N_CATEGORIES, "help": "HELP"}),
    ("ninety-nine-category-menu", "category", "99", "hint.category_again", {"max": N_CATEGORIES, "help": "HELP"}),
    ("minus-one-category-menu", "category", "-1", "hint.category_again", {"max": N_CATEGORIES, "help": "HELP"}),
    ("zero-summary", "summary", "0", "error.choose_number", {"max": 3}),
    ("ninety-nine-summary", "summary", "99", "error.choose_number", {"max": 3}),
    ("minus-one-summary", "summary", "-1", "error.choose_number", {"max": 3}),
    ("minus-two-summary", "summary", "-2", "error.choose_number", {"max": 3}),
    ("zero-consent", "consent", "0", "error.need_words", {}),  # no numbered choice at the privacy notice
    ("minus-one-consent", "consent", "-1", "error.need_words", {}),
    ("three-yes-no", "referral_consent", "3", "error.yes_no", {}),
    ("minus-one-yes-no", "urgent", "-1", "error.yes_no", {}),
    ("words-for-number", "people_affected", "my friends and me", "error.need_number", {}),
    ("punctuation-question", "workplace", "...", "error.need_words", {}),
    ("surrogate-description", "description", LONE_SURROGATE, "error.need_words", {}),
    ("surrogate-question", "workplace", LONE_SURROGATE, "error.need_words", {}),
    ("surrogate-yes-no", "referral_consent", LONE_SURROGATE, "error.yes_no", {}),
    ("surrogate-summary", "summary", LONE_SURROGATE, "error.choose_number", {"max": 3}),
    ("binary-yes-no", "referral_consent", BINARY, "error.yes_no", {}),
    ("control-consent", "consent", "\x00\x01\x02 \x7f 3.14 \x1b", "error.need_words", {}),
    ("binary-summary", "summary", BINARY, "error.choose_number", {"max": 3}),
    ("binary-category-menu-no-words", "category", "\x00\x01\x02 \x7f 3.14 \x1b", "hint.category_again", {"max": N_CATEGORIES, "help": "HELP"}),
]


@pytest.mark.parametrize(("step", "text", "key", "values"), [pytest.param(*row[1:], id=row[0]) for row in BAD_INPUTS])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_bad_input_gets_a_helpful_reply_in_the_language_and_loses_nothing(services, send, lang, step, text, key, values):
    chat = Chat(services, send, lang, suggestion=step != "category")
    prompt = chat.until(step)
    replies = chat.say(text)
    # A wrong answer to the category menu gets a short hint: the menu was just shown (SMS cost).
    expected = [chat.t(key, **{**values, "help": shown_word("help", lang)} if "help" in values else values)]
    assert replies == expected + ([] if key == "hint.category_again" else [prompt])
    assert chat.say(text) == replies  # again: the same answer, nothing moved
    case = chat.finish()
    assert_nothing_lost(chat, case)
    if len(text.strip()) > 3:
        assert text not in json.dumps(case, ensure_ascii=False)


@pytest.mark.parametrize("step", ["consent", "description", "workplace", "referral_consent", "people_affected", "summary"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_unknown_slash_command_says_so_in_the_language(services, send, lang, step):
    chat = Chat(services, send, lang)
    prompt = chat.until(step)
    for command in ("/foo", "/foo bar", "/HELPME", "/start2@HotlineBot", "/ayuda123"):
        replies = chat.say(command)
        assert replies == [chat.t("error.unknown_command", help=shown_word("help", lang)), prompt], command
    assert_nothing_lost(chat, chat.finish())


@pytest.mark.parametrize("step", ["consent", "workplace", "summary"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_telegram_start_is_a_greeting_not_an_answer(services, send, lang, step):
    chat = Chat(services, send, lang)
    prompt = chat.until(step)
    replies = chat.say("/start")
    assert replies == [chat.t("hello_again", help=shown_word("help", lang)), prompt]
    assert_nothing_lost(chat, chat.finish())


def test_the_default_category_menu_is_the_one_the_table_assumes(settings):
    assert len(settings.flow.categories) == N_CATEGORIES
    assert settings.limits.max_message_chars == 5000


# ---------------------------------------------------------------- wrong numbers at the language menus


@pytest.mark.parametrize("text", ["0", "99", "-1", "5", EMOJI, "Klingon", BINARY])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_wrong_choice_at_the_language_menu_mid_conversation_answers_in_the_workers_language(services, send, lang, text):
    chat = Chat(services, send, lang)
    prompt = chat.until("when")
    menu = chat.say(phrases("language", lang)[0])
    assert len(menu) == 1
    languages = services.settings.deployment.languages
    assert chat.say(text) == [chat.t("error.choose_number", max=len(languages)), menu[0]]
    assert chat.say(str(languages.index(lang) + 1)) == [prompt]
    assert_nothing_lost(chat, chat.finish())


@pytest.mark.parametrize("text", ["0", "99", "-1", "5", "", "   ", EMOJI, LONE_SURROGATE, BINARY, "Klingon", "/foo"])
def test_wrong_choice_at_the_first_language_menu(services, send, text):
    t, default = services.catalogs.text, services.settings.deployment.default_language
    first = send("w", "hello")
    menu = first[0].split("\n", 1)[1]  # the menu without the hotline's name above it
    replies = send("w", text)
    expected_key = {"": "error.empty", "   ": "error.empty", "/foo": "error.unknown_command"}.get(text, "error.choose_number")
    assert replies == [t(default, expected_key, max=4, help=shown_word("help", default)), menu]
    assert send("w", "2")[0].startswith(t("bn", "privacy", no=shown_word("no", "bn")))


def test_too_long_as_first_message_is_refused_and_keeps_nothing(services, send):
    replies = send("w", TOO_LONG)
    assert replies == [services.catalogs.text("en", "error.too_long", max=5000)]
    assert conversations(services) == 0


# ---------------------------------------------------------------- message length


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_4000_character_description_is_kept_whole(services, send, lang):
    words = (ANSWERS[lang]["description"] + " ") * 200
    description = words[:4000].rstrip()
    assert 3990 <= len(description) <= 4000
    chat = Chat(services, send, lang)
    chat.until("description")
    replies = chat.say(description)
    assert replies[0] == chat.t("description.thanks")
    chat.steps = [(name, description if name == "description" else text) for name, text in chat.steps]
    chat.at("suggest")
    if replies[-1].startswith(chat.t("ask.category")):
        chat.steps[chat.position] = ("category", "1")
    case = chat.finish()
    assert case["description"] == description


@pytest.mark.parametrize(("length", "accepted"), [(5000, True), (5001, False)])
def test_the_message_limit_is_exact(services, send, length, accepted):
    chat = Chat(services, send, "en")
    prompt = chat.until("workplace")
    text = ("Rahman Garments " * 400)[: length - 1] + "X"
    assert len(text) == length
    replies = chat.say(text)
    if accepted:
        assert replies == [chat.t("ask.location")]
    else:
        assert replies == [chat.t("error.too_long", max=5000), prompt]


def test_a_smaller_configured_limit_is_the_one_enforced(settings_with):
    settings = settings_with(limits={"max_message_chars": 100})
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    try:

        def say(text: str) -> list[str]:
            return list(services.intake.receive(InboundMessage(channel="sms", sender="w", text=text)).texts)

        say("hi")
        say("1")
        say("yes")
        replies = say("x " * 60)
        assert replies == [services.catalogs.text("en", "error.too_long", max=100), services.catalogs.text("en", "ask.description")]
    finally:
        services.close()


# ---------------------------------------------------------------- control and invisible characters


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cf") and char not in "\n\u200c\u200d" for char in text)


def _laced(text: str) -> str:
    """`text` with NUL, a zero-width space and an ANSI colour escape mixed in."""
    return "\x00" + text[:2] + "\u200b" + text[2:] + "\x1b[31m"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_control_characters_in_answers_are_stripped_and_the_answers_accepted(services, send, lang):
    chat = Chat(services, send, lang)
    answers = ANSWERS[lang]
    chat.until("consent")
    assert chat.say("\u200byes\x00") == [chat.t("ask.description")]
    assert chat.say(_laced(answers["description"]))[0] == chat.t("description.thanks")
    assert chat.say("\x1b1\u200b") == [chat.t("ask.workplace")]
    assert chat.say(_laced(answers["workplace"])) == [chat.t("ask.location")]
    chat.say(answers["location"])
    chat.say("\x00" + answers["brand"] + "\u200b")
    chat.say(answers["when"])
    assert chat.t("ask.urgent") in chat.say("4\u200b0\x00")[0]
    chat.say("2")
    assert chat.t("ask.referral_consent") in chat.say("2")[0]
    summary = chat.say("\x00" + phrases("yes", lang)[0] + "\u200b")
    assert not _has_control_characters(summary[0])
    chat.at("summary")
    case = chat.finish()
    for value in [case["description"], *(v for v in case["answers"].values() if isinstance(v, str))]:
        assert not _has_control_characters(value), repr(value)
    # The escape character goes; the visible "[31m" left by a terminal colour code may stay.
    assert case["description"] in (answers["description"], answers["description"] + "[31m")
    assert case["answers"]["workplace"] in (answers["workplace"], answers["workplace"] + "[31m")
    assert case["answers"]["brand"] == answers["brand"]
    assert case["answers"]["referral_consent"] is True
    assert case["answers"]["people_affected"] == 40


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_lone_surrogate_inside_an_answer_does_not_break_sealing(services, send, lang):
    chat = Chat(services, send, lang)
    chat.until("when")
    assert chat.say("last week" + LONE_SURROGATE) == [chat.t("ask.people_affected")]
    chat.moved_on()
    case = chat.finish()
    assert case["answers"]["when"] == "last week\ufffd"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_binary_text_as_description_is_kept_without_control_characters(services, send, lang):
    chat = Chat(services, send, lang, suggestion=False)
    chat.until("description")
    replies = chat.say(BINARY)
    assert replies[0] == chat.t("description.thanks")
    chat.steps = [(name, BINARY if name == "description" else text) for name, text in chat.steps]
    chat.at("category")
    if not replies[-1].startswith(chat.t("ask.category")):
        chat.steps[chat.position] = ("suggest", "1")
    case = chat.finish()
    assert not _has_control_characters(case["description"])
    assert case["answers"]["workplace"] == ANSWERS[lang]["workplace"]
