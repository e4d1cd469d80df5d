"""Crafted attachments through real webhooks: the cleaning is bounded, the worker told in their language,
their text kept, and a provider's redelivery never has the same file fetched or decoded again.

The limits are lowered (a second of CPU) so that the crafted files, which would cost a decoder
many seconds, are refused quickly; `bench/media_bench.py` measures them at the default limits.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.services import build_services
from crafted_media import progressive_jpeg
from fake_telegram import FakeTelegramServer, photo_update
from storage.keys import init_keys
from storage.models import DraftMedia, InboundReceipt, MediaClaim
from test_channel_telegram import CHAT, FAST, TOKEN, WEBHOOK_SECRET, Chat, jpeg_with_exif, reach_description
from test_channel_whatsapp_cloud import image, post, text, webhook, wait_sent
from test_media import photo_with_exif

CAPTION = "The fire exit is locked with a chain"
# Unbounded, these 600 scans cost libjpeg about 6 s of a core (3,000 took 30 s and were kept).
SLOW_SCANS = 600


def rows(services, model) -> int:
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def fake():
    with FakeTelegramServer(TOKEN) as server:
        yield server


@pytest.fixture
def telegram(settings_with, fake, monkeypatch):
    """telegram(**media_limits) -> services with Telegram (against the fake) and those cleaning limits."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    built = []

    def build(**media):
        section = {"enabled": True, "base_url": fake.url + "/bot", "base_file_url": fake.url + "/file/bot", "rate": FAST}
        settings = settings_with(channels={"telegram": section}, media={"image_cpu_seconds": 1, **media})
        init_keys(settings, dev_operator_key=True)
        built.append(build_services(settings))
        return built[-1]

    yield build
    for services in built:
        services.close()


def slow_photo(chat: Chat, fake, file_id: str = "slow") -> dict:
    data = progressive_jpeg(SLOW_SCANS)
    fake.files[file_id] = ("photos/file_7.jpg", data)
    return photo_update(chat.next_update_id(), CHAT, fake.next_id(CHAT), [(file_id, 3900, 4000, len(data))], caption=CAPTION)


def fetches(fake) -> int:
    return len(fake.called("getFile"))


def test_a_progressive_jpeg_of_thousands_of_scans_is_refused_and_the_caption_still_counts(telegram, fake):
    services = telegram()
    chat = Chat(fake, create_app(services).test_client())
    reach_description(chat)
    reply = chat.exchange(slow_photo(chat, fake))
    assert "We got your photo" not in reply
    assert "We could not open your photo" in reply and "Is this about" in reply  # the caption was the description
    assert rows(services, DraftMedia) == 0
    fake.files["ok"] = ("photos/file_8.jpg", jpeg_with_exif())  # the channel goes on cleaning ordinary photos
    update = photo_update(chat.next_update_id(), CHAT, fake.next_id(CHAT), [("ok", 64, 48, 2000)])
    assert "We got your photo" in chat.exchange(update)
    assert rows(services, DraftMedia) == 1


def test_the_refusal_is_in_the_workers_language(telegram, fake):
    services = telegram()
    chat = Chat(fake, create_app(services).test_client())
    chat.say("hi")
    chat.tap("2")  # Bengali
    chat.say("হ্যাঁ")
    reply = chat.exchange(slow_photo(chat, fake))
    assert services.catalogs.text("bn", "media.refused.unreadable") in reply


def test_a_redelivery_while_the_photo_is_cleaned_is_told_to_come_back_and_nothing_is_cleaned_twice(telegram, fake):
    services = telegram(image_cpu_seconds=3)
    app = create_app(services)
    chat = Chat(fake, app.test_client())
    reach_description(chat)
    update = slow_photo(chat, fake)
    first: list = []
    worker = threading.Thread(target=lambda: first.append(chat.deliver(update)))
    worker.start()
    fake.wait_for(lambda: fetches(fake) == 1, what="the first delivery to fetch the photo")
    again = Chat(fake, app.test_client()).deliver(update)  # Telegram gave up waiting and delivers it again
    worker.join(timeout=120)
    assert again.status_code == 503  # "later": by then the first delivery has answered
    assert first[0].status_code == 200
    assert chat.deliver(update).status_code == 200  # Telegram's next try: a duplicate
    assert fetches(fake) == 1  # fetched and decoded once, for three deliveries
    fake.wait_for(lambda: "We could not open your photo" in chat.replies()[-1], what="the refusal")
    assert sum("We could not open your photo" in reply for reply in chat.replies()) == 1


def test_a_redelivery_of_a_handled_message_fetches_nothing(telegram, fake):
    services = telegram()
    chat = Chat(fake, create_app(services).test_client())
    reach_description(chat)
    fake.files["ok"] = ("photos/file_8.jpg", jpeg_with_exif())
    update = photo_update(chat.next_update_id(), CHAT, fake.next_id(CHAT), [("ok", 64, 48, 2000)], caption=CAPTION)
    assert "We got your photo" in chat.exchange(update)
    assert chat.deliver(update).status_code == 200
    assert fetches(fake) == 1 and rows(services, DraftMedia) == 1


def test_a_refusal_is_told_again_without_decoding_when_the_message_failed_after_the_cleaning(telegram, fake, monkeypatch):
    services = telegram()
    chat = Chat(fake, create_app(services).test_client())
    reach_description(chat)
    update = slow_photo(chat, fake)
    receipts = rows(services, InboundReceipt)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.intake.conversation, "handle", broken)
    assert chat.deliver(update).status_code == 503  # cleaned (and refused), then the message failed
    assert rows(services, InboundReceipt) == receipts and rows(services, MediaClaim) == 1
    monkeypatch.undo()
    reply = chat.exchange(update)  # Telegram's next try
    assert "We could not open your photo" in reply and "Is this about" in reply
    assert fetches(fake) == 1


def test_a_whatsapp_batch_redelivered_for_another_message_does_not_fetch_the_photo_again(
        settings, settings_with, monkeypatch):
    from fake_graph import FakeGraphServer
    from test_channel_whatsapp_cloud import ACCESS_TOKEN, APP_SECRET, OTHER_WORKER, PHONE_NUMBER_ID, VERIFY_TOKEN

    monkeypatch.setenv("WHATSAPP_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", ACCESS_TOKEN)
    with FakeGraphServer(ACCESS_TOKEN, PHONE_NUMBER_ID) as graph:
        channel = {"enabled": True, "phone_number_id": PHONE_NUMBER_ID, "graph_base_url": graph.url}
        services = build_services(settings_with(channels={"whatsapp_cloud": channel}))
        try:
            client = create_app(services).test_client()
            graph.media["7001"] = ("image/jpeg", photo_with_exif())
            real = services.intake.conversation.handle

            def fails_on_boom(draft, said, *args, **kwargs):
                if getattr(said, "text", said) == "boom":  # the message, normalised once by the intake
                    raise RuntimeError("database went away")
                return real(draft, said, *args, **kwargs)

            monkeypatch.setattr(services.intake.conversation, "handle", fails_on_boom)
            batch = webhook([image("7001", caption="hola"), text("boom", sender=OTHER_WORKER)])
            assert post(client, batch).status_code == 503  # Meta redelivers the whole batch
            downloads = [r for r in graph.requests if r.method == "GET"]
            monkeypatch.setattr(services.intake.conversation, "handle", real)
            assert post(client, batch).status_code == 200
            assert [r for r in graph.requests if r.method == "GET"] == downloads  # the photo was not fetched again
            assert len(downloads) == 2  # its URL, then its bytes: once
            wait_sent(graph, 2)
        finally:
            services.close()
