"""A way back from the wrong language (issue 10): a Spanish worker who picked English by
mistake types `idioma` or `Español` and reads the bot in Spanish again."""

from __future__ import annotations

import pytest

from engine_support import the_case
from worker_scripts import ENGLISH_INTAKE

SENDER = "+8801711000970"
AT_WORKPLACE = ENGLISH_INTAKE[:6]


def t(services, key: str, lang: str = "en", **values) -> str:
    return services.catalogs.text(lang, key, **values)


def drive(send, texts) -> list[str]:
    replies: list[str] = []
    for text in texts:
        replies = send(SENDER, text)
    return replies


@pytest.mark.parametrize("word", ["idioma", "ভাষা", "ngôn ngữ", "ngon ngu", "bhasha", "Language"])
def test_the_language_word_of_any_catalog_opens_the_menu(services, send, word):
    drive(send, AT_WORKPLACE)  # in English
    (menu,) = send(SENDER, word)
    assert menu.startswith(t(services, "language.menu"))
    assert send(SENDER, "4") == [t(services, "ask.workplace", "es")]


@pytest.mark.parametrize(
    ("name", "lang"),
    [("Español", "es"), ("espanol", "es"), ("ESPAÑOL!", "es"), ("বাংলা", "bn"), ("Bangla", "bn"),
     ("Tiếng Việt", "vi"), ("tieng viet", "vi"), ("Spanish", "es")],
)  # fmt: skip
def test_a_language_name_switches_at_any_step(services, send, name, lang):
    drive(send, AT_WORKPLACE)
    assert send(SENDER, name) == [t(services, "ask.workplace", lang)]
    send(SENDER, "Sunrise Garments Ltd")
    assert the_case_language_after_finishing(services, send) == lang


def the_case_language_after_finishing(services, send) -> str:
    drive(send, [*ENGLISH_INTAKE[7:], "1"])
    return the_case(services)["language"]


@pytest.mark.parametrize("step_texts", [ENGLISH_INTAKE[:3], ENGLISH_INTAKE[:10], ENGLISH_INTAKE[:14]])
def test_the_name_works_at_the_description_a_number_and_the_summary(services, send, step_texts):
    before = drive(send, step_texts)
    replies = send(SENDER, "Español")
    assert len(replies) == 1 and replies[0] != before[-1]
    expected = (t(services, "ask.description", "es"), t(services, "ask.people_affected", "es"), t(services, "summary.check", "es", summary=""))
    assert any(part in replies[0] for part in expected)


def test_a_name_inside_an_answer_is_part_of_the_answer(services, send):
    drive(send, AT_WORKPLACE)
    assert send(SENDER, "Español Textiles Ltd") == [t(services, "ask.location")]
    drive(send, [*ENGLISH_INTAKE[7:], "1"])
    case = the_case(services)
    assert case["answers"]["workplace"] == "Español Textiles Ltd" and case["language"] == "en"


def test_a_language_not_offered_is_no_switch(services, send):
    drive(send, AT_WORKPLACE)  # the test deployment offers en, bn, vi, es
    assert send(SENDER, "Tagalog") == [t(services, "ask.location")]


def test_at_the_menu_the_iso_code_still_works(services, send):
    send(SENDER, "hi")
    assert send(SENDER, "es")[0].startswith(t(services, "privacy", "es", no="NO"))
