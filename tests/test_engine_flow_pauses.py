"""Pauses, small talk and "don't know" (issue 10): nothing a worker says in passing is stored
as an answer, and a worker who comes back after a while is told where they are.

Through the real Intake; time passes by moving the clock the intake reads.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

import bot.intake as intake_module
from bot.config import ConfigError, settings_from_mapping
from conftest import make_config
from engine_support import the_case
from storage.db import utcnow
from worker_scripts import ENGLISH_INTAKE

SENDER = "+8801711000901"
AT_WORKPLACE = ENGLISH_INTAKE[:6]  # the bot has just asked for the workplace
AT_BRAND = ENGLISH_INTAKE[:8]  # ...for the brand (optional)


def t(services, key: str, lang: str = "en", **values) -> str:
    return services.catalogs.text(lang, key, **values)


def drive(send, texts, sender: str = SENDER) -> list[str]:
    replies: list[str] = []
    for text in texts:
        replies = send(sender, text)
    return replies


def finish(send, position: int, sender: str = SENDER) -> list[str]:
    """Send the rest of the English intake from `position`, then SEND."""
    return drive(send, [*ENGLISH_INTAKE[position:], "1"], sender)


@pytest.fixture
def clock(monkeypatch):
    """clock(minutes): from now on the intake sees the time `minutes` later than the real one;
    clock(None) gives it the real clock back (the outbox forwards only what is due by then)."""

    def move(minutes: float | None) -> None:
        if minutes is None:
            monkeypatch.setattr(intake_module, "utcnow", utcnow)
            return
        shifted = utcnow() + timedelta(minutes=minutes)
        monkeypatch.setattr(intake_module, "utcnow", lambda: shifted)

    return move


@pytest.mark.parametrize("text", ["hello", "sorry I had to go", "hola", "xin chao"])
def test_after_a_pause_small_talk_gets_welcome_back_and_the_same_question(services, send, clock, text):
    drive(send, AT_WORKPLACE)
    clock(45)
    assert send(SENDER, text) == [t(services, "welcome_back"), t(services, "ask.workplace")]
    assert send(SENDER, "Sunrise Garments Ltd") == [t(services, "ask.location")]
    clock(None)
    finish(send, 7)
    assert the_case(services)["answers"]["workplace"] == "Sunrise Garments Ltd"


def test_after_a_pause_an_answer_is_still_taken(services, send, clock):
    drive(send, AT_WORKPLACE)
    clock(45)
    assert send(SENDER, "Sunrise Garments Ltd") == [t(services, "welcome_back"), t(services, "ask.location")]
    clock(None)
    finish(send, 7)
    assert the_case(services)["answers"]["workplace"] == "Sunrise Garments Ltd"


def test_a_short_gap_is_no_pause(services, send, clock):
    drive(send, AT_WORKPLACE)
    clock(10)
    assert send(SENDER, "Sunrise Garments Ltd") == [t(services, "ask.location")]


def test_the_pause_length_comes_from_config(settings_with, clock):
    from bot.services import build_services
    from storage.keys import init_keys

    settings = settings_with(session={"resume_after_minutes": 5})
    init_keys(settings, dev_operator_key=True)  # the operator's key pair is made only when asked for
    services = build_services(settings)
    try:
        def send(text):
            return list(services.intake.receive(intake_module.InboundMessage(channel="sms", sender=SENDER, text=text)).texts)

        for text in AT_WORKPLACE:
            send(text)
        clock(10)
        assert send("hello")[0] == services.catalogs.text("en", "welcome_back")
    finally:
        services.close()


@pytest.mark.parametrize("value", [0, -5, "soon"])
@pytest.mark.parametrize("key", ["resume_after_minutes", "status_dialogue_idle_minutes"])
def test_a_bad_pause_setting_names_the_key(tmp_path, key, value):
    with pytest.raises(ConfigError, match=rf"^config error: session\.{key}: "):
        settings_from_mapping(make_config(tmp_path, session={key: value}), base_dir=tmp_path)


# ------------------------------------------------------------ small talk is never an answer


@pytest.mark.parametrize("text", ["hello", "sorry I had to go", "yes", "nahi", "ဟုတ်", "ok", "thanks"])
def test_small_talk_is_never_stored_as_a_workplace(services, send, text):
    drive(send, AT_WORKPLACE)
    # A lone yes or no (any catalog's) gets told what is missing (issue 21); a greeting, the question.
    told = [t(services, "error.answer_in_words")] if text in ("yes", "nahi", "ဟုတ်", "ok") else []
    assert send(SENDER, text) == [*told, t(services, "ask.workplace")]
    send(SENDER, "Sunrise Garments Ltd")
    finish(send, 7)
    case = the_case(services)
    assert case["answers"]["workplace"] == "Sunrise Garments Ltd"
    assert text not in case["description"]


@pytest.mark.parametrize("text", ["hello", "sorry", "thanks"])
def test_small_talk_is_no_description(services, send, text):
    drive(send, ENGLISH_INTAKE[:3])
    assert send(SENDER, text) == [t(services, "ask.description")]
    finish(send, 3)
    assert text not in the_case(services)["description"].split("\n")


def test_small_talk_is_not_added_to_an_open_description(services, send):
    drive(send, ENGLISH_INTAKE[:4])  # the description is open, the suggestion asked
    send(SENDER, "thanks")
    finish(send, 4)
    assert "thanks" not in the_case(services)["description"]


@pytest.mark.parametrize("text", ["Don't know", "no sé", "জানি না", "not sure"])
def test_dont_know_at_an_optional_question_is_stored_as_unknown(services, send, text):
    drive(send, AT_BRAND)
    assert send(SENDER, text) == [t(services, "ask.when")]
    finish(send, 9)
    case = the_case(services)
    assert case["answers"].get("brand") is None
    assert text not in str(case)


def test_dont_know_at_a_required_question_asks_again(services, send):
    drive(send, AT_WORKPLACE)
    assert send(SENDER, "don't know") == [t(services, "error.required"), t(services, "ask.workplace")]
