"""A number question through the real engine: counts as workers write them, "I don't know"
and "many" stored as unknown (None), never an invented number; anything else asked again."""

from __future__ import annotations

import pytest

from engine_support import the_case
from worker_scripts import ANSWERS

SENDER = "+8801711000077"


def steps_to_people_affected(services, lang: str) -> list[str]:
    answers = ANSWERS[lang]
    number = str(services.settings.deployment.languages.index(lang) + 1)
    return ["hello", number, answers["description"], "1", answers["workplace"], answers["location"],
            answers["brand"], answers["when"]]  # fmt: skip


AFTER_PEOPLE_AFFECTED = ["2", "2", "2", "1"]  # not urgent, no contact, the company not told, send

STORED = [
    ("en", "line 3, 45 people", 45), ("en", "about a hundred", 100), ("en", "many of us", None),
    ("en", "I don't know", None), ("en", "not sure", None), ("en", "45", 45),
    ("bn", "জানি না", None), ("bn", "প্রায় ১০০ জন", 100), ("bn", "বিশ জন", 20), ("bn", "অনেক লোক", None),
    ("vi", "không biết", None), ("vi", "hai mươi lăm người", 25), ("vi", "khoang 50 nguoi", 50),
    ("es", "no sé", None), ("es", "unas doscientas personas", 200), ("es", "muchos", None),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "expected"), STORED)
def test_number_question_stores_the_count_or_unknown(services, send, lang, text, expected):
    for message in steps_to_people_affected(services, lang):
        send(SENDER, message)
    replies = send(SENDER, text)
    assert services.catalogs.text(lang, "error.need_number") not in replies
    for message in AFTER_PEOPLE_AFFECTED:
        send(SENDER, message)
    assert the_case(services)["answers"]["people_affected"] == expected


@pytest.mark.parametrize(("lang", "text"), [("en", "hello"), ("en", "Sunrise Garments"), ("es", "hola"), ("vi", "-5")])
def test_no_count_is_asked_again(services, send, lang, text):
    for message in steps_to_people_affected(services, lang):
        send(SENDER, message)
    replies = send(SENDER, text)
    assert replies[0] == services.catalogs.text(lang, "error.need_number")
    assert services.catalogs.text(lang, "ask.people_affected") in replies[-1]
