"""Commands at every step, in every shipped language, through the real Intake.

Table-driven: HELP, BACK, STOP/CANCEL, DELETE, LANGUAGE and STATUS <code>, each
in the worker's own words from nlu/data/keywords.yaml and in English (which
always works), at the consent, description, a text question, a yes/no
question and the summary. A command word inside a sentence is no command.
Expected wording is rendered from the catalogs.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.casecode import format_code, new_case_code
from bot.messages import InboundMessage
from nlu import phrases
from storage.db import utcnow
from storage.cases import CaseStore
from storage.models import Case
from engine_support import conversations, prompt_part, sealed_cases, shown_word
from worker_scripts import ANSWERS

# Rows vary the words and the step, not what is stored: the PostgreSQL run takes one in six (tests/conftest.py).
pytestmark = pytest.mark.database_sampled(every=6)

LANGUAGES = ("en", "bn", "vi", "es")
COMMANDS = ("help", "back", "cancel", "delete", "language", "status")
STEPS = ("consent", "description", "workplace", "referral_consent", "summary")
# The step BACK returns to from each of STEPS (None: there is none before it).
PREVIOUS = {"consent": None, "description": "consent", "workplace": "suggest", "referral_consent": "contact_consent", "summary": "referral_consent"}
SOURCES = ("native", "english")

ENGLISH_WORD = {"help": "help", "back": "back", "cancel": "stop", "delete": "delete", "language": "language", "status": "status"}


def word(kind: str, lang: str, source: str = "native") -> str:
    """The keyword of `kind`: the canonical one of `lang` in keywords.yaml, or the English one."""
    return phrases(kind, lang)[0] if source == "native" else ENGLISH_WORD.get(kind, phrases(kind, "en")[0])


def render(services, lang: str, key: str, **values: object) -> str:
    """A catalog text in `lang`, filled in (the `help` text has a {language} placeholder too)."""
    return services.catalogs.text(lang, key, **values)


def help_text(services, lang: str) -> str:
    kinds = ("help", "back", "cancel", "delete", "language", "status", "skip", "done")
    return render(services, lang, "help", **{kind: shown_word(kind, lang) for kind in kinds})


def script(services, lang: str) -> list[tuple[str, str]]:
    """(step the bot is at, what the worker sends there), from first contact to sending."""
    answers = ANSWERS[lang]
    number = str(services.settings.deployment.languages.index(lang) + 1)
    return [
        ("start", "hello"), ("language", number), ("consent", "yes"), ("description", answers["description"]),
        ("suggest", "1"), ("workplace", answers["workplace"]), ("location", answers["location"]),
        ("brand", answers["brand"]), ("when", answers["when"]), ("people_affected", "12"),
        ("urgent", "2"), ("contact_consent", "2"), ("referral_consent", "2"), ("summary", "1"),
    ]  # fmt: skip


class Chat:
    """One worker's conversation, driven by `until(step)`; keeps every question it was asked."""

    def __init__(self, services, send, lang: str, sender: str = "+8801711000001", channel: str = "sms") -> None:
        self.services, self._send, self.lang, self.sender, self.channel = services, send, lang, sender, channel
        self.steps = script(services, lang)
        self.position = 0
        self.prompts: dict[str, str] = {}

    def say(self, text: str) -> list[str]:
        return self._send(self.sender, text, channel=self.channel)

    def t(self, key: str, lang: str | None = None, **values: object) -> str:
        return render(self.services, lang or self.lang, key, **values)

    def at(self, step: str) -> None:
        """Tell the driver the bot is at `step` again (after a command moved it)."""
        self.position = [name for name, _ in self.steps].index(step)

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
            self.prompts[name] = replies[-1]
        return replies[-1]

    def finish_as_asked(self, last_reply: str) -> list[str]:
        """Answer whichever question the bot asks until the case is sent (the order can change:
        danger words in the description bring the urgency question forward)."""
        answers = dict(self.steps)
        replies = [last_reply]
        for _ in range(len(self.steps) + 5):
            asked = next(
                (name for name, _ in self.steps[2:] if prompt_part(self.services, self.lang, name) in replies[-1]), None
            )
            assert asked is not None, replies
            replies = self.say(answers[asked])
            if asked == "summary":
                return replies
        raise AssertionError("the conversation did not reach the summary")

    def finish(self) -> list[str]:
        replies: list[str] = []
        while self.position < len(self.steps):
            replies = self.say(self.steps[self.position][1])
            self.position += 1
        return replies


def confirmed_code(services, send, sender: str = "+8801711999999") -> str:
    """A real case, sent by another worker; its code."""
    chat = Chat(services, send, "en", sender=sender)
    chat.finish()
    (case,) = sealed_cases(services)
    return case["code"]


def status_line(services, lang: str, code: str, status: str = "received") -> str:
    t = services.catalogs.text
    return t(lang, "status.line", code=format_code(code), status=t(lang, f"case_status.{status}"))


def to_bengali_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))


def wrong_check_digit(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


# ---------------------------------------------------------------- HELP


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_help_answers_in_the_workers_language_and_asks_again(services, send, lang, step):
    chat = Chat(services, send, lang)
    prompt = chat.until(step)
    for source in SOURCES:  # HELP changes nothing, so both words are tried in one conversation
        replies = chat.say(word("help", lang, source))
        assert replies == [help_text(services, lang), prompt], source
        for kind in ("back", "cancel", "delete", "language", "status"):
            assert shown_word(kind, lang) in replies[0]
    # Nothing moved: the same question takes its answer.
    chat.finish()
    assert len(sealed_cases(services)) == 1


def test_help_at_the_language_menu_is_in_the_default_language(services, send):
    send("w", "hi")
    replies = send("w", "help")
    assert replies[0] == help_text(services, services.settings.deployment.default_language)
    assert services.catalogs.text("en", "language.menu") in replies[1]


# ---------------------------------------------------------------- BACK


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_back_goes_to_the_previous_question(services, send, lang, step, source):
    chat = Chat(services, send, lang)
    prompt = chat.until(step)
    replies = chat.say(word("back", lang, source))
    previous = PREVIOUS[step]
    if previous is None:
        assert replies == [chat.t("back.at_start"), prompt]
        return
    write_more = "\n" + chat.t("hint.write_more")
    assert replies == [chat.prompts[previous].replace(write_more, "")]
    chat.at(previous)
    chat.finish()
    (case,) = sealed_cases(services)
    assert case["answers"]["workplace"] == ANSWERS[lang]["workplace"]


# ---------------------------------------------------------------- STOP/CANCEL and DELETE


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("command", ["cancel", "delete"])
def test_cancel_and_delete_erase_the_draft_and_answer_in_the_language(services, send, command, lang, step, source):
    chat = Chat(services, send, lang)
    chat.until(step)
    assert conversations(services) == 1
    # A half-written report is never erased on one word: the bot asks first, and the same
    # word again (or YES) erases it. Before anything is written there is nothing to lose.
    if step not in ("consent", "description"):
        assert chat.say(word(command, lang, source)) == [chat.t("erase.confirm") + "\n" + chat.t("hint.yes_no")]
        assert conversations(services) == 1
    replies = chat.say(word(command, lang, source))
    # On SMS the chat stays on the phone after DELETE: the worker is told to delete it there too.
    assert replies == ([chat.t("cancelled")] if command == "cancel" else [chat.t("deleted"), chat.t("erase.on_phone")])
    assert conversations(services) == 0
    assert sealed_cases(services) == []
    # The next message starts over.
    again = chat.say("hello")
    default = services.settings.deployment.default_language
    assert again[0].startswith(services.catalogs.text(default, "welcome", name=services.settings.deployment.name) + "\n")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_delete_asks_the_channel_to_erase_the_bots_messages_too(services, send, lang):
    chat = Chat(services, send, lang)
    chat.until("workplace")
    services.intake.receive(InboundMessage(channel="sms", sender=chat.sender, text=word("delete", lang)))
    reply = services.intake.receive(InboundMessage(channel="sms", sender=chat.sender, text=chat.t("value.yes")))
    assert reply.erase_messages is True
    assert reply.texts == (chat.t("deleted"), chat.t("erase.on_phone"))
    cancelled = Chat(services, send, lang, sender="other")
    cancelled.until("workplace")
    services.intake.receive(InboundMessage(channel="sms", sender="other", text=word("cancel", lang)))
    reply = services.intake.receive(InboundMessage(channel="sms", sender="other", text="1"))
    assert reply.erase_messages is False


@pytest.mark.parametrize("command", ["cancel", "delete"])
def test_cancel_or_delete_as_a_first_message_keeps_nothing(services, send, command):
    t = services.catalogs.text
    replies = send("w", word(command, "en"))
    accepted = [[t("en", "deleted"), t("en", "erase.on_phone")]] + ([[t("en", "cancelled")]] if command == "cancel" else [])
    assert replies in accepted
    assert conversations(services) == 0


def test_cancel_erases_only_that_workers_draft(services, send):
    Chat(services, send, "en", sender="a").until("workplace")
    other = Chat(services, send, "bn", sender="b")
    other.until("workplace")
    send("a", "stop")
    send("a", "yes")
    assert conversations(services) == 1
    assert send("b", ANSWERS["bn"]["workplace"]) == [services.catalogs.text("bn", "ask.location")]


# ---------------------------------------------------------------- LANGUAGE


def _next_language(lang: str) -> str:
    return LANGUAGES[(LANGUAGES.index(lang) + 1) % len(LANGUAGES)]


def expected_after_language(services, chat: Chat, step: str, new: str) -> list[str]:
    """Catalog texts the question at `step` must contain once the worker switched to `new`."""
    t = services.catalogs.text
    if step == "consent":
        return [t(new, "privacy", no=shown_word("no", new)), t(new, "ask.description")]
    if step == "referral_consent":
        return [t(new, "ask.referral_consent"), t(new, "hint.yes_no")]
    if step == "summary":
        head = t(new, "summary.check", summary="\x00").split("\x00")[0]
        return [
            head,
            ", ".join(f"{i} {shown_word(kind, new)}" for i, kind in enumerate(("confirm", "change", "cancel"), 1)),
            ANSWERS[chat.lang]["workplace"],
            t(new, "category.wages"),
            f"{t(new, 'label.referral_consent')}: {t(new, 'value.no')}",
        ]
    return [t(new, f"ask.{step}")]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_language_shows_the_menu_then_asks_the_same_question_in_the_new_language(services, send, lang, step, source):
    chat = Chat(services, send, lang)
    chat.until(step)
    menu = chat.say(word("language", lang, source))
    assert len(menu) == 1
    assert services.catalogs.text(services.settings.deployment.default_language, "language.menu") in menu[0]
    for number, code in enumerate(services.settings.deployment.languages, 1):
        assert f"{number} {services.catalogs.text(code, 'language.name')}" in menu[0].splitlines()
    new = _next_language(lang)
    replies = chat.say(str(services.settings.deployment.languages.index(new) + 1))
    assert len(replies) == 1
    for part in expected_after_language(services, chat, step, new):
        assert part in replies[0], (part, replies)
    # The rest of the conversation goes on in the new language and loses nothing.
    chat.lang = new
    if step != "summary":
        assert chat.say(word("help", new))[0] == help_text(services, new)
    chat.finish()
    (case,) = sealed_cases(services)
    assert case["language"] == new
    assert case["description"] == ANSWERS[lang]["description"]


def test_language_menu_accepts_an_endonym_after_the_command(services, send):
    chat = Chat(services, send, "en")
    chat.until("when")
    chat.say("language")
    assert chat.say("বাংলা") == [services.catalogs.text("bn", "ask.when")]


# ---------------------------------------------------------------- STATUS


# STATUS changes nothing in the draft, so the worker's word and the English one are tried in one conversation.


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_with_an_unknown_valid_code_says_not_found(services, send, lang, step):
    chat = Chat(services, send, lang)
    prompt = chat.until(step)
    for source in SOURCES:
        replies = chat.say(f"{word('status', lang, source)} {format_code(new_case_code())}")
        assert replies == [chat.t("status.not_found"), prompt], source


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_with_a_malformed_code_says_so(services, send, lang, step):
    chat = Chat(services, send, lang)
    prompt = chat.until(step)
    for source in SOURCES:
        status = word("status", lang, source)
        for malformed in (wrong_check_digit(new_case_code()), "1234 5678", "12345678901234567"):
            assert chat.say(f"{status} {malformed}") == [chat.t("status.bad_code"), prompt], (source, malformed)


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_without_a_code_asks_for_one(services, send, lang, step):
    chat = Chat(services, send, lang)
    prompt = chat.until(step)
    for source in SOURCES:
        replies = chat.say(word("status", lang, source))
        assert replies == [chat.t("status.need_code", status=shown_word("status", lang)), prompt], source


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_with_a_real_code_gives_its_status_and_asks_again(services, send, lang, step):
    code = confirmed_code(services, send)
    chat = Chat(services, send, lang)
    prompt = chat.until(step)
    for source in SOURCES:
        replies = chat.say(f"{word('status', lang, source)} {format_code(code)}")
        assert replies == [status_line(services, lang, code), prompt], source
    assert conversations(services) == 1  # the draft is still there
    chat.finish()
    assert len(sealed_cases(services)) == 2


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("source", SOURCES)
def test_status_in_bengali_digits(services, send, lang, source):
    code = confirmed_code(services, send)
    chat = Chat(services, send, lang)
    prompt = chat.until("workplace")
    replies = chat.say(f"{word('status', lang, source)} {to_bengali_digits(format_code(code))}")
    assert replies == [status_line(services, lang, code), prompt]


@pytest.mark.parametrize("typed", ["{status} {code}", "{status} {grouped}", "{status}: {dashed}", "/status {code}", "{status} {bengali}"])
def test_status_as_first_message_from_anyone_needs_no_conversation(services, send, typed):
    code = confirmed_code(services, send)
    text = typed.format(status=word("status", "bn"), code=code, grouped=format_code(code), dashed=format_code(code).replace(" ", "-"),
                        bengali=to_bengali_digits(format_code(code)))  # fmt: skip
    replies = send("stranger", text, channel="whatsapp")
    # The case's news in its own language, then the worker may answer into it (bot/engine.py: dialogue).
    (case,) = sealed_cases(services)
    lang = case["language"]
    assert replies == [status_line(services, lang, code), services.catalogs.text(lang, "dialogue.prompt", cancel=word("cancel", lang).upper())]
    assert conversations(services) == 1  # the dialogue about the case; STOP ends it
    send("stranger", word("cancel", lang), channel="whatsapp")
    assert conversations(services) == 0


def test_status_shows_the_operators_messages_and_a_changed_status(services, send):
    code = confirmed_code(services, send)
    with services.sessions.begin() as session:
        session.execute(update(Case).values(status="in_review"))
        case_id = session.execute(select(Case.case_id)).scalar_one()
    with services.sessions.begin() as session:
        CaseStore(session, services.secrets).add_message(case_id, "We are looking into it.", utcnow() - timedelta(minutes=1))
    chat = Chat(services, send, "es")
    prompt = chat.until("workplace")
    replies = chat.say(f"estado {code}")
    t = services.catalogs.text
    expected = status_line(services, "es", code, "in_review") + "\n" + t("es", "status.message", message="We are looking into it.")
    assert replies == [expected, prompt]


# ---------------------------------------------------------------- every phrase of every command


def _every_command_phrase():
    for lang in LANGUAGES:
        for kind in COMMANDS:
            for phrase in phrases(kind, lang):
                yield pytest.param(lang, kind, phrase, id=f"{lang}-{kind}-{phrase}")


@pytest.mark.parametrize(("lang", "kind", "phrase"), list(_every_command_phrase()))
def test_every_command_phrase_in_keywords_yaml_works_at_a_question(services, send, lang, kind, phrase):
    chat = Chat(services, send, lang)
    prompt = chat.until("workplace")
    replies = chat.say(phrase)
    expected = {
        "help": [help_text(services, lang), prompt],
        "back": [chat.prompts["suggest"].replace("\n" + chat.t("hint.write_more"), "")],
        "cancel": [chat.t("erase.confirm") + "\n" + chat.t("hint.yes_no")],  # asked before erasing
        "delete": [chat.t("erase.confirm") + "\n" + chat.t("hint.yes_no")],
        "status": [chat.t("status.need_code", status=shown_word("status", lang)), prompt],
    }
    if kind == "language":
        assert services.catalogs.text("en", "language.menu") in replies[0] and len(replies) == 1
    else:
        assert replies == expected[kind]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", COMMANDS)
def test_commands_are_recognised_in_any_case_with_punctuation_and_a_slash(services, send, lang, kind):
    chat = Chat(services, send, lang)
    prompt = chat.until("when")
    replies = chat.say(f"/{word(kind, 'en', 'english')}")
    if kind == "help":
        assert replies == [help_text(services, lang), prompt]
    elif kind == "status":
        assert replies == [chat.t("status.need_code", status=shown_word("status", lang)), prompt]
    elif kind == "language":
        assert len(replies) == 1 and services.catalogs.text("en", "language.menu") in replies[0]
    elif kind == "back":
        assert replies == [chat.prompts["brand"]]
    else:  # CANCEL, DELETE: asked first, then the same word again erases
        assert conversations(services) == 1
        chat.say(f"/{word(kind, 'en', 'english')}")
        assert conversations(services) == 0
    if kind in ("help", "status"):
        assert chat.say(f"  {word(kind, lang).upper()}!! ")[-1] == prompt


# ---------------------------------------------------------------- words of one language do not fire in another


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "bondho"), ("en", "ayuda"), ("bn", "xoa"), ("vi", "borrar"), ("es", "muchun"), ("en", "huy")],
)
def test_another_languages_command_word_is_an_answer_not_a_command(services, send, lang, text):
    chat = Chat(services, send, lang)
    chat.until("workplace")
    assert chat.say(text) == [services.catalogs.text(lang, "ask.location")]
    assert conversations(services) == 1
    chat.at("location")
    chat.finish()
    (case,) = sealed_cases(services)
    assert case["answers"]["workplace"] == text


# ---------------------------------------------------------------- a command word inside a sentence


SENTENCES = [
    ("en", "they don't stop hitting us"),
    ("en", "Help us, the supervisor took our passports"),
    ("en", "the status of our wages is bad, 2 months unpaid"),
    ("en", "Delete the overtime records, the manager said"),
    ("en", "back pay for 3 months is missing"),
    ("bn", "সুপারভাইজার আমাদের মারধর বন্ধ করে না"),
    ("bn", "সাহায্য চাই, মালিক বেতন দেয়নি"),
    ("vi", "quản đốc không dừng đánh chúng tôi"),
    ("vi", "xin giúp, chủ không trả lương"),
    ("es", "el supervisor no quiere parar de pegarnos"),
    ("es", "ayuda por favor, no nos pagan"),
    ("es", "borrar los registros, dijo el jefe"),
]


@pytest.mark.parametrize(("lang", "sentence"), SENTENCES)
def test_a_command_word_inside_a_sentence_is_kept_as_description(services, send, lang, sentence):
    chat = Chat(services, send, lang)
    chat.until("description")
    replies = chat.say(sentence)
    assert replies[0] == services.catalogs.text(lang, "description.thanks")
    assert conversations(services) == 1
    if services.catalogs.text(lang, "ask.alert") in replies[-1]:  # danger words: no alert (tests/test_engine_danger.py)
        replies = chat.say("2")
    # Whatever came next (a suggestion or the menu), answer it and finish.
    answered = chat.say("13" if replies[-1].startswith(services.catalogs.text(lang, "ask.category")) else "1")
    chat.finish_as_asked(answered[-1])
    (case,) = sealed_cases(services)
    assert case["description"] == sentence


@pytest.mark.parametrize(("lang", "sentence"), SENTENCES)
def test_a_command_word_inside_a_sentence_is_also_more_description_later(services, send, lang, sentence):
    chat = Chat(services, send, lang)
    chat.until("suggest")
    replies = chat.say(sentence)
    if services.catalogs.text(lang, "ask.alert") in replies[-1]:  # danger words: no alert (tests/test_engine_danger.py)
        replies = chat.say("2")
        assert replies[0] == services.catalogs.text(lang, "alert.not_sent")
    else:
        assert replies[0] == services.catalogs.text(lang, "description.added")
    assert services.catalogs.text(lang, "hint.write_more") in replies[-1]
    assert conversations(services) == 1
    answered = chat.say("13" if replies[-1].startswith(services.catalogs.text(lang, "ask.category")) else "1")
    chat.finish_as_asked(answered[-1])
    (case,) = sealed_cases(services)
    assert case["description"] == ANSWERS[lang]["description"] + "\n" + sentence
