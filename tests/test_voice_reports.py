"""A voice note is a report: sent alone at "What happened?" it is the story, the flow goes on, the
case says it is a voice report, and what the team gets is the worker's voice disguised.

The update is Telegram's own example of a voice message, read from the external conformance
corpus (../shared/conformance beside the clone, or CONFORMANCE), only its ids and sender made
this test's; the recording the fake Telegram serves is a voiced sound of known pitch.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import pytest

from bot.app import create_app
from channels.voice_disguise import for_deployment
from storage.keys import init_keys
from test_channel_telegram import CHAT, FAST, TAPPED, TOKEN, WEBHOOK_SECRET, Chat, sealed_records
from test_voice_disguise import F0, ffmpeg, fundamental, samples, voiced
from worker_scripts import ENGLISH_INTAKE

CORPUS = Path(os.environ.get("CONFORMANCE") or Path(__file__).resolve().parents[1].parent / "shared" / "conformance")
VOICE_PAYLOAD = CORPUS / "payloads" / "telegram" / "tgdocs_voice.json"


@pytest.fixture
def fake():
    from fake_telegram import FakeTelegramServer

    with FakeTelegramServer(TOKEN) as server:
        yield server


@pytest.fixture
def telegram(settings_with, fake, monkeypatch):
    """telegram(keep_original=False) -> services with Telegram against the fake."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    built = []

    def build(keep_original: bool = False):
        from bot.services import build_services

        section = {"enabled": True, "base_url": fake.url + "/bot", "base_file_url": fake.url + "/file/bot", "rate": FAST}
        settings = settings_with(channels={"telegram": section}, media={"voice_disguise": {"keep_original": keep_original}})
        init_keys(settings, dev_operator_key=True)
        built.append(build_services(settings))
        return built[-1]

    yield build
    for services in built:
        services.close()


def real_voice_update(chat: Chat, fake) -> tuple[dict, str]:
    """Telegram's example voice update, as the corpus has it, with this test's ids and chat."""
    if not VOICE_PAYLOAD.is_file():
        pytest.skip(f"no conformance corpus at {CORPUS} (set CONFORMANCE=DIR), as `make conformance` skips")
    update = json.loads(VOICE_PAYLOAD.read_text(encoding="utf-8"))
    message = update["message"]
    update["update_id"] = chat.next_update_id()
    message["message_id"] = fake.next_id(CHAT)
    message["date"] = int(time.time())
    message["chat"]["id"] = message["from"]["id"] = CHAT
    message["from"].setdefault("is_bot", False)
    message["voice"].setdefault("file_unique_id", "u" + message["voice"]["file_id"])
    return update, message["voice"]["file_id"]


@pytest.mark.parametrize("keep_original", [False, True], ids=["disguised-only", "original-kept"])
def test_a_voice_note_at_what_happened_is_the_story_and_the_team_gets_the_voice_disguised(telegram, fake, keep_original):
    services = telegram(keep_original=keep_original)
    chat = Chat(fake, create_app(services).test_client())
    chat.say("hi")
    assert "What happened" in chat.tap("1")  # the privacy notice asks for the story
    recording = ffmpeg("-f", "wav", "-i", "pipe:0", "-c:a", "libopus", "-f", "ogg", "pipe:1", data=voiced())  # a phone's voice note
    update, file_id = real_voice_update(chat, fake)
    fake.files[file_id] = ("voice/file_9.oga", recording)

    reply = chat.exchange(update)

    assert "We got your photo or recording" in reply and "Thank you." in reply
    assert "What happened" not in reply  # nothing asks them to type it: on to the next question
    script = ENGLISH_INTAKE[5:]  # the category, and the rest, as a written report would go on
    for index, text in enumerate(script, start=5):
        chat.tap(TAPPED[index]) if index in TAPPED else chat.say(text)
    assert "Your case code" in chat.tap("1")
    [record] = sealed_records(services)
    assert record["story_kind"] == "voice"
    assert record["description"] == "\U0001f3a4 0:03"  # a microphone and the length: it is a voice report
    disguised = [item for item in record["attachments"] if item["voice"] == "disguised"]
    originals = [item for item in record["attachments"] if item["voice"] == "original"]
    assert len(disguised) == 1 and len(originals) == (1 if keep_original else 0)
    assert disguised[0]["seconds"] == pytest.approx(3.0, abs=0.1)
    pitch = fundamental(samples(base64.b64decode(disguised[0]["data_base64"]), "ogg")) / F0
    assert pitch == pytest.approx(for_deployment(services.settings.media, services.secrets).pitch_ratio, rel=0.01)
    if keep_original:
        assert fundamental(samples(base64.b64decode(originals[0]["data_base64"]), "ogg")) == pytest.approx(F0, rel=0.01)


def voice_note(seconds: float = 42.0):
    from bot.messages import InboundMessage, MediaItem

    item = MediaItem("audio/ogg", b"OggS a disguised voice", seconds=seconds, voice="disguised")
    return InboundMessage(channel="whatsapp", sender="+8801711000042", text="", adapter="fake", media=(item,))


def test_a_voice_note_elsewhere_is_an_attachment_and_one_at_change_replaces_the_story(services):
    from bot.messages import InboundMessage

    def say(text: str) -> str:
        return "\n".join(services.intake.receive(InboundMessage(channel="whatsapp", sender="+8801711000042", text=text,
                                                                adapter="fake")).texts)

    say("hi")
    say("1")
    say("They did not pay our wages for two months")  # a written story
    at_category = "\n".join(services.intake.receive(voice_note()).texts)
    assert "We got your photo or recording" in at_category and "Thank you." not in at_category  # an attachment, same question
    for text in ENGLISH_INTAKE[5:]:
        reply = say(text)
    assert "Your report:" in reply  # the summary
    say("2")  # change
    say("1")  # the description
    say("2")  # replace it
    replaced = "\n".join(services.intake.receive(voice_note(65.4)).texts)
    assert "Your report:" in replaced  # back at the summary
    assert "Your case code" in say("1")
    [record] = sealed_records(services)
    assert record["description"] == "\U0001f3a4 1:05" and record["story_kind"] == "voice"  # the story is now the voice note
    assert sorted(item["seconds"] for item in record["attachments"]) == [42.0, 65.4]  # the first one stayed an attachment
