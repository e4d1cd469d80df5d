"""The Telegram adapter against a fake Bot API on localhost: webhook and polling, buttons, media, DELETE, errors, leaks.

Updates are in Telegram's own JSON format (tests/fake_telegram.py builds them);
python-telegram-bot parses them and talks to the fake through `base_url`.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from PIL import Image
from sqlalchemy import func, select

from bot.app import create_app
from bot.config import ConfigError
from bot.logs import reset_logging, setup_logging
from bot.messages import ReplyAddress
from bot.services import build_services
from channels.base import SendError
from channels.telegram import api_for, message_ids
from channels.telegram_format import keyboard, split_text, utf16_units
from channels import telegram as telegram_module
from channels import telegram_polling
from channels.telegram_polling import Poller
from fake_telegram import FakeTelegramServer, photo_update, press_update, text_update, voice_update
from databases import example_config, needles_at_rest
from storage import crypto
from storage.keys import init_keys, load_operator_identity
from storage.models import Conversation, InboundReceipt, OutboundMessage, OutboxEntry
from test_media import SECRET_TAGS, pdf_with_author, png_declaring, rgba_png, tagged_recording
from worker_scripts import ENGLISH_INTAKE, ENGLISH_SECRETS

# Shaped so the log scrubber would NOT hide it: if a URL with it were logged, the scan would see it.
TOKEN = "4242000001:fake-token-QwErTy"
WEBHOOK_SECRET = "hook-secret-0123456789abcdefABCDEF"
CHAT = 555000111
REPO = Path(__file__).resolve().parents[1]
FAST = {"messages_per_second": 1000, "per_address_interval_seconds": 0}
# ENGLISH_INTAKE, with the menu answers given by tapping the buttons.
TAPPED = {1: "1", 5: "1", 11: "2", 12: "2", 13: "2"}


@pytest.fixture
def fake():
    with FakeTelegramServer(TOKEN) as server:
        yield server


@pytest.fixture
def telegram_services(settings_with, fake, monkeypatch):
    """build(mode=..., **section) -> services with Telegram enabled against the fake."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    built = []

    def build(**section):
        telegram = {"enabled": True, "base_url": fake.url + "/bot", "base_file_url": fake.url + "/file/bot", "rate": FAST, **section}
        settings = settings_with(channels={"telegram": telegram})
        init_keys(settings, dev_operator_key=True)
        built.append(build_services(settings))
        return built[-1]

    yield build
    for services in built:
        services.close()


@pytest.fixture
def services(telegram_services):
    return telegram_services()


@pytest.fixture
def client(services):
    return create_app(services).test_client()


class Chat:
    """One worker's private chat, delivered by webhook (a test client) or by polling (the fake's queue)."""

    def __init__(self, fake, client=None, chat_id: int = CHAT) -> None:
        self.fake, self.client, self.chat_id = fake, client, chat_id
        self.update_id = 700_000_000
        self.worker_ids: list[int] = []

    def deliver(self, update: dict, secret: str | None = WEBHOOK_SECRET):
        if self.client is None:
            self.fake.push_updates(update)
            return None
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return self.client.post("/webhooks/telegram", data=json.dumps(update), headers=headers, content_type="application/json")

    def next_update_id(self) -> int:
        self.update_id += 1
        return self.update_id

    def text(self, text: str) -> dict:
        message_id = self.fake.next_id(self.chat_id)
        self.worker_ids.append(message_id)
        return text_update(self.next_update_id(), self.chat_id, message_id, text)

    def press(self, data: str) -> dict:
        return press_update(self.next_update_id(), self.chat_id, self.last_keyboard(), data)

    def last_keyboard(self) -> dict:
        return [m for m in self.fake.sent(self.chat_id) if "inline_keyboard" in (m.get("reply_markup") or {})][-1]

    def replies(self) -> list[str]:
        return [m["text"] for m in self.fake.sent(self.chat_id)]

    def exchange(self, update: dict) -> str:
        """Deliver an update and wait for the bot's answer to arrive at the fake server."""
        before = len(self.replies())
        response = self.deliver(update)
        assert response is None or response.status_code == 200
        self.fake.wait_for(lambda: len(self.replies()) > before, what="the bot's reply")
        return self.replies()[-1]

    def say(self, text: str) -> str:
        return self.exchange(self.text(text))

    def tap(self, data: str) -> str:
        return self.exchange(self.press(data))


def count(services, model) -> int:
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def nothing_stored(services) -> bool:
    return all(count(services, model) == 0 for model in (Conversation, InboundReceipt, OutboundMessage))


def sealed_records(services) -> list[dict]:
    identity = load_operator_identity(services.settings.path(services.settings.operator.identity_file))
    with services.sessions.begin() as session:
        entries = session.execute(select(OutboxEntry)).scalars().all()
        return [json.loads(crypto.open_case([identity], entry.sealed)) for entry in entries]


def converse(chat: Chat, script=ENGLISH_INTAKE) -> str:
    """The whole intake, menus by buttons, then the tap on "1 Send"; returns the last reply."""
    for index, text in enumerate(script):
        chat.tap(TAPPED[index]) if index in TAPPED else chat.say(text)
    return chat.tap("1")


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "PhoneMaker", "Model-XYZ-12345"
    exif[0x8825] = {1: "N", 2: (23.0, 45.0, 12.0), 3: "E", 4: (90.0, 24.0, 36.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


# ---------------------------------------------------------------- the webhook's door


@pytest.mark.parametrize("secret", [None, "", "wrong", WEBHOOK_SECRET[:-1], WEBHOOK_SECRET + "x", WEBHOOK_SECRET.upper()])
def test_missing_or_wrong_secret_is_refused_and_nothing_is_stored(services, client, fake, secret):
    chat = Chat(fake, client)
    response = chat.deliver(chat.text("hi"), secret=secret)
    assert response.status_code == 403
    assert nothing_stored(services) and fake.called("sendMessage") == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"hi"', b'{"message": {}}', b'{"update_id": "12"}'])
def test_unreadable_body_with_the_right_secret_is_400_and_nothing_is_stored(services, client, fake, body):
    response = client.post("/webhooks/telegram", data=body, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
    assert response.status_code == 400
    assert nothing_stored(services) and fake.called("sendMessage") == []


@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
def test_group_chats_are_ignored_and_leave_no_trace(services, client, fake, chat_type, caplog):
    caplog.set_level(logging.INFO)
    chat = Chat(fake, client)
    group = {"id": -1001234567890, "type": chat_type, "title": "Line 4 workers"}
    message = text_update(chat.next_update_id(), CHAT, 5, "They beat us", chat=group)
    press = press_update(chat.next_update_id(), CHAT, {"message_id": 6, "text": "menu"}, "1")
    press["callback_query"]["message"]["chat"] = group
    for update in (message, press):
        assert chat.deliver(update).status_code == 200
    assert nothing_stored(services)
    assert fake.called("sendMessage") == [] and fake.called("answerCallbackQuery") == []
    ignored = [r for r in caplog.records if r.getMessage() == "telegram update ignored"]
    assert [r.reason for r in ignored] == ["group", "group"]
    assert all("1001234567890" not in str(r.__dict__) for r in caplog.records)


# Real shapes python-telegram-bot cannot read whole (older or newer than the library, or an odd nested
# object): what can be read of the message is kept and answered; only what is no message at all is refused.
def _message(message_id: int, **content) -> dict:
    """A private message from a 2016-era client: `from` without is_bot, files without file_unique_id."""
    person = {"id": CHAT, "first_name": "Nic", "last_name": "W"}
    return {"message_id": message_id, "from": person, "chat": {**person, "type": "private"}, "date": 1454119029, **content}


ODD_BUT_READABLE = {
    "text from a user without is_bot": ({"text": "hello"}, "welcome"),
    "text with an entity of an unknown type": ({"text": "hello", "entities": [{"type": "future_kind"}]}, "welcome"),
    "sticker without type and with the old thumb": (
        {"sticker": {"width": 436, "height": 512, "thumb": {"file_id": "AAQ", "file_size": 2510, "width": 77, "height": 90},
                     "file_id": "BQA", "file_size": 38440}}, "welcome"),
    "document with an empty thumbnail": (
        {"document": {"file_name": "Text File", "thumbnail": {}, "file_id": "BQAD", "file_unique_id": "AQAD", "file_size": 446}},
        "welcome"),
    "poll without the newer fields": (
        {"poll": {"id": "527", "question": "Test poll", "options": [{"text": "A", "voter_count": 0}], "total_voter_count": 0,
                  "is_closed": False, "is_anonymous": True, "type": "regular", "allows_multiple_answers": True}}, "welcome"),
    "caption of a photo whose sizes lack file_unique_id": (
        {"photo": [{"file_id": "old-photo", "file_size": 1140, "width": 51, "height": 90}], "caption": "hello"}, "welcome"),
    "a photo with an unreadable size beside a good one": (
        {"photo": [{"width": 1}, {"file_id": "old-photo", "file_unique_id": "u", "width": 51, "height": 90}], "caption": "hi"},
        "welcome"),
    "a text that is not a string": ({"text": ["hello"]}, "welcome"),
}


@pytest.mark.parametrize("case", list(ODD_BUT_READABLE))
def test_an_update_the_library_cannot_read_whole_is_still_answered(services, client, fake, case):
    content, expect = ODD_BUT_READABLE[case]
    fake.files["old-photo"] = ("photos/file_9.jpg", jpeg_with_exif())
    chat = Chat(fake, client)
    update = {"update_id": chat.next_update_id(), "message": _message(fake.next_id(CHAT), **content)}
    reply = chat.exchange(update)
    assert "Test hotline" in reply  # the welcome: a first message, whatever it held
    assert count(services, InboundReceipt) == 1 and count(services, Conversation) == 1


def test_a_photo_in_an_old_shape_is_still_fetched_with_its_caption(services, client, fake):
    fake.files["old-photo"] = ("photos/file_9.jpg", jpeg_with_exif())
    chat = Chat(fake, client)
    reach_description(chat)
    content = ODD_BUT_READABLE["caption of a photo whose sizes lack file_unique_id"][0]
    update = {"update_id": chat.next_update_id(), "message": _message(fake.next_id(CHAT), **{**content, "caption": "Wages unpaid"})}
    assert "We got your photo" in chat.exchange(update)
    assert [call["file_id"] for call in fake.called("getFile")] == ["old-photo"]


NOT_A_MESSAGE = {
    "a message that is a number": {"message": 5},
    "a message without a chat": {"message": {"message_id": 3, "date": 1, "text": "hi"}},
    "a chat id that is text": {"message": {"message_id": 3, "chat": {"id": "555", "type": "private"}, "text": "hi"}},
    "a chat id that is a boolean": {"message": {"message_id": 3, "chat": {"id": True, "type": "private"}, "text": "hi"}},
    "a message without its id": {"message": {"chat": {"id": CHAT, "type": "private"}, "text": "hi"}},
    "a chat without a type": {"message": {"message_id": 3, "chat": {"id": CHAT}, "text": "hi"}},
}


@pytest.mark.parametrize("case", list(NOT_A_MESSAGE))
def test_what_cannot_be_a_message_at_all_is_400_and_nothing_is_stored(services, client, fake, case):
    response = Chat(fake, client).deliver({"update_id": 41, **NOT_A_MESSAGE[case]})
    assert response.status_code == 400
    assert nothing_stored(services) and fake.called("sendMessage") == []


def test_a_press_on_an_inline_mode_message_is_acknowledged_and_nothing_is_done(services, client, fake):
    press = {"update_id": 10000, "callback_query": {"id": "4382bfdwdsb323b2d9", "from": {"id": CHAT, "first_name": "T"},
                                                     "data": "Data from button callback", "inline_message_id": "1234csdbsk4839"}}
    assert Chat(fake, client).deliver(press).status_code == 200
    assert nothing_stored(services) and fake.called("sendMessage") == []


def test_other_updates_are_acknowledged_and_ignored(services, client, fake):
    edited = {"update_id": 9, "edited_message": text_update(9, CHAT, 3, "edited")["message"]}
    assert Chat(fake, client).deliver(edited).status_code == 200
    assert nothing_stored(services)


def test_a_failure_in_the_intake_is_503_without_details_and_the_retry_works(services, client, fake, monkeypatch):
    chat = Chat(fake, client)
    update = chat.text("hi")

    def broken(*args, **kwargs):
        raise RuntimeError(f"database away while handling chat {CHAT}: hi")

    monkeypatch.setattr(services.intake, "receive", broken)
    response = chat.deliver(update)
    assert response.status_code == 503
    assert b"Traceback" not in response.data and str(CHAT).encode() not in response.data
    monkeypatch.undo()
    assert "1 English" in chat.exchange(update)


# ---------------------------------------------------------------- whole conversations


@pytest.mark.parametrize("mode", ["webhook", "polling"])
def test_a_whole_conversation_with_buttons_reaches_a_confirmed_case(telegram_services, fake, mode, monkeypatch):
    if mode == "polling":
        monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")  # polling needs none
    services = telegram_services(mode=mode)
    app = create_app(services)
    poller = None
    if mode == "webhook":
        chat = Chat(fake, app.test_client())
    else:
        assert app.test_client().post("/webhooks/telegram").status_code == 404  # no webhook route at all
        chat = Chat(fake)
        poller = Poller(services.adapters["telegram"], poll_timeout=1)
        thread = threading.Thread(target=poller.run)
        thread.start()
    try:
        last = converse(chat)
    finally:
        if poller is not None:
            poller.stop()
            thread.join(10)
    assert "Your case code" in last
    [record] = sealed_records(services)
    assert record["channel"] == "telegram"
    assert record["answers"]["workplace"] == "Sunrise Garments Ltd" and record["answers"]["people_affected"] == 40
    assert record["description"].startswith("The supervisor has not paid our wages")
    taps = len(TAPPED) + 1
    fake.wait_for(lambda: len(fake.called("answerCallbackQuery")) == taps, what="every tap's spinner to be stopped")
    fake.wait_for(lambda: len(fake.called("editMessageReplyMarkup")) == taps, what="every tapped keyboard to be taken off")
    if mode == "polling":
        assert fake.called("deleteWebhook")[0]["drop_pending_updates"] is False
        offsets = [call.get("offset") for call in fake.called("getUpdates")]
        assert offsets[-1] == chat.update_id + 1  # everything handled was confirmed to Telegram


def test_menus_are_inline_buttons_that_send_the_answer(services, client, fake):
    chat = Chat(fake, client)
    chat.say("hi")
    markup = chat.last_keyboard()["reply_markup"]["inline_keyboard"]
    assert [[button["callback_data"] for button in row] for row in markup] == [["1", "2"], ["3", "4"]]
    assert markup[0][0]["text"] == "1 English"
    assert services.catalogs.text("en", "ask.description") in chat.tap("1")  # the privacy notice and "What happened?"
    assert "What happened?" in chat.say("yes")  # consent given: the description is free text, no buttons
    assert fake.sent(CHAT)[-1]["reply_markup"] == {"remove_keyboard": True}


def test_the_same_update_twice_and_a_double_tap_get_one_reply(services, client, fake):
    chat = Chat(fake, client)
    first = chat.text("hi")
    chat.exchange(first)
    assert chat.deliver(first).status_code == 200  # Telegram's retry of the same update_id
    tap = chat.press("1")
    chat.exchange(tap)
    double = press_update(chat.next_update_id(), CHAT, fake.sent(CHAT)[0], "2")  # a second tap on the same keyboard
    assert chat.deliver(double).status_code == 200
    services.dispatcher.close()  # wait for anything the dispatcher would still send
    assert len(chat.replies()) == 2
    assert count(services, InboundReceipt) == 2
    fake.wait_for(lambda: len(fake.called("answerCallbackQuery")) == 2, what="the double tap's spinner to be stopped too")


def test_start_with_a_deep_link_payload_is_a_greeting_and_the_payload_is_not_kept(services, client, fake):
    chat = Chat(fake, client)
    assert "1 English" in chat.say("/start factory-17-line-4")
    chat.say("/start")
    assert count(services, Conversation) == 1
    assert needles_at_rest(services.settings, ["factory-17-line-4"]) == []


def reach_description(chat: Chat) -> None:
    chat.say("hi")
    chat.tap("1")
    chat.say("yes")  # at the privacy notice: "What happened?"


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [("photo", "image/jpeg"), ("voice", "audio/ogg"), ("image_file", "image/jpeg")],
)
def test_media_is_fetched_cleaned_and_sealed_with_the_case(services, client, fake, kind, content_type):
    photo = jpeg_with_exif()
    assert b"Model-XYZ-12345" in photo
    fake.files["small"] = ("photos/file_1.jpg", b"tiny thumbnail, never fetched")
    fake.files["big"] = ("photos/file_2.jpg", photo)
    fake.files["voice"] = ("voice/file_3.oga", tagged_recording("ogg", "libopus"))  # a real voice note, with tags
    fake.files["doc"] = ("documents/file_4.jpg", photo)
    chat = Chat(fake, client)
    reach_description(chat)
    message_id = fake.next_id(CHAT)
    if kind == "photo":
        update = photo_update(chat.next_update_id(), CHAT, message_id, [("small", 90, 67, 29), ("big", 64 * 20, 48 * 20, len(photo))],
                              caption="The fire exit is locked with a chain")
    elif kind == "voice":
        update = voice_update(chat.next_update_id(), CHAT, message_id, "voice", 20)
    else:
        update = text_update(chat.next_update_id(), CHAT, message_id, "x")
        del update["message"]["text"]
        update["message"]["document"] = {"file_id": "doc", "file_unique_id": "udoc", "file_name": "IMG_0001.jpg",
                                         "mime_type": "image/jpeg", "file_size": len(photo)}
    assert "We got your photo or recording" in chat.exchange(update)
    # A photo with its caption is the story's first line; a voice note alone is the story (a voice
    # report: tests/test_voice_reports.py); a file alone asks for the story again.
    script = {"photo": ENGLISH_INTAKE[4:], "voice": ENGLISH_INTAKE[5:], "image_file": ENGLISH_INTAKE[3:]}[kind]
    for index, text in enumerate(script, start=len(ENGLISH_INTAKE) - len(script)):
        chat.tap(TAPPED[index]) if index in TAPPED else chat.say(text)
    assert "Your case code" in chat.tap("1")
    [record] = sealed_records(services)
    [attachment] = record["attachments"]
    data = base64.b64decode(attachment["data_base64"])
    assert attachment["content_type"] == content_type
    assert record["story_kind"] == ("voice" if kind == "voice" else "text")  # a written story with a photo is a text report
    assert not [tag for tag in SECRET_TAGS if tag in data]
    if content_type.startswith("image/"):
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (64, 48) and not image.getexif()
    fetched = [call["file_id"] for call in fake.called("getFile")]
    assert fetched == [{"photo": "big", "voice": "voice", "image_file": "doc"}[kind]]


def test_a_photo_too_large_is_not_fetched_and_the_caption_still_counts(telegram_services, fake):
    services = telegram_services(media_max_bytes=1000)
    chat = Chat(fake, create_app(services).test_client())
    reach_description(chat)
    update = photo_update(chat.next_update_id(), CHAT, fake.next_id(CHAT), [("huge", 1280, 960, 50_000)], caption="Wages not paid for two months")
    reply = chat.exchange(update)
    assert "We got your photo" not in reply and "Is this about" in reply
    assert fake.called("getFile") == []


def test_a_media_fetch_failure_is_503_so_telegram_retries(services, client, fake):
    fake.files["big"] = ("photos/file_2.jpg", jpeg_with_exif())
    chat = Chat(fake, client)
    reach_description(chat)
    receipts = count(services, InboundReceipt)
    fake.fail_next("getFile", 502, "Bad Gateway")
    update = photo_update(chat.next_update_id(), CHAT, fake.next_id(CHAT), [("big", 64, 48, 2000)])
    assert chat.deliver(update).status_code == 503
    assert count(services, InboundReceipt) == receipts  # not taken: the retry will be handled
    assert "We got your photo" in chat.exchange(update)


def file_update(chat: Chat, kind: str, content_type: str, caption: str) -> dict:
    """The worker sends a file: a "document" (any type, as a file) or a "video"."""
    update = text_update(chat.next_update_id(), CHAT, chat.fake.next_id(CHAT), "x")
    del update["message"]["text"]
    update["message"]["caption"] = caption
    if kind == "video":
        update["message"]["video"] = {"file_id": "f", "file_unique_id": "uf", "width": 64, "height": 48, "duration": 1}
    else:
        update["message"]["document"] = {"file_id": "f", "file_unique_id": "uf", "file_name": "IMG.bin", "mime_type": content_type}
    return update


@pytest.mark.parametrize(
    ("name", "kind", "content_type", "data", "told", "fetched"),
    [
        ("RGBA PNG declared JPEG", "document", "image/jpeg", rgba_png(), "We could not open your photo", True),
        ("8900x8900 PNG bomb", "document", "image/png", png_declaring(8900, 8900), "too big, so it was not kept", True),
        ("PDF with /Author", "document", "application/pdf", pdf_with_author(), "We take only photos and voice messages", False),
        ("MP4 video with GPS", "video", "video/mp4", b"\x00\x00\x00\x18ftypmp42", "We take only photos and voice messages", False),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_a_crafted_or_refused_file_costs_only_itself_and_the_worker_is_told(services, client, fake, name, kind, content_type, data, told, fetched):
    fake.files["f"] = ("documents/file_9", data)
    chat = Chat(fake, client)
    reach_description(chat)
    update = file_update(chat, kind, content_type, "Wages not paid for two months")
    response = chat.deliver(update)
    assert response.status_code == 200, name  # was 503 on every retry for the crafted PNG
    fake.wait_for(lambda: told in chat.replies()[-1], what="the refusal")
    assert "Is this about" in chat.replies()[-1]  # the caption was taken as the description
    assert bool(fake.called("getFile")) == fetched  # video and documents are not even downloaded
    assert chat.deliver(update).status_code == 200  # a retry is a duplicate, not a crash


def test_on_the_last_try_a_file_telegram_cannot_give_is_refused_and_the_text_goes_through(services, fake):
    adapter = services.adapters["telegram"]
    chat = Chat(fake)
    fake.fail_next("getFile", 502, "Bad Gateway", times=2)
    update = photo_update(chat.next_update_id(), CHAT, fake.next_id(CHAT), [("big", 64, 48, 2000)], caption="hi")
    assert adapter.handle_update(update) == 503  # not the last try: Telegram's fault may pass
    assert adapter.handle_update(update, last_try=True) == 200
    services.dispatcher.close()
    assert "We could not open your photo" in chat.replies()[-1] and "1 English" in chat.replies()[-1]


def poison_intake(services, monkeypatch) -> list[int]:
    """The intake fails (as a bug would) on every message saying "poison"; returns the tries made."""
    tries = []
    real = services.intake.receive

    def receive(message, **options):
        if message.text == "poison":
            tries.append(1)
            raise RuntimeError("a bug")
        return real(message, **options)

    monkeypatch.setattr(services.intake, "receive", receive)
    return tries


def test_polling_skips_an_update_that_fails_every_try_and_answers_the_worker_behind_it(services, fake, monkeypatch):
    monkeypatch.setattr(telegram_polling, "MAX_TRIES", 3)  # the poller's own count (as imported there)
    tries = poison_intake(services, monkeypatch)
    chat = Chat(fake)
    chat.deliver(chat.text("poison"))
    behind = Chat(fake, chat_id=CHAT + 1)
    behind.update_id = chat.update_id
    behind.deliver(behind.text("hi"))
    poller = Poller(services.adapters["telegram"], poll_timeout=1, first_pause=0.01)
    thread = threading.Thread(target=poller.run)
    thread.start()
    try:
        fake.wait_for(lambda: behind.replies(), what="the worker behind the poison update to be answered")
    finally:
        poller.stop()
        thread.join(10)
    assert len(tries) == 3 and poller.skipped == 1
    assert poller.failures == {}  # counts are dropped once an update is done with
    assert poller.offset == behind.update_id + 1


@pytest.mark.parametrize("database_up", [True, False])
def test_a_webhook_update_that_fails_every_try_is_given_up_only_while_the_database_answers(services, client, fake, monkeypatch, database_up):
    adapter = services.adapters["telegram"]
    monkeypatch.setattr(telegram_module, "MAX_TRIES", 3)
    monkeypatch.setattr(adapter, "database_answers", lambda: database_up)
    tries = poison_intake(services, monkeypatch)
    update = Chat(fake, client).text("poison")
    statuses = [Chat(fake, client).deliver(update).status_code for _ in range(3 if database_up else 5)]
    if database_up:
        assert statuses == [503, 503, 200] and len(tries) == 3 and adapter.skipped == 1
        assert adapter.failures == {}  # nothing of the update is kept once given up
    else:
        assert statuses == [503] * 5 and adapter.skipped == 0  # still owed: Telegram sends it again


def test_polling_skips_nothing_while_the_database_is_away(services, fake, monkeypatch):
    monkeypatch.setattr(telegram_polling, "MAX_TRIES", 2)
    monkeypatch.setattr(Poller, "_database_answers", lambda self: False)
    tries = poison_intake(services, monkeypatch)
    chat = Chat(fake)
    chat.deliver(chat.text("poison"))
    poller = Poller(services.adapters["telegram"], poll_timeout=1, first_pause=0.01)
    thread = threading.Thread(target=poller.run)
    thread.start()
    try:
        fake.wait_for(lambda: len(tries) >= 5, what="the update to be tried past MAX_TRIES")
    finally:
        poller.stop()
        thread.join(10)
    assert poller.skipped == 0 and poller.offset is None  # still owed: Telegram keeps it
    assert list(poller.failures.values())[0] >= 5


# ---------------------------------------------------------------- DELETE


@pytest.mark.parametrize("batch_refused", [False, True])
def test_delete_removes_the_workers_and_the_bots_messages_in_that_chat(services, client, fake, batch_refused):
    chat = Chat(fake, client)
    chat.say("hi")
    chat.tap("1")
    chat.say("yes")
    services.dispatcher.close()  # every sent message's id is recorded before the worker writes again
    bot_ids = [m["message_id"] for m in fake.sent(CHAT)]
    if batch_refused:
        fake.fail_next("deleteMessages", 400, "Bad Request: method not supported")
    chat.say("DELETE")
    if batch_refused:
        deleted = fake.wait_for(lambda: len(fake.called("deleteMessage")) >= len(bot_ids) + 3 and fake.called("deleteMessage"))
        ids = sorted(call["message_id"] for call in deleted)
    else:
        [call] = fake.wait_for(lambda: fake.called("deleteMessages"))
        assert call["chat_id"] == CHAT
        ids = call["message_ids"]
    assert ids == sorted([*chat.worker_ids, *bot_ids])  # "hi", "yes", "DELETE" and the bot's three
    assert count(services, Conversation) == 0


def test_erase_by_the_contract_deletes_refs_including_parts_of_long_texts(services, fake):
    adapter = services.adapters["telegram"]
    adapter.erase(ReplyAddress("telegram", "telegram", str(CHAT)), ["7", "8,9", "7", "junk"])
    assert fake.called("deleteMessages") == [{"chat_id": CHAT, "message_ids": [7, 8, 9]}]
    assert message_ids(["12,3", "x"]) == [3, 12]


# ---------------------------------------------------------------- sending


def queued_reply(services, fake, client) -> OutboundMessage:
    chat = Chat(fake, client)
    chat.deliver(chat.text("hi"))
    services.dispatcher.close()
    with services.sessions.begin() as session:
        return session.execute(select(OutboundMessage)).scalars().one_or_none()


@pytest.mark.parametrize(
    ("status", "description", "parameters", "state"),
    [
        (429, "Too Many Requests: retry after 5", {"retry_after": 5}, "pending"),
        (500, "Internal Server Error", None, "pending"),
        (502, "Bad Gateway", None, "pending"),
        (401, "Unauthorized", None, "pending"),  # a wrong token is the deployment's problem: keep the message
        (403, "Forbidden: bot was blocked by the user", None, "dead"),
        (400, "Bad Request: chat not found", None, "dead"),
    ],
)
def test_send_errors_are_retried_or_dead_as_mapped(services, client, fake, status, description, parameters, state):
    fake.fail_next("sendMessage", status, description, parameters)
    row = queued_reply(services, fake, client)
    assert row is not None and row.state == state and row.attempts == 1
    assert row.last_error.startswith("SendError: telegram ")
    for secret in (str(CHAT), TOKEN, "fake-token", "Welcome", description):
        assert secret not in row.last_error
    if state == "pending":  # the retry goes through
        services.dispatcher.queue.release(row.id, row.created_at)
        assert services.dispatcher.run_once().sent == 1


def test_a_connection_failure_is_retryable_and_says_nothing_of_the_chat(services):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    adapter = services.adapters["telegram"]
    adapter.api.close()
    adapter.api = api_for(services.settings.model_copy(update={"channels": services.settings.channels.model_copy(
        update={"telegram": services.settings.channels.telegram.model_copy(update={"base_url": closed + "/bot"})})}), TOKEN)
    with pytest.raises(SendError) as raised:
        adapter.send(ReplyAddress("telegram", "telegram", str(CHAT)), "They beat us")
    assert raised.value.retryable and str(raised.value) == "telegram NetworkError"


def test_long_texts_go_in_parts_with_the_buttons_on_the_last(services, fake):
    paragraph = "Paragraph about the case. " * 100  # 2600 characters
    text = "\n\n".join([paragraph.strip()] * 4)
    ref = services.adapters["telegram"].send(ReplyAddress("telegram", "telegram", str(CHAT)), text, [("1", "Yes"), ("2", "No")])
    sent = fake.sent(CHAT)
    assert ref == ",".join(str(m["message_id"]) for m in sent)
    assert [m["text"] for m in sent] == [paragraph.strip()] * 4  # cut between paragraphs, none lost
    assert all("reply_markup" not in m for m in sent[:-1])
    assert sent[-1]["reply_markup"]["inline_keyboard"] == [[{"text": "1 Yes", "callback_data": "1"}, {"text": "2 No", "callback_data": "2"}]]


def test_text_splitting_and_keyboards():
    assert split_text("short") == ["short"]
    emoji = "🔥" * 3000  # 6000 UTF-16 units
    assert [utf16_units(part) for part in split_text(emoji)] == [4096, 1904]
    assert split_text("aaaa bbbb cccc dddd", limit=10) == ["aaaa bbbb", "cccc dddd"]
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]  # no space to cut at: cut anyway
    long_labels = keyboard([("1", "Wages or benefits not paid"), ("2", "Working hours")])
    assert [len(row) for row in long_labels.inline_keyboard] == [1, 1]
    assert keyboard([("x" * 65, "too long for callback_data")]).to_dict() == {"remove_keyboard": True}


def test_rate_comes_from_the_settings(telegram_services):
    services = telegram_services(rate={"messages_per_second": 30, "per_address_interval_seconds": 1})
    assert services.adapters["telegram"].rate.messages_per_second == 30
    assert services.adapters["telegram"].rate.per_address_interval_seconds == 1


# ---------------------------------------------------------------- secrets and start-up


def test_secret_values_and_a_weak_webhook_secret(telegram_services, monkeypatch):
    assert telegram_services().adapters["telegram"].secret_values() == (TOKEN, WEBHOOK_SECRET)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "short")
    with pytest.raises(ConfigError, match=r"^config error: channels.telegram.webhook_secret: must be 16 to 256"):
        telegram_services()


def deployment_with_telegram(tmp_path: Path, fake_url: str, database_url: str | None, **telegram) -> Path:
    config = example_config(database_url)
    config["channels"]["telegram"] = {"enabled": True, "base_url": fake_url + "/bot", "base_file_url": fake_url + "/file/bot", **telegram}
    config["server"]["public_url"] = "https://hotline.example.org/"
    config["server"]["forward_interval_seconds"] = 0.2
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def grievance(deployment: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(deployment / "config.yaml"), *args],
        capture_output=True, text=True, cwd=deployment, timeout=120, env={**clean, **(env or {})},
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize(
    ("env", "mode", "error"),
    [
        ({}, "webhook", "config error: channels.telegram.bot_token: environment variable TELEGRAM_BOT_TOKEN is not set"),
        ({}, "polling", "config error: channels.telegram.bot_token: environment variable TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN}, "webhook",
         "config error: channels.telegram.webhook_secret: environment variable TELEGRAM_WEBHOOK_SECRET is not set"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN}, "polling", None),
    ],
)
def test_an_enabled_channel_without_its_secret_stops_start_up_with_one_line(tmp_path, fake, env, mode, error, database_url):
    deployment = deployment_with_telegram(tmp_path, fake.url, database_url, mode=mode)
    grievance(deployment, "init", "--dev-operator-key")
    result = grievance(deployment, "forward", env=env, check=False)
    if error is None:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 2 and result.stderr.strip().splitlines() == [error]


def test_set_webhook_and_delete_webhook(tmp_path, fake, database_url):
    deployment = deployment_with_telegram(tmp_path, fake.url, database_url)
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}
    out = grievance(deployment, "telegram", "set-webhook", env=env).stdout
    assert "webhook set: https://hotline.example.org/webhooks/telegram" in out and WEBHOOK_SECRET not in out
    assert fake.called("setWebhook") == [{
        "url": "https://hotline.example.org/webhooks/telegram", "secret_token": WEBHOOK_SECRET,
        "allowed_updates": ["message", "callback_query"], "drop_pending_updates": False,
    }]
    assert "webhook deleted" in grievance(deployment, "telegram", "delete-webhook", env={"TELEGRAM_BOT_TOKEN": TOKEN}).stdout
    assert fake.called("deleteWebhook") == [{"drop_pending_updates": False}]
    fake.fail_next("setWebhook", 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    refused = grievance(deployment, "telegram", "set-webhook", env=env, check=False)
    assert refused.returncode == 1 and "BadRequest" in refused.stderr and TOKEN not in refused.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_with_telegram_polling_answers_a_worker_and_stops_cleanly(tmp_path, fake, database_url):
    deployment = deployment_with_telegram(tmp_path, fake.url, database_url, mode="webhook")
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}
    grievance(deployment, "init", "--dev-operator-key")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    server = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(deployment / "config.yaml"),
         "serve", "--port", str(_free_port()), "--workers", "1", "--telegram-polling"],
        cwd=deployment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**clean, **env},
    )
    try:
        fake.wait_for(lambda: fake.called("getUpdates"), timeout=60, what="the poller to start")
        chat = Chat(fake)
        fake.push_updates(chat.text("hi"))
        fake.wait_for(lambda: chat.replies(), timeout=30, what="the reply through the poller")
        assert "1 English" in chat.replies()[0]
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=60)
    assert server.returncode == 0, errors
    leftovers = subprocess.run(["pgrep", "-f", f"{deployment}/config.yaml telegram poll"], capture_output=True, text=True)
    assert leftovers.stdout == ""
    assert TOKEN.split(":")[1] not in errors


# ---------------------------------------------------------------- nothing leaks


def test_token_chat_id_and_texts_are_in_no_log_line_and_not_on_disk(services, client, fake):
    noisy = ("httpx", "httpcore", "telegram", "telegram.ext", "telegram.Bot", "PIL")
    levels = {name: logging.getLogger(name).level for name in noisy}
    log_file = services.settings.path(services.settings.logging.file)
    setup_logging("DEBUG", log_file)
    for name in noisy:  # even if something turned the HTTP, bot and image libraries up, nothing may pass
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        photo = jpeg_with_exif()
        log_file.write_text("")  # only what the adapter's path logs
        fake.files["big"] = ("photos/file_2.jpg", photo)
        chat = Chat(fake, client)
        reach_description(chat)
        chat.exchange(photo_update(chat.next_update_id(), CHAT, fake.next_id(CHAT), [("big", 64, 48, 3000)], caption=ENGLISH_SECRETS[0]))
        for text in ENGLISH_INTAKE[4:9]:
            chat.say(text)
        fake.fail_next("sendMessage", 403, f"Forbidden: bot was blocked by the user {CHAT}")
        chat.deliver(chat.text("since September"))
        services.dispatcher.close()
        chat.deliver(chat.text("DELETE"))  # a report is half-written: asked first
        chat.deliver(chat.text("yes"))
        fake.wait_for(lambda: fake.called("deleteMessages"))
        services.dispatcher.close()
        needles = [TOKEN, TOKEN.split(":")[1], WEBHOOK_SECRET, str(CHAT), *ENGLISH_SECRETS]
        lines = log_file.read_text()
        assert "PhoneMaker" not in lines and "Model-XYZ" not in lines  # the photo's EXIF, as an image library logs it
        assert "message handled" in lines and "send failed" in lines
        assert [needle for needle in needles if needle in lines] == []
        assert needles_at_rest(services.settings, needles) == []
        services.close()
        assert needles_at_rest(services.settings, needles) == []
    finally:
        reset_logging()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


# ---------------------------------------------------------------- DELETE after a report: every message Telegram still allows


def _chat_refs_rows(services) -> int:
    from storage.models import ChatMessageRefs

    return count(services, ChatMessageRefs)


def test_delete_after_a_report_deletes_the_summary_the_case_code_and_the_operator_messages(services, client, fake):
    from bot.operator_api import create_operator_app
    from dialogue_support import new_token
    from worker_scripts import ENGLISH_INTAKE_CONTACT_YES

    chat = Chat(fake, client)
    for index, text in enumerate(ENGLISH_INTAKE_CONTACT_YES):
        chat.tap({**TAPPED, 12: "1"}[index]) if index in TAPPED else chat.say(text)  # 12: YES to contact
    assert "Your case code" in chat.tap("1")
    with services.sessions.begin() as session:
        case_id = session.execute(select(OutboxEntry.case_id)).scalar_one()
    before = len(fake.sent(CHAT))
    api = create_operator_app(services).test_client()
    token = new_token(services)
    answer = api.post(f"/v1/cases/{case_id}/messages", json={"text": "We called the factory."},
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    assert answer["delivery"] == "sent_to_channel"
    fake.wait_for(lambda: len(fake.sent(CHAT)) > before, what="the operator's message")
    services.dispatcher.close()  # every sent message's id is recorded before the worker writes again
    bot_ids = [m["message_id"] for m in fake.sent(CHAT)]
    assert count(services, Conversation) == 0  # the conversation ended with the report
    erased = chat.say("DELETE")
    assert erased == services.catalogs.text("en", "deleted")
    [call] = fake.wait_for(lambda: fake.called("deleteMessages"))
    assert call["chat_id"] == CHAT
    assert call["message_ids"] == sorted([*chat.worker_ids, *bot_ids])  # summary, case code, operator's message...
    services.dispatcher.close()
    assert _chat_refs_rows(services) == 0  # the answer to DELETE went out unrecorded: nothing of the chat stays
    assert not any("older than 48 hours" in text for text in chat.replies())


def test_delete_says_how_many_messages_are_too_old_for_telegram_to_delete(services, client, fake):
    from datetime import UTC, datetime, timedelta

    from storage.chat_refs import ChatRefStore

    now = datetime.now(UTC)
    old = [fake.next_id(CHAT), fake.next_id(CHAT), fake.next_id(CHAT)]  # the summary and code of a report 3 days ago
    with services.sessions.begin() as session:
        store = ChatRefStore(session, services.secrets, timedelta(days=7))
        store.add("telegram", str(CHAT), str(old[0]), now - timedelta(days=3), sent_by_bot=False)
        store.add("telegram", str(CHAT), f"{old[1]},{old[2]}", now - timedelta(days=3), sent_by_bot=True)  # one text in two parts
    chat = Chat(fake, client)
    chat.say("hi")
    services.dispatcher.close()
    recent_bot = [m["message_id"] for m in fake.sent(CHAT)]
    chat.say("DELETE")
    [call] = fake.wait_for(lambda: fake.called("deleteMessages"))
    assert call["message_ids"] == sorted([*chat.worker_ids, *recent_bot])  # Telegram would refuse the old ones
    note = services.catalogs.text("en", "erase.too_old", count=3)
    fake.wait_for(lambda: note in chat.replies(), what="the note about the messages too old to delete")
    services.dispatcher.close()
    assert _chat_refs_rows(services) == 0


def test_delete_still_removes_the_conversations_messages_when_the_kept_ids_cannot_be_read(services, client, fake, monkeypatch):
    from storage.chat_refs import ChatRefStore

    chat = Chat(fake, client)
    chat.say("hi")
    services.dispatcher.close()
    bot_ids = [m["message_id"] for m in fake.sent(CHAT)]

    def broken(self, channel, address):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(ChatRefStore, "take", broken)
    assert chat.say("DELETE") == services.catalogs.text("en", "deleted")
    [call] = fake.wait_for(lambda: fake.called("deleteMessages"))
    assert call["message_ids"] == sorted([*chat.worker_ids, *bot_ids])  # from the draft, as before
