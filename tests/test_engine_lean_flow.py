"""The lean conversation (issues 10 and 12): fewer paid turns, consent kept granular.

- The first reply is the hotline's name and the language menu, one UCS-2 SMS segment for a
  four-language deployment.
- The reply to the language choice is the privacy notice and "What happened?" in one message:
  the worker's story there is the consent to report; NO or the exit word ends it with nothing
  kept; danger words there still get the danger question first.
- "Is it still happening?" is asked within "When did it happen?" (`ongoing` is no longer in the
  shipped flow, and still works where a deployment configures it).
- The summary leaves out unanswered optional questions.
- The referral question of the shipped flow: YES makes the sealed case referable on the desk, NO not.

Expected wording is rendered from the catalogs, so the tests hold in every language.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from channels.sms_segments import count_segments
from desk.referrals import referral_allowed
from engine_support import conversations, shown_word, the_case
from nlu import phrases
from worker_scripts import ANSWERS

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = ("en", "bn", "vi", "es")


def menu_number(services, lang: str) -> str:
    return str(services.settings.deployment.languages.index(lang) + 1)


def privacy_prompt(services, lang: str) -> str:
    t = services.catalogs.text
    return t(lang, "privacy", no=shown_word("no", lang)) + "\n\n" + t(lang, "ask.description")


def at_privacy(services, send, lang: str, sender: str = "w1") -> list[str]:
    send(sender, "hello")
    return send(sender, menu_number(services, lang))


# ---------------------------------------------------------------- the shipped flow


def test_the_shipped_flow_asks_referral_after_contact_and_no_longer_ongoing():
    ids = [q.id for q in load_settings(REPO / "config.yaml").flow.questions]
    assert "ongoing" not in ids
    assert ids[-2:] == ["contact_consent", "referral_consent"]
    referral = load_settings(REPO / "config.yaml").flow.questions[-1]
    assert referral.kind == "yes_no" and referral.grants_referral and not referral.grants_contact


def test_the_default_flow_is_the_shipped_flow(settings):
    shipped = load_settings(REPO / "config.yaml").flow.questions
    assert settings.flow.questions == shipped


# ---------------------------------------------------------------- first reply


def test_the_first_reply_is_the_name_and_the_menu_in_one_ucs2_segment(services, send):
    replies = send("w1", "hello")
    assert len(replies) == 1
    first = replies[0]
    assert first.startswith(services.settings.deployment.name + "\n")
    for lang in LANGUAGES:
        assert services.catalogs.text(lang, "language.name") in first
    # The bench's deployment name: "Worker hotline", 4 languages.
    assert count_segments(first.replace(services.settings.deployment.name, "Worker hotline")).segments == 1


# ---------------------------------------------------------------- privacy and "what happened?" in one turn


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_language_choice_gets_the_privacy_notice_and_what_happened_at_once(services, send, lang):
    replies = at_privacy(services, send, lang)
    assert replies == [privacy_prompt(services, lang)]
    assert services.catalogs.text(lang, "hint.yes_no") not in replies[0]  # no "Do you want to report? 1/2" turn


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_story_at_the_privacy_notice_is_the_consent_and_starts_the_report(services, send, lang):
    at_privacy(services, send, lang)
    replies = send("w1", ANSWERS[lang]["description"])
    t = services.catalogs.text
    assert replies[0] == t(lang, "description.thanks")
    assert t(lang, "ask.suggestion", category=t(lang, "category.wages")) in replies[-1]
    assert t(lang, "privacy", no=shown_word("no", lang)) not in replies[-1]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("how", ["no word", "english no", "exit word"])
def test_no_or_the_exit_word_at_the_privacy_notice_ends_it_with_nothing_kept(services, send, lang, how):
    at_privacy(services, send, lang)
    text = {"no word": phrases("no", lang)[0], "english no": "no", "exit word": shown_word("cancel", lang)}[how]
    replies = send("w1", text)
    key = "consent.declined" if how != "exit word" else "cancelled"
    assert replies == [services.catalogs.text(lang, key)]
    assert conversations(services) == 0


def test_no_after_a_kept_first_message_erases_it_too(services, send):
    send("w1", "The manager took away our pay slips last month")
    send("w1", "1")
    assert send("w1", "no") == [services.catalogs.text("en", "consent.declined")]
    assert conversations(services) == 0


def test_a_kept_first_message_and_the_story_both_go_into_the_description(services, send):
    first = "The manager took away our pay slips last month"
    send("w1", first)
    replies = send("w1", "1")
    assert services.catalogs.text("en", "kept.start", done=shown_word("done", "en")) in replies[-1]
    replies = send("w1", "Also no wages for two months")
    case = _finish(services, send, replies)
    assert case["description"] == first + "\n" + "Also no wages for two months"


def test_yes_at_the_privacy_notice_asks_what_happened_again(services, send):
    at_privacy(services, send, "en")
    assert send("w1", "yes") == [services.catalogs.text("en", "ask.description")]


@pytest.mark.parametrize("text", ["2", "1", "🙂"])
def test_a_bare_number_or_emoji_at_the_privacy_notice_is_no_answer_and_nothing_is_erased(services, send, text):
    at_privacy(services, send, "en")
    replies = send("w1", text)
    assert replies == [services.catalogs.text("en", "error.need_words"), privacy_prompt(services, "en")]
    assert conversations(services) == 1


def test_small_talk_at_the_privacy_notice_asks_again(services, send):
    at_privacy(services, send, "en")
    assert send("w1", "hello") == [privacy_prompt(services, "en")]


@pytest.mark.parametrize("lang", ["en", "bn"])
def test_danger_words_at_the_privacy_notice_get_the_danger_question_first(services, send, lang):
    danger = {"en": "Fire in the factory, the doors are locked", "bn": "কারখানায় আগুন, দরজা বন্ধ"}[lang]
    at_privacy(services, send, lang)
    replies = send("w1", danger)
    t = services.catalogs.text
    assert t(lang, "ask.alert") in replies[-1]
    after = send("w1", "2")  # no alert: the report goes on, the danger message is its description
    assert after[0] == t(lang, "alert.not_sent")
    assert t(lang, "privacy", no=shown_word("no", lang)) not in after[-1]
    case = _finish(services, send, after, lang)
    assert case["description"].startswith(danger)


# ---------------------------------------------------------------- when, with "still going on?"


@pytest.mark.parametrize("lang", ["en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es"])
def test_when_also_asks_whether_it_still_goes_on(lang):
    from bot.i18n import Catalogs

    when, ongoing = Catalogs((lang,)).text(lang, "ask.when"), Catalogs((lang,)).text(lang, "ask.ongoing")
    assert when.count("?") + when.count("？") >= 2 or lang in ("th", "km", "my"), when
    assert when != ongoing
    assert count_segments(when).segments == 1, when


def test_when_is_followed_by_how_many_people_not_is_it_still_happening(services, send):
    at_privacy(services, send, "en")
    for text in [ANSWERS["en"]["description"], "1", "Rahman Garments Ltd", "Gazipur", "skip"]:
        replies = send("w1", text)
    assert replies == [services.catalogs.text("en", "ask.when")]
    after = send("w1", "since September, still now")
    assert services.catalogs.text("en", "ask.people_affected") in after[-1]


def test_a_deployment_that_configures_ongoing_still_asks_it(settings_with):
    from bot.messages import InboundMessage
    from bot.services import build_services
    from storage.keys import init_keys

    settings = settings_with(flow={"questions": [{"id": "category", "kind": "category"}, {"id": "when", "kind": "text"},
                                                 {"id": "ongoing", "kind": "yes_no"}]})  # fmt: skip
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    try:
        def say(text):
            return list(services.intake.receive(InboundMessage(channel="sms", sender="w9", text=text)).texts)

        for text in ["hello", "1", "Something bad happened to us.", "3"]:
            say(text)
        assert services.catalogs.text("en", "ask.ongoing") in say("last week")[-1]
    finally:
        services.close()


# ---------------------------------------------------------------- the summary


def _to_summary(services, send, *, brand: str = "skip", contact: str = "2", referral: str = "2") -> list[str]:
    at_privacy(services, send, "en")
    answers = ANSWERS["en"]
    for text in [answers["description"], "1", answers["workplace"], answers["location"], brand, answers["when"],
                 "40", "2", contact]:  # fmt: skip
        send("w1", text)
    return send("w1", referral)


def _finish(services, send, replies: list[str], lang: str = "en") -> dict:
    """Answer on from worker w1's last question (the last of `replies`) to the summary, SEND it,
    and return the sealed case."""
    t = services.catalogs.text
    answers = {"ask.suggestion": "1", "ask.category": "1", "ask.workplace": ANSWERS[lang]["workplace"],
               "ask.location": ANSWERS[lang]["location"], "ask.brand": phrases("skip", lang)[0], "ask.when": ANSWERS[lang]["when"],
               "ask.people_affected": "12", "ask.urgent": "2", "ask.contact_consent": "2", "ask.referral_consent": "2"}  # fmt: skip
    for _ in range(20):
        last = replies[-1]
        if last.startswith(t(lang, "summary.check", summary="\x00").split("\x00")[0]):
            send("w1", "1")
            return the_case(services)
        key = next((key for key in answers if t(lang, key, category="\x00").split("\x00")[0] in last), None)
        assert key is not None, last
        replies = send("w1", answers[key])
    raise AssertionError("never reached the summary")


def test_the_summary_leaves_out_an_unanswered_optional_question(services, send):
    summary = _to_summary(services, send)[-1]
    t = services.catalogs.text
    assert t("en", "label.brand") not in summary
    assert ": -" not in summary
    assert f"{t('en', 'label.referral_consent')}: {t('en', 'value.no')}" in summary
    assert f"{t('en', 'label.contact_consent')}: {t('en', 'value.no')}" in summary


def test_the_summary_shows_an_optional_answer_that_was_given(services, send):
    summary = _to_summary(services, send, brand="FastFashion")[-1]
    assert "FastFashion" in summary


def test_the_english_summary_of_a_usual_report_fits_one_sms_segment(services, send):
    summary = _to_summary(services, send)[-1]
    assert count_segments(summary).segments == 1, summary


# ---------------------------------------------------------------- referral: asked, sealed, honoured by the desk


@pytest.mark.parametrize(("answer", "allowed"), [("1", True), ("2", False), ("yes", True), ("no", False)])
def test_the_referral_answer_is_sealed_and_honoured_by_the_desk(services, send, answer, allowed):
    replies = _to_summary(services, send, referral=answer)
    assert services.catalogs.text("en", "summary.check", summary="\x00").split("\x00")[0] in replies[-1]
    send("w1", "1")  # SEND
    case = the_case(services)
    assert case["answers"]["referral_consent"] is allowed
    assert case["answers"]["contact_consent"] is False
    assert referral_allowed(load_settings(REPO / "config.yaml"), case) is allowed
    assert referral_allowed(services.settings, case) is allowed


def test_the_referral_question_is_asked_after_contact_with_yes_no(services, send):
    at_privacy(services, send, "en")
    answers = ANSWERS["en"]
    for text in [answers["description"], "1", answers["workplace"], answers["location"], "skip", answers["when"], "40", "2"]:
        send("w1", text)
    replies = send("w1", "2")
    t = services.catalogs.text
    assert replies == [t("en", "ask.referral_consent") + "\n" + t("en", "hint.yes_no")]


@pytest.mark.parametrize("lang", ["en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es"])
def test_the_new_texts_name_no_sms_opt_out_word(lang):
    """"Send NO to stop" would teach a worker the word STOP, which opts their number out of SMS."""
    from bot.i18n import Catalogs
    from nlu.keywords import SMS_OPT_OUT_WORDS

    catalogs = Catalogs((lang,))
    for key in ("welcome", "language.menu", "privacy", "ask.description", "ask.when", "ask.referral_consent", "summary.check"):
        text = catalogs.text(lang, key, name="Worker hotline", no=shown_word("no", lang), summary="")
        words = {word.strip(".,:;!?()\"'“”«»").upper() for word in text.split()}
        assert not words & set(SMS_OPT_OUT_WORDS), (key, text)
