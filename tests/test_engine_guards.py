"""Engine behaviours that protect the worker: danger first, no empty or skipped required answers."""

from __future__ import annotations

import pytest

from worker_scripts import ENGLISH_INTAKE

SENDER = "+8801711000009"


def to_description(send, lang_number="1"):
    for text in ("hi", lang_number, "yes"):
        send(SENDER, text)


def test_danger_words_bring_the_urgency_question_forward(send, services):
    t = services.catalogs.text
    to_description(send)
    replies = send(SENDER, "They locked us in the dormitory and took our passports")
    assert replies[1].startswith(t("en", "ask.suggestion", category=t("en", "category.forced_labour")))
    after_category = send(SENDER, "yes")
    assert after_category[-1].startswith(t("en", "ask.urgent"))
    urgent = send(SENDER, "yes")
    assert "Emergency services: 999" in urgent[0]
    assert urgent[-1].startswith(t("en", "ask.workplace"))  # then the rest, without asking urgency again
    rest = ["Sunrise", "Gazipur", "skip", "today", "yes", "3", "no"]
    for text in rest:
        replies = send(SENDER, text)
    assert replies[-1].startswith(t("en", "summary", summary="")[:20])
    assert f"{t('en', 'label.urgent')}: {t('en', 'value.yes')}" in replies[-1]


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
