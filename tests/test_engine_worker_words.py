"""What the conversation makes of a worker's words (issue 21, part 4), played as scripted workers.

- the first message's language, from a greeting or one word ("hola", "namaste", "xin chào"),
  is listed first in the menu, whose header is in that language when detection is sure;
- a bare number or a lone yes/no word is never a workplace, a place or a date: the worker is
  asked again, told what is missing, in their language;
- text typed at a yes/no question (also after BACK) that answers nothing joins the description
  with a short note, instead of "Please reply 1 for YES or 2 for NO" over and over;
- the danger question is not asked again right after the alert question was answered.
"""

from __future__ import annotations

import pytest

from bot.messages import InboundMessage
from bot.services import build_services
from engine_support import the_case
from nlu import phrases
from storage.keys import init_keys

SENDER = "+8801711000421"
LANGUAGE_NUMBER = {"en": "1", "bn": "2", "vi": "3", "es": "4"}
STORY = {
    "en": "The manager has not paid our wages for two months.",
    "bn": "ম্যানেজার দুই মাস ধরে আমাদের বেতন দেয়নি।",
    "vi": "Quản lý không trả lương cho chúng tôi hai tháng rồi.",
    "es": "El gerente no nos paga el salario desde hace dos meses.",
}


class Worker:
    """One worker texting the hotline; `last` is what the bot answered last."""

    def __init__(self, services, send, lang: str = "en", sender: str = SENDER) -> None:
        self.services, self._send, self.lang, self.sender = services, send, lang, sender
        self.last: list[str] = []

    def t(self, key: str, lang: str | None = None, **values: object) -> str:
        return self.services.catalogs.text(lang or self.lang, key, **values)

    def say(self, text: str) -> list[str]:
        self.last = self._send(self.sender, text)
        return self.last

    def script(self, *texts: str) -> list[str]:
        for text in texts:
            self.say(text)
        return self.last

    def at_description(self) -> None:
        self.script("hi", LANGUAGE_NUMBER[self.lang], phrases("yes", self.lang)[0])
        assert self.t("ask.description") in self.last[-1]

    def at_workplace(self) -> None:
        self.at_description()
        self.say(STORY[self.lang])
        self.say("1")  # yes, it is about wages
        assert self.last[-1].startswith(self.t("ask.workplace")), self.last


# ---------------------------------------------------------------- the first message's language


def test_hola_lists_spanish_first_under_a_spanish_header(services, send):
    (first,) = Worker(services, send).say("hola")
    menu = first.splitlines()
    t = services.catalogs.text
    assert t("es", "language.menu") in menu, "detection is sure of Spanish: the header is Spanish"
    header = menu.index(t("es", "language.menu"))
    assert menu[header + 1] == "4 Español", "the first message's language is listed first"


def test_xin_chao_lists_vietnamese_first(services, send):
    (first,) = Worker(services, send).say("xin chào")
    menu = first.splitlines()
    header = menu.index(services.catalogs.text("vi", "language.menu"))
    assert menu[header + 1] == "3 Tiếng Việt"


def test_a_sure_bengali_first_message_gets_the_menu_header_in_bengali(services, send):
    worker = Worker(services, send)
    (first,) = worker.say("আমাদের কারখানায় দুই মাস ধরে বেতন দেয়নি")
    assert worker.t("language.menu", "bn") in first.splitlines()
    assert worker.t("language.menu", "en") not in first
    again = worker.say("9")  # no such language: asked again, still in Bengali
    assert worker.t("language.menu", "bn") in again[-1]


def test_hello_keeps_the_deployment_order_and_its_header(services, send):
    (first,) = Worker(services, send).say("hello")
    menu = first.splitlines()
    assert menu[menu.index(services.catalogs.text("en", "language.menu")) + 1] == "1 English"


@pytest.mark.parametrize(("greeting", "first_two"), [("namaste", ["hi", "ne"]), ("नमस्ते", ["hi", "ne"])])
def test_namaste_lists_hindi_and_nepali_first(settings_with, greeting, first_two):
    languages = ["en", "bn", "es", "hi", "ne"]
    settings = settings_with(deployment={"languages": languages})
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    try:
        reply = services.intake.receive(InboundMessage(channel="sms", sender="+9779800000421", text=greeting)).texts
        menu = reply[0].splitlines()
        t = services.catalogs.text
        header = next(i for i, line in enumerate(menu) if line in {t(lang, "language.menu") for lang in languages})
        listed = menu[header + 1 : header + 3]
        names = [f"{languages.index(lang) + 1} {t(lang, 'language.name')}" for lang in first_two]
        assert listed == names
    finally:
        services.close()


# ---------------------------------------------------------------- no bare number or yes/no as a name, place or date


@pytest.mark.parametrize("lang", ["en", "bn", "vi", "es"])
def test_a_bare_number_or_a_lone_yes_no_is_no_workplace_place_or_date(services, send, lang):
    worker = Worker(services, send, lang)
    worker.at_workplace()
    again = worker.t("error.answer_in_words")
    for not_a_name in ("1", "২" if lang == "bn" else "2", phrases("yes", lang)[0], "no"):
        replies = worker.say(not_a_name)
        assert replies[0] == again, (not_a_name, replies)
        assert replies[-1].startswith(worker.t("ask.workplace"))
    worker.say("Rahman Garments")
    assert worker.last[-1].startswith(worker.t("ask.location"))
    assert worker.say("2")[0] == again
    worker.say("Gazipur")
    worker.say(phrases("skip", lang)[0])  # the brand
    assert worker.last[-1].startswith(worker.t("ask.when"))
    for not_a_date in ("2", phrases("no", lang)[0]):
        assert worker.say(not_a_date)[0] == again
    worker.say("2019")  # a year is a date
    assert worker.last[-1].startswith(worker.t("ask.people_affected"))
    worker.script("40", "2", "2", "2", "1")
    answers = the_case(services)["answers"]
    assert (answers["workplace"], answers["location"], answers["when"]) == ("Rahman Garments", "Gazipur", "2019")


# ---------------------------------------------------------------- text at a yes/no question joins the description


def test_text_after_back_at_the_category_question_joins_the_description(services, send):
    worker = Worker(services, send)
    worker.at_workplace()
    worker.say("BACK")
    suggestion = worker.t("ask.suggestion", category=worker.t("category.wages"))
    assert worker.last[-1].startswith(suggestion)
    added = ["He also shouts at the women on our line.", "And he keeps our passports in his office."]
    for text in added:
        replies = worker.say(text)
        assert worker.t("error.yes_no") not in replies, replies
        assert replies[0] == worker.t("description.added")
        assert worker.t("ask.suggestion", category="\x00").split("\x00")[0] in replies[-1] or worker.t("ask.category") in replies[-1]
    record = finish(worker)
    for text in added:
        assert text in record["description"]


def test_text_at_a_configured_yes_no_question_joins_the_description(services, send):
    worker = Worker(services, send)
    worker.at_workplace()
    worker.script("Rahman Garments", "Gazipur", "skip", "since May", "40")
    assert worker.last[-1].startswith(worker.t("ask.urgent"))
    replies = worker.say("My sister works there too, she was not paid either")
    assert replies[0] == worker.t("description.added")
    assert replies[-1].startswith(worker.t("ask.urgent"))
    assert worker.say("hmm")[0] == worker.t("error.yes_no"), "small talk is no part of the report"
    record = finish(worker)
    assert "My sister works there too" in record["description"]
    assert "hmm" not in record["description"]


def finish(worker: Worker) -> dict:
    """Answer whatever is asked until the summary, send it, and return the sealed case."""
    t = worker.t
    for _ in range(20):
        last = worker.last[-1]
        if last.startswith(t("summary.check", summary="\x00").split("\x00")[0]):
            worker.say("1")
            return the_case(worker.services)
        if t("ask.suggestion", category="\x00").split("\x00")[0] in last:
            worker.say("1")
        elif t("ask.category") in last:
            worker.say("1")
        elif last.startswith(t("ask.workplace")):
            worker.say("Rahman Garments")
        elif last.startswith(t("ask.location")):
            worker.say("Gazipur")
        elif last.startswith(t("ask.brand")):
            worker.say("skip")
        elif last.startswith(t("ask.when")):
            worker.say("since May")
        elif last.startswith(t("ask.people_affected")):
            worker.say("40")
        else:
            worker.say("2")
    raise AssertionError(f"never reached the summary: {worker.last}")


# ---------------------------------------------------------------- the danger question right after the alert question


@pytest.mark.parametrize("alert", ["no", "yes"])
def test_the_danger_question_is_not_asked_right_after_the_alert_question(services, send, alert):
    worker = Worker(services, send)
    worker.at_description()
    worker.say("fire, doors locked, people trapped")
    assert worker.t("ask.alert") in worker.last[-1]
    worker.say(alert)
    if alert == "yes":
        assert worker.t("ask.alert_contact") in worker.last[-1]
        worker.say("no")
    asked = worker.last[-1]
    assert not asked.startswith(worker.t("ask.urgent"))
    worker.say("1")  # the suggested category, or the first of the menu
    assert not worker.last[-1].startswith(worker.t("ask.urgent")), "asked again right after the alert question"
    assert worker.last[-1].startswith(worker.t("ask.workplace"))
