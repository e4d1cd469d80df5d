"""Facebook Messenger: handshake, signatures, whole reports in two languages, windows, media, secrets.

Webhooks are posted in the Messenger Platform's format and signed over the exact raw
bytes, as Meta signs them. Replies go through the dispatcher to a fake Send API on
127.0.0.1 (`tests/fake_messenger.py`); nothing reaches the internet.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from PIL import Image

from bot.app import create_app
from bot.config import ConfigError
from bot.logs import reset_logging, setup_logging
from bot.messages import ReplyAddress
from bot.services import build_services
from channels.base import SendError
from channels.messenger.send import OutsideWindow
from channel_support import CODE_SHOWN, make_due, photo_with_exif, post_signed, pulled, rows, second_worker, settle, wait_until
from databases import needles_at_rest
from fake_messenger import (
    VERSION,
    FakeMessengerServer,
    attachment_event,
    echo_event,
    messenger_sign,
    page_webhook,
    reaction_event,
    read_event,
    text_event,
)
from storage.models import Conversation, InboundReceipt, OutboundMessage
from worker_scripts import BENGALI_INTAKE, ENGLISH_INTAKE

PAGE_ID = "104857600012345"
APP_SECRET = "messenger-app-secret-5b1f0e9a7c"
VERIFY_TOKEN = "messenger-verify-8d2c4e"
PAGE_TOKEN = "EAAJmessengerPageToken0123456789abcdefXYZ"
WORKER = "7253108842167741"  # a page-scoped id (PSID)
OTHER_WORKER = "6029184471302285"
_mids = count(1)


def mid() -> str:
    return f"m_AbCdEfGhIjKlMnOpQrStUv{next(_mids):08d}"


@pytest.fixture
def fake():
    with FakeMessengerServer(PAGE_TOKEN) as server:
        yield server


@pytest.fixture
def messenger_env(monkeypatch):
    monkeypatch.setenv("MESSENGER_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("MESSENGER_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.setenv("MESSENGER_PAGE_ACCESS_TOKEN", PAGE_TOKEN)


@pytest.fixture
def make_services(settings, settings_with, fake, messenger_env):
    built = []

    def build(**section):
        channel = {"enabled": True, "page_id": PAGE_ID, "graph_base_url": f"{fake.url}/{VERSION}", **section}
        built.append(build_services(settings_with(channels={"messenger": channel})))
        return built[-1]

    yield build
    for services in built:
        services.close()


@pytest.fixture
def services(make_services):
    return make_services()


@pytest.fixture
def client(services):
    return create_app(services).test_client()


def post(client, payload, *, signature: str | None = "sign"):
    return post_signed(client, "/webhooks/messenger", payload, header="X-Hub-Signature-256",
                       sign=lambda raw: messenger_sign(APP_SECRET, raw), signature=signature)


def say(client, fake, text: str, psid: str = WORKER, quick_reply: str | None = None) -> str:
    before = len(fake.sent(psid))
    assert post(client, page_webhook(PAGE_ID, text_event(PAGE_ID, psid, mid(), text, quick_reply))).status_code == 200
    wait_until(lambda: len(fake.sent(psid)) > before)
    return "\n".join(body["message"]["text"] for body in fake.sent(psid)[before:])


def address(hours_ago: float | None) -> ReplyAddress:
    seen = None if hours_ago is None else datetime.now(UTC) - timedelta(hours=hours_ago)
    return ReplyAddress("messenger", "messenger", WORKER, last_inbound_at=seen)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8812"}, 200),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "8812"}, 403),
        ({"hub.mode": "subscribe", "hub.challenge": "8812"}, 403),
        ({}, 403),
    ],
)
def test_the_verification_handshake(client, params, expected):
    response = client.get("/webhooks/messenger", query_string=params)
    assert response.status_code == expected
    assert (response.get_data(as_text=True) == "8812") == (expected == 200)


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "forged"])
def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(client, services, fake, signature):
    response = post(client, page_webhook(PAGE_ID, text_event(PAGE_ID, WORKER, mid(), "hello")), signature=signature)
    assert response.status_code == 403
    assert rows(services, Conversation) == rows(services, InboundReceipt) == rows(services, OutboundMessage) == 0
    assert fake.requests == []


def test_a_whole_english_report_over_http_with_quick_replies(client, services, fake):
    replies = [say(client, fake, text) for text in [*ENGLISH_INTAKE, "1"]]
    assert "Sent. Your case code" in replies[-1]
    bodies = fake.sent(WORKER)
    assert any("quick_replies" in body["message"] for body in bodies), "menus come as quick replies"
    for body in bodies:
        assert body["messaging_type"] == "RESPONSE"
        assert len(body["message"].get("quick_replies", [])) <= 13
        assert all(len(item["title"]) <= 20 for item in body["message"].get("quick_replies", []))
    (case,) = pulled(services)
    assert case["channel"] == "messenger" and "has not paid our wages" in case["description"]
    assert case["contact"] is None


def test_a_whole_bengali_report_answered_by_tapping_quick_replies(client, services, fake):
    for text in BENGALI_INTAKE[:2]:
        say(client, fake, text)
    for text in BENGALI_INTAKE[2:]:
        quick = text if text in ("১", "২", "৩") else None
        say(client, fake, text, quick_reply=quick)
    confirmed = say(client, fake, "১", quick_reply="1")  # SEND, tapped
    assert CODE_SHOWN.search(confirmed)
    (case,) = pulled(services)
    assert case["language"] == "bn" and case["channel"] == "messenger"


def test_a_redelivered_message_is_answered_once(client, services, fake):
    event = text_event(PAGE_ID, WORKER, mid(), "hello")
    for _ in range(3):
        assert post(client, page_webhook(PAGE_ID, event)).status_code == 200
    wait_until(lambda: fake.sent(WORKER))
    services.dispatcher.run_once()
    assert len(fake.sent(WORKER)) == 1


def test_echoes_reads_reactions_and_other_pages_are_ignored(client, services, fake):
    payload = page_webhook(PAGE_ID, echo_event(PAGE_ID, WORKER, mid()), read_event(PAGE_ID, WORKER),
                           reaction_event(PAGE_ID, WORKER, mid()))
    payload["entry"].append({"id": "999", "time": 1, "messaging": [text_event("999", OTHER_WORKER, mid(), "hello")]})
    assert post(client, payload).status_code == 200
    assert rows(services, Conversation) == rows(services, InboundReceipt) == 0
    assert fake.requests == []


@pytest.mark.parametrize("raw", [b"not json", b"[]", json.dumps({"object": "instagram", "entry": []}).encode()])
def test_a_signed_body_that_is_not_a_page_webhook_is_a_400(client, services, raw):
    assert post(client, raw).status_code == 400
    assert rows(services, InboundReceipt) == 0


def test_one_odd_event_does_not_drop_the_others(client, services, fake):
    odd = {"sender": {"id": WORKER}, "recipient": {"id": PAGE_ID}, "message": {"mid": 42, "text": ["not", "text"]}}
    payload = page_webhook(PAGE_ID, odd, text_event(PAGE_ID, OTHER_WORKER, mid(), "hello"))
    assert post(client, payload).status_code == 200
    wait_until(lambda: fake.sent(OTHER_WORKER))


def test_a_photo_is_fetched_stripped_and_sealed_with_the_case(client, services, fake):
    url = fake.add_file("photo-1.jpg", "image/jpeg", photo_with_exif())
    for text in ENGLISH_INTAKE[:4]:
        say(client, fake, text)
    before = len(fake.sent(WORKER))
    assert post(client, page_webhook(PAGE_ID, attachment_event(PAGE_ID, WORKER, mid(), "image", url))).status_code == 200
    wait_until(lambda: len(fake.sent(WORKER)) > before)
    for text in [*ENGLISH_INTAKE[4:], "1"]:
        say(client, fake, text)
    (case,) = pulled(services)
    (attachment,) = case["attachments"]
    assert attachment["content_type"] == "image/jpeg"
    import base64
    import io

    image = Image.open(io.BytesIO(base64.b64decode(attachment["data_base64"])))
    assert not image.getexif()


@pytest.mark.parametrize(
    ("hours_ago", "human_agent", "expected"),
    [(1, False, "RESPONSE"), (23, True, "RESPONSE"), (30, False, None), (30, True, "HUMAN_AGENT"), (24 * 8, True, None),
     (None, True, None)],
)
def test_the_24_hour_window_and_the_human_agent_tag(make_services, fake, hours_ago, human_agent, expected):
    adapter = make_services(human_agent_tag=human_agent).adapters["messenger"]
    if expected is None:
        with pytest.raises(OutsideWindow) as raised:
            adapter.send(address(hours_ago), "The inspector visits Sunrise on Monday", ())
        assert not raised.value.retryable and fake.sent() == []
        return
    adapter.send(address(hours_ago), "The inspector visits Sunrise on Monday", ())
    (body,) = fake.sent()
    assert body["recipient"] == {"id": WORKER}
    assert (body.get("tag") or body["messaging_type"]) == expected


@pytest.mark.parametrize(("status", "code", "retryable"), [(400, 100, False), (400, 613, True), (500, 2, True), (403, 10, False)])
def test_send_errors_say_whether_a_retry_helps_and_name_no_psid_or_text(services, fake, status, code, retryable):
    fake.failures.append((status, code))
    with pytest.raises(SendError) as raised:
        services.adapters["messenger"].send(address(1), "The inspector visits Sunrise on Monday", ())
    assert raised.value.retryable is retryable
    assert WORKER not in str(raised.value) and "Sunrise" not in str(raised.value) and PAGE_TOKEN not in str(raised.value)


def test_a_missing_page_id_or_secret_stops_start_up_with_one_line(settings, settings_with, fake, messenger_env, monkeypatch):
    with pytest.raises(ConfigError, match=r"^config error: channels\.messenger\.page_id: required"):
        build_services(settings_with(channels={"messenger": {"enabled": True, "graph_base_url": fake.url}}))
    monkeypatch.delenv("MESSENGER_PAGE_ACCESS_TOKEN")
    with pytest.raises(ConfigError) as raised:
        build_services(settings_with(channels={"messenger": {"enabled": True, "page_id": PAGE_ID}}))
    assert "channels.messenger.page_access_token" in str(raised.value) and "\n" not in str(raised.value)


def test_no_psid_token_or_text_in_any_log_line_or_file(make_services, fake, captured_logs):
    services = make_services()
    settings = services.settings
    log_file = settings.path(settings.logging.file)
    setup_logging("DEBUG", log_file)
    captured_logs.set_level(logging.DEBUG)
    try:
        client = create_app(services).test_client()
        post(client, page_webhook(PAGE_ID, text_event(PAGE_ID, WORKER, mid(), "hello")), signature="sha256=00")
        for text in [*ENGLISH_INTAKE, "1"]:
            say(client, fake, text)
        fake.failures.append((400, 100))
        with pytest.raises(SendError):
            services.adapters["messenger"].send(address(1), "Update about Sunrise Garments", ())
        needles = [WORKER, APP_SECRET, VERIFY_TOKEN, PAGE_TOKEN, "has not paid our wages", "Sunrise Garments"]
        services.close()
        assert needles_at_rest(settings, needles) == []
        logged = log_file.read_text()
        assert "message handled" in logged
        raw = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in captured_logs.records)
        for needle in needles:
            assert needle not in logged and needle not in raw
    finally:
        reset_logging()


def test_a_video_or_a_file_is_refused_unfetched_and_the_worker_is_told(client, services, fake):
    for text in ENGLISH_INTAKE[:4]:
        say(client, fake, text)
    url = fake.add_file("clip.mp4", "video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    before = len(fake.sent(WORKER))
    assert post(client, page_webhook(PAGE_ID, attachment_event(PAGE_ID, WORKER, mid(), "video", url))).status_code == 200
    wait_until(lambda: len(fake.sent(WORKER)) > before)
    told = "\n".join(body["message"]["text"] for body in fake.sent(WORKER)[before:])
    assert services.intake.conversation.t("en", "media.refused.type") in told
    assert not [r for r in fake.requests if r["path"].startswith("/cdn/")], "a video is never downloaded"


def test_delete_erases_our_side_and_says_the_chat_stays_on_the_phone(client, services, fake):
    for text in ENGLISH_INTAKE[:4]:
        say(client, fake, text)
    answer = say(client, fake, "DELETE")
    if services.intake.conversation.t("en", "erase.confirm") in answer:  # a half-written report: asked first
        answer = say(client, fake, "1")
    assert services.intake.conversation.t("en", "erase.on_phone") in answer
    assert rows(services, Conversation) == 0


# ---------------------------------------------------------------- per-chat order and DELETE (second security audit)


def _post(client, text: str) -> None:
    assert post(client, page_webhook(PAGE_ID, text_event(PAGE_ID, WORKER, mid(), text))).status_code == 200


def test_answers_from_two_workers_reach_the_chat_in_the_order_of_its_messages(client, services, fake):
    other = second_worker(services)
    try:
        say(client, fake, "hi")
        say(client, fake, "1")
        fake.send_delay = lambda body: 0.8 if "What happened?" in body["message"]["text"] else 0.0  # a slow Send API
        _post(client, "yes")  # worker 1 is sending "What happened?"
        time.sleep(0.3)
        _post(create_app(other).test_client(), ENGLISH_INTAKE[3])
        wait_until(lambda: len(fake.texts(WORKER)) >= 4)
        settle(services, other)
        asked, answered = fake.texts(WORKER)[2:]
        assert "What happened?" in asked and "What happened?" not in answered
    finally:
        other.close()


def test_a_reply_waiting_for_a_retry_holds_back_the_next_and_delete_cancels_both(client, services, fake):
    say(client, fake, "hi")
    fake.failures.append((500, 2))  # a temporary Send API error: retried later
    _post(client, "1")  # the privacy notice waits for a retry
    _post(client, "yes")
    settle(services)
    assert len(fake.texts(WORKER)) == 1, fake.texts(WORKER)  # "What happened?" waits behind the notice
    _post(client, "delete")  # nothing written yet: erased at once
    wait_until(lambda: len(fake.texts(WORKER)) >= 2)
    make_due(services)
    services.dispatcher.run_once()
    settle(services)
    (erased,) = fake.texts(WORKER)[1:]
    assert erased.startswith(services.intake.conversation.t("en", "deleted"))
    assert rows(services, OutboundMessage) == 0
