"""SMS-safe words and a confirmation before erasing (issue 10).

On SMS a whole-message STOP, CANCEL, END, QUIT... opts the worker's number out at the
carrier or at Twilio, and every later message to them fails (error 21610). So on SMS the
bot never names one of them as a command; other channels keep their usual words. A
half-written report is never erased on one word.
"""

from __future__ import annotations

import re

import pytest

from bot.messages import InboundMessage
from engine_support import conversations, sealed_cases
from nlu import KINDS, fold, parse_command
from nlu.keywords import SMS_RESERVED_WORDS, display_word, is_sms_opt_out_word, is_sms_reserved_word
from nlu.vocabulary import phrases, resolve_kind
from worker_scripts import ENGLISH_INTAKE

# Rows vary the words and the step, not what is stored: the PostgreSQL run takes one in six (tests/conftest.py).
pytestmark = pytest.mark.database_sampled(every=6)

ALL_LANGUAGES = ("en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es")
SENDER = "+8801711000960"
# Twilio's list for long codes, and what other carriers and gateways add.
TWILIO_OPT_OUT = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "STOP ALL")


def test_the_opt_out_list_holds_twilios_words():
    for word in TWILIO_OPT_OUT:
        assert is_sms_opt_out_word(word) and is_sms_opt_out_word(word.lower() + "!")
    assert not is_sms_opt_out_word("they don't stop hitting us")


@pytest.mark.parametrize("lang", ALL_LANGUAGES)
@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind not in ("yes", "no")])
def test_every_word_the_bot_names_on_sms_is_safe_and_means_the_same(lang, kind):
    word = display_word(kind, lang, sms_safe=True)
    assert not is_sms_reserved_word(word), (lang, kind, word)
    # The worker who types the word back gets the same command, in their own language.
    assert resolve_kind(word, (lang, "en")) == kind


def test_on_sms_english_cancel_is_exit_and_elsewhere_still_stop():
    assert display_word("cancel", "en", sms_safe=True) == "EXIT"
    assert display_word("cancel", "en") == "STOP"
    assert parse_command("exit", ["en"]).command.value == "cancel"


def test_on_sms_english_help_is_menu_and_help_and_info_still_work():
    # Twilio answers HELP and INFO itself on SMS (its text invites STOP): the bot names MENU there.
    assert display_word("help", "en", sms_safe=True) == "MENU"
    assert display_word("help", "en") == "HELP"
    for word in ("help", "INFO", "menu", "?"):
        assert parse_command(word, ["en"]).command.value == "help", word
    assert is_sms_reserved_word("Help!") and is_sms_reserved_word("info") and not is_sms_opt_out_word("help")


def _uppercase_words(text: str) -> set[str]:
    return {fold(word) for word in re.findall(r"\b[^\W\d_]{2,}(?: [^\W\d_]{2,})?\b", text) if word.isupper()}


@pytest.mark.parametrize("lang", ["en", "bn", "vi", "es"])
def test_no_reply_on_sms_names_an_opt_out_word(services, send, lang):
    """The reproduction: on SMS the bot told workers to send STOP (help, summary, answer-back)."""
    number = str(services.settings.deployment.languages.index(lang) + 1)
    said: list[str] = []
    for text in ["hi", number, "1", "help", "They did not pay us for two months", "help", "1"]:
        said += send(SENDER, text)
    for text in ["Sunrise Garments", "Gazipur", "skip", "since May", "40", "2", "2", "2"]:
        said += send(SENDER, text)  # up to the summary
    said += send(SENDER, "1")  # sent
    code = re.search(r"\d{4} \d{3} \d{3} \d{4}", said[-1]).group(0)
    said += send("+8801711000961", f"STATUS {code}")  # the answer-back's prompts
    said += send("+8801711000961", "thank you for the news")
    said += send("+8801711000961", "help")
    words = set().union(*(_uppercase_words(text) for text in said))
    assert not words & SMS_RESERVED_WORDS, words & SMS_RESERVED_WORDS
    assert phrases("cancel", "en")[0] == "stop"  # ...while STOP is still understood


def test_other_channels_keep_the_usual_words(services, send):
    for text in ENGLISH_INTAKE[:6]:
        send("telegram-chat-1", text, channel="telegram")
    help_text = send("telegram-chat-1", "help", channel="telegram")[0]
    assert "STOP" in help_text
    for text in ENGLISH_INTAKE[:6]:
        send(SENDER, text)
    help_text = send(SENDER, "help")[0]
    assert "EXIT" in help_text and "STOP" not in help_text


# ------------------------------------------------------------ erase only when the worker says so twice


def erase_question(services, lang: str = "en") -> str:
    return services.catalogs.text(lang, "erase.confirm") + "\n" + services.catalogs.text(lang, "hint.yes_no")


@pytest.mark.parametrize("word", ["STOP", "cancel", "exit", "delete", "3 "])
def test_a_half_written_report_is_not_erased_on_one_word(services, send, word):
    for text in ENGLISH_INTAKE[:-1] if word.strip() == "3" else ENGLISH_INTAKE[:8]:
        send(SENDER, text)
    if word.strip() == "3":
        send(SENDER, ENGLISH_INTAKE[-1])  # at the summary, 3 = cancel
    assert send(SENDER, word) == [erase_question(services)]
    assert conversations(services) == 1
    kept = send(SENDER, "2")
    assert kept[0] == services.catalogs.text("en", "erase.kept")
    assert conversations(services) == 1


def test_no_keeps_the_report_and_it_goes_on_where_it_was(services, send):
    for text in ENGLISH_INTAKE[:6]:
        send(SENDER, text)
    send(SENDER, "stop")
    assert send(SENDER, "no") == [services.catalogs.text("en", "erase.kept"), services.catalogs.text("en", "ask.workplace")]
    for text in [*ENGLISH_INTAKE[6:], "1"]:
        send(SENDER, text)
    assert len(sealed_cases(services)) == 1


def test_an_answer_instead_of_yes_keeps_the_report_and_is_taken(services, send):
    for text in ENGLISH_INTAKE[:6]:
        send(SENDER, text)
    send(SENDER, "stop")
    assert send(SENDER, "Sunrise Garments Ltd") == [services.catalogs.text("en", "ask.location")]


@pytest.mark.parametrize(("confirm", "erase_messages"), [("1", True), ("yes", True), ("delete", True)])
def test_delete_then_yes_erases_everything(services, send, confirm, erase_messages):
    for text in ENGLISH_INTAKE[:6]:
        send(SENDER, text)
    send(SENDER, "DELETE")
    reply = services.intake.receive(InboundMessage(channel="sms", sender=SENDER, text=confirm))
    assert reply.texts[0] == services.catalogs.text("en", "deleted")
    # Erased here, and the SMS worker is told the messages stay on the phone (the provider keeps them).
    assert reply.texts[1:] == ((services.catalogs.text("en", "erase.on_phone"),) if erase_messages else ())
    assert reply.erase_messages is erase_messages
    assert conversations(services) == 0


def test_before_anything_is_written_stop_erases_at_once(services, send):
    for text in ENGLISH_INTAKE[:2]:
        send(SENDER, text)
    assert send(SENDER, "stop") == [services.catalogs.text("en", "cancelled")]
    assert conversations(services) == 0


def test_the_erase_question_offers_yes_no_buttons(services):
    for text in ENGLISH_INTAKE[:6]:
        services.intake.receive(InboundMessage(channel="telegram", sender="chat-9", text=text))
    reply = services.intake.receive(InboundMessage(channel="telegram", sender="chat-9", text="stop"))
    assert reply.choices == (("1", services.catalogs.text("en", "value.yes")), ("2", services.catalogs.text("en", "value.no")))


# ------------------------------------------------------------ buttons say what the text says


@pytest.mark.parametrize("channel", ["sms", "telegram"])
@pytest.mark.parametrize("lang", ["en", "bn", "vi", "es"])
def test_summary_buttons_carry_the_words_of_the_text(services, lang, channel):
    number = str(services.settings.deployment.languages.index(lang) + 1)
    script = ["hi", number, "They did not pay us", "2", "1", "Sunrise", "Gazipur", "-", "May", "40", "2", "2", "2"]
    for text in script:
        reply = services.intake.receive(InboundMessage(channel=channel, sender="w-buttons", text=text))
    summary = reply.texts[-1]
    labels = [label for _, label in reply.choices]
    assert [number for number, _ in reply.choices] == ["1", "2", "3"]
    assert summary.endswith(", ".join(f"{i} {label}" for i, label in enumerate(labels, 1)))
    for kind, label in zip(("confirm", "change", "cancel"), labels, strict=True):
        assert label == display_word(kind, lang, sms_safe=channel == "sms")

