"""Per-report caps on attachments, answers into a case, and refusals told to the worker in their language.

Every test goes through `Intake.receive` with channel-neutral messages, as every adapter does.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.i18n import Catalogs
from bot.intake import REFUSAL_REASONS
from bot.messages import InboundMessage, MediaItem
from bot.services import build_services
from channels.media import clean_media
from dialogue_support import confirm_case
from storage import crypto
from storage.keys import init_keys, load_operator_identity
from storage.models import DraftMedia, OutboxEntry
from test_media import photo_with_exif
from worker_scripts import ENGLISH_INTAKE

WORKER = "+8801700000042"


def say(services, text: str, *media: MediaItem, refused: tuple[str, ...] = ()) -> str:
    message = InboundMessage(channel="sms", sender=WORKER, text=text, media=tuple(media), refused_media=refused)
    return "\n".join(services.intake.receive(message).texts)


def photo() -> MediaItem:
    return clean_media("image/jpeg", photo_with_exif(), 1_000_000)


def kept_media(services) -> int:
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(DraftMedia)).scalar_one()


def sealed_attachments(services) -> list[dict]:
    identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
    with services.sessions.begin() as session:
        [entry] = session.execute(select(OutboxEntry)).scalars().all()
        return json.loads(crypto.open_case([identity], entry.sealed)).get("attachments", [])


def reach_description(services) -> None:
    for text in ENGLISH_INTAKE[:3]:
        say(services, text)


def finish(services) -> str:
    for text in ENGLISH_INTAKE[3:]:
        say(services, text)
    return say(services, "1")


@pytest.fixture
def capped(settings_with):
    built = []

    def build(**limits):
        settings = settings_with(limits=limits)
        init_keys(settings, dev_operator_key=True)  # the operator key pair is made only when asked for
        built.append(build_services(settings))
        return built[-1]

    yield build
    for services in built:
        services.close()


def test_attachments_over_the_count_cap_are_refused_and_the_worker_told(capped):
    services = capped(max_attachments_per_report=2)
    reach_description(services)
    assert "We got your photo" in say(services, "", photo())
    assert "We got your photo" in say(services, "", photo())
    reply = say(services, "", photo())
    assert "We got your photo" not in reply
    assert "already has 2 photos or recordings" in reply and "What happened?" in reply
    assert kept_media(services) == 2
    assert "Your case code" in finish(services)
    assert len(sealed_attachments(services)) == 2


def test_attachments_over_the_byte_cap_are_refused_and_the_text_still_counts(capped):
    one = photo()
    services = capped(max_attachment_bytes_per_report=len(one.data) * 2 + 100)  # each counts its type's name too
    reach_description(services)
    say(services, "", one)
    say(services, "", one)
    reply = say(services, "The supervisor has not paid our wages", one)
    assert "too big, so it was not kept" in reply and "We got your photo" not in reply
    assert kept_media(services) == 2


def test_a_photo_sent_with_the_confirming_answer_is_sealed_with_the_case(services):
    reach_description(services)
    for text in ENGLISH_INTAKE[3:]:
        say(services, text)
    reply = say(services, "1", photo())
    assert "Your case code" in reply and "We got your photo" in reply
    [attachment] = sealed_attachments(services)
    assert attachment["content_type"] == "image/jpeg"
    assert kept_media(services) == 0


def test_a_photo_sent_as_an_answer_into_a_case_is_refused_honestly_and_nothing_kept(services):
    _, digits = confirm_case(services, WORKER)
    say(services, f"STATUS {digits}")
    reply = say(services, "", photo())
    assert "cannot be added to an answer" in reply and "We got your photo" not in reply
    reply = say(services, "They cut our pay again", photo())
    assert "cannot be added to an answer" in reply and "Your answer was added" in reply
    assert kept_media(services) == 0


@pytest.mark.parametrize(
    ("reason", "told"),
    [
        ("type", "We take only photos and voice messages"),
        ("too_large", "too big, so it was not kept"),
        ("unreadable", "We could not open your photo or recording"),
        ("something new", "We could not open your photo or recording"),
    ],
)
def test_what_a_channel_refused_is_told_and_the_words_are_kept(services, reason, told):
    reach_description(services)
    reply = say(services, "The supervisor has not paid our wages for two months", refused=(reason, reason))
    assert reply.count(told) == 1  # once per reason, however many files
    assert "Is this about" in reply  # the description was taken: the next question is asked
    assert kept_media(services) == 0


def test_a_refusal_alone_asks_the_same_question_again(services):
    reach_description(services)
    reply = say(services, "", refused=("type",))
    assert "We take only photos and voice messages" in reply and "What happened?" in reply


@pytest.mark.parametrize("language", ["bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es"])
def test_refusals_are_worded_in_every_language_without_english(language):
    catalogs = Catalogs(("en", language))
    for reason in REFUSAL_REASONS:
        text = catalogs.text(language, f"media.refused.{reason}", max=5)
        assert text and text != catalogs.text("en", f"media.refused.{reason}", max=5)
        assert ("5" in text) == (reason == "limit")
