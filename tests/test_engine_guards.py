"""Engine behaviours that protect the worker: danger first, no empty or skipped required answers."""

from __future__ import annotations

import pytest

from engine_support import shown_word
from worker_scripts import ENGLISH_INTAKE

SENDER = "+8801711000009"


def to_description(send, lang_number="1"):
    for text in ("hi", lang_number, "yes"):
        send(SENDER, text)


def test_after_the_alert_question_the_urgency_question_keeps_its_place(send, services):
    t = services.catalogs.text
    to_description(send)
    replies = send(SENDER, "They locked us in the dormitory and took our passports")
    assert t("en", "ask.alert") in replies[-1]  # danger first: the alert question (tests/test_engine_danger.py)
    replies = send(SENDER, "no")
    assert replies[1].startswith(t("en", "ask.suggestion", category=t("en", "category.forced_labour")))
    after_category = send(SENDER, "yes")
    # Not "Is anyone in danger right now?" at once again (issue 21): it comes in its configured place.
    assert after_category[-1].startswith(t("en", "ask.workplace"))
    for text in ["Sunrise", "Gazipur", "skip", "today"]:
        replies = send(SENDER, text)
    assert replies[-1].startswith(t("en", "ask.people_affected"))
    assert send(SENDER, "3")[-1].startswith(t("en", "ask.urgent"))
    urgent = send(SENDER, "yes")
    assert "Emergency services: 999" in urgent[0]
    for text in ["no", "no"]:
        replies = send(SENDER, text)
    assert replies[-1].startswith(t("en", "summary.check", summary=""))
    assert f"{t('en', 'label.urgent')}: {t('en', 'value.yes')}" in replies[-1]


def test_danger_seen_without_the_alert_question_brings_the_urgency_question_forward(services):
    """A backend may see danger the danger words missed (no alert question was asked then):
    the urgency question comes right after the category, so the contacts reach the worker sooner."""
    from bot.conversation.flow import Flow
    from bot.draft import Draft

    flow = Flow(services.settings)
    order = flow.question_order(Draft(urgent_signal=True))
    assert order[: order.index("category") + 2][-1] == "urgent"
    assert flow.question_order(Draft(urgent_signal=True, danger_asked=True)) == [q.id for q in flow.questions]


def test_without_danger_words_the_configured_order_holds(send, services):
    for text in ENGLISH_INTAKE[:5]:
        replies = send(SENDER, text)
    replies = send(SENDER, "1")
    assert replies[-1].startswith(services.catalogs.text("en", "ask.workplace"))


@pytest.mark.parametrize(("lang", "number"), [("en", "1"), ("bn", "2"), ("vi", "3"), ("es", "4")])
def test_skip_on_a_required_question_asks_again(send, services, lang, number):
    from nlu import phrases

    to_description(send, number)
    send(SENDER, "we have not been paid for two months")
    replies = send(SENDER, "1")  # category
    if not replies[-1].startswith(services.catalogs.text(lang, "ask.workplace")):
        replies = send(SENDER, "1")
    assert replies[-1].startswith(services.catalogs.text(lang, "ask.workplace"))
    again = send(SENDER, phrases("skip", lang)[0])
    assert again[0] == services.catalogs.text(lang, "error.required")
    assert again[1].startswith(services.catalogs.text(lang, "ask.workplace"))


def test_done_before_any_description_asks_for_words(send, services):
    to_description(send)
    replies = send(SENDER, "done")
    assert replies == [services.catalogs.text("en", "error.need_words"), services.catalogs.text("en", "ask.description")]


def _to_workplace(send, description):
    to_description(send)
    send(SENDER, description)
    return send(SENDER, "1")  # yes, the suggested category


def test_what_the_description_names_is_offered_and_yes_takes_it(send, services):
    t = lambda key, **v: services.catalogs.text("en", key, **v)  # noqa: E731
    asked = _to_workplace(send, "Sunrise Garments Ltd has not paid 40 workers for two months")
    assert asked[-1] == "\n".join([t("ask.workplace"), t("ask.confirm_entity", value="Sunrise Garments Ltd"), t("hint.yes_no")])
    assert send(SENDER, "yes")[-1] == t("ask.location")  # nothing found for the place: the plain question
    for text in ("Gazipur", "skip"):
        send(SENDER, text)
    people = send(SENDER, "May, and it still goes on")[-1]  # "when" also asks whether it still goes on
    assert t("ask.confirm_entity", value=40) in people
    replies = send(SENDER, "2")  # not right
    assert replies == [t("ask.people_affected")]
    for text in ("35", "no", "no", "no"):
        replies = send(SENDER, text)
    summary = replies[-1].splitlines()
    assert "Sunrise Garments Ltd" in summary and f"{t('label.people_affected')}: 35" in summary


def test_typing_an_answer_over_an_offer_takes_the_typed_answer(send, services):
    _to_workplace(send, "Sunrise Garments Ltd has not paid us for two months")
    replies = send(SENDER, "Moonlight Textiles")
    assert replies[-1].startswith(services.catalogs.text("en", "ask.location"))
    for text in ("Gazipur", "skip", "May", "12", "no", "no", "no"):
        replies = send(SENDER, text)
    assert "Moonlight Textiles" in replies[-1] and "Sunrise" not in replies[-1].split("\n", 2)[2]


@pytest.mark.parametrize(
    ("first_message", "first_line"),
    [("মালিক দুই মাস বেতন দেয়নি", "2 বাংলা"), ("Chủ không trả lương cho chúng tôi", "3 Tiếng Việt"),
     ("El patrón no nos paga desde hace dos meses", "4 Español"), ("hello", "1 English")],
)
def test_the_detected_language_is_listed_first_with_its_usual_number(send, services, first_message, first_line):
    menu = send(SENDER, first_message)[0].split("\n")
    number = first_line.split()[0]
    lang = {"1": "en", "2": "bn", "3": "vi", "4": "es"}[number]
    at = menu.index(services.catalogs.text(lang, "language.menu"))  # sure of the language: the header in it
    assert menu[at + 1] == first_line
    assert sorted(menu[at + 1 :]) == ["1 English", "2 বাংলা", "3 Tiếng Việt", "4 Español"]
    assert send(SENDER, number)[0].startswith(services.catalogs.text(lang, "privacy", no=shown_word("no", lang)))
