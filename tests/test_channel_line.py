"""LINE: signatures (the SDK's parser), whole reports in two languages, reply tokens, pushes and their quota.

Webhook bodies are in the Messaging API's format, signed as LINE signs them
(base64 HMAC-SHA256 of the raw body with the channel secret). The SDK talks to a fake
LINE API on 127.0.0.1 (`tests/fake_line.py`); nothing reaches the internet.
"""

from __future__ import annotations

import base64
import io
import logging
import secrets
import threading
import time
from itertools import count

import pytest
from PIL import Image
from sqlalchemy import select

from bot.app import create_app
from bot.config import ConfigError
from bot.logs import reset_logging, setup_logging
from bot.messages import ReplyAddress
from bot.services import build_services
from channels.line.client import QuotaReached
from channel_support import CODE_SHOWN, make_due, photo_with_exif, post_signed, pulled, rows, settle, wait_until
from databases import needles_at_rest
from fake_line import (
    FakeLineServer,
    follow_event,
    group_text_event,
    image_event,
    line_sign,
    line_webhook,
    sticker_event,
    text_event,
    unfollow_event,
)
from storage.db import utcnow
from storage.models import Conversation, InboundReceipt, OutboundMessage
from storage.outbound import enqueue
from worker_scripts import ENGLISH_INTAKE

CHANNEL_SECRET = "line-channel-secret-8f3a1c9e2b7d"
ACCESS_TOKEN = "line-access-token-Zx81QmP0v7Lk2Nw9"
WORKER = "U4af4980629a1b2c3d4e5f60718293a4b"
OTHER_WORKER = "U9bd2c1e0f9a8b7c6d5e4f30211203f5e"
SPANISH_INTAKE = ["hola", "4", "sí", "El patrón no nos paga el salario desde hace dos meses", "1", "Textiles del Norte",
                  "San Pedro Sula", "saltar", "desde septiembre", "40", "no", "no", "no"]
_ids = count(1)


def event_id() -> str:
    return f"01HZX{next(_ids):021d}"


@pytest.fixture
def fake():
    with FakeLineServer(ACCESS_TOKEN) as server:
        yield server


@pytest.fixture
def line_env(monkeypatch):
    monkeypatch.setenv("LINE_CHANNEL_SECRET", CHANNEL_SECRET)
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", ACCESS_TOKEN)


@pytest.fixture
def make_services(settings, settings_with, fake, line_env):
    built = []

    def build(**section):
        channel = {"enabled": True, "api_base_url": fake.url, "data_api_base_url": fake.url, **section}
        built.append(build_services(settings_with(channels={"line": channel})))
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
    return post_signed(client, "/webhooks/line", payload, header="X-Line-Signature",
                       sign=lambda raw: line_sign(CHANNEL_SECRET, raw), signature=signature)


def token_for(fake, user: str) -> str:
    token = f"{user}:{secrets.token_hex(8)}"
    fake.valid_tokens.add(token)
    return token


def say(client, fake, text: str, user: str = WORKER) -> str:
    before = len(fake.texts_to(user))
    event = text_event(user, event_id(), str(next(_ids)), text, token_for(fake, user))
    assert post(client, line_webhook(event)).status_code == 200
    wait_until(lambda: len(fake.texts_to(user)) > before)
    return "\n".join(fake.texts_to(user)[before:])


def push_later(services, text: str, user: str = WORKER) -> str:
    """A message that is not an answer (an operator's reply): queued and sent by the dispatcher as a push."""
    address = ReplyAddress("line", "line", user, last_inbound_at=utcnow())
    with services.sessions.begin() as session:
        queued = enqueue(session, services.secrets, address, text)
    services.dispatcher.run_once()
    return queued


@pytest.mark.parametrize("signature", [None, "", "AAAA", base64.b64encode(b"0" * 32).decode()])
def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(client, services, fake, signature):
    event = text_event(WORKER, event_id(), "1", "hello", token_for(fake, WORKER))
    assert post(client, line_webhook(event), signature=signature).status_code == 403
    assert rows(services, Conversation) == rows(services, InboundReceipt) == rows(services, OutboundMessage) == 0
    assert fake.replies == fake.pushes == []


def test_a_whole_english_report_is_answered_with_free_reply_tokens(client, services, fake):
    replies = [say(client, fake, text) for text in [*ENGLISH_INTAKE, "1"]]
    assert CODE_SHOWN.search(replies[-1])
    assert fake.pushes == [], "every answer went with its reply token: nothing counted against the quota"
    assert any("quickReply" in message for body in fake.replies for message in body["messages"]), "menus as quick replies"
    (case,) = pulled(services)
    assert case["channel"] == "line" and "has not paid our wages" in case["description"]


def test_a_whole_spanish_report(client, services, fake):
    replies = [say(client, fake, text) for text in [*SPANISH_INTAKE, "1"]]
    assert CODE_SHOWN.search(replies[-1])
    (case,) = pulled(services)
    assert case["language"] == "es" and "no nos paga" in case["description"]


def test_a_redelivered_event_is_answered_once(client, services, fake):
    first = text_event(WORKER, "01HZXREDELIVERED0000000001", "77", "hello", token_for(fake, WORKER))
    again = {**first, "replyToken": token_for(fake, WORKER), "deliveryContext": {"isRedelivery": True}}
    assert post(client, line_webhook(first)).status_code == 200
    assert post(client, line_webhook(again)).status_code == 200
    services.dispatcher.run_once()
    services.dispatcher.wait_idle()  # the webhook's own kick may be sending it right now, on its thread
    assert len(fake.replies) == 1 and fake.pushes == []


def test_an_expired_reply_token_becomes_a_push(client, services, fake):
    event = text_event(WORKER, event_id(), "78", "hello", f"{WORKER}:expired")  # not a token the fake accepts
    assert post(client, line_webhook(event)).status_code == 200
    wait_until(lambda: fake.pushes)
    assert fake.pushes[0]["to"] == WORKER and fake.replies == []


def test_pushes_stop_at_the_monthly_quota_and_the_message_waits_for_status(make_services, fake, captured_logs):
    services = make_services(monthly_push_quota=10)
    fake.used = 6  # pushed this month before the server started
    push_later(services, "Update one about your case")
    assert len(fake.pushes) == 1
    assert "push quota nearly used" not in captured_logs.text  # 7 of 10
    push_later(services, "Update two about your case")
    assert "LINE push quota nearly used" in captured_logs.text  # 8 of 10
    push_later(services, "Update three about your case")
    push_later(services, "Update four about your case")
    assert len(fake.pushes) == 4  # 10 of 10
    queued = push_later(services, "Update five about your case")
    assert len(fake.pushes) == 4, "at the quota nothing more is pushed"
    assert services.adapters["line"].client.pushes_refused == 1
    with services.sessions.begin() as session:
        state = session.execute(select(OutboundMessage.state).where(OutboundMessage.id == queued)).scalar_one()
    assert state == "dead"
    assert "Update five" not in captured_logs.text


def test_the_lower_of_lines_quota_and_the_configured_one_counts(make_services, fake):
    adapter = make_services(monthly_push_quota=500).adapters["line"]
    fake.used = 200  # LINE's own quota (the plan) is 200
    with pytest.raises(QuotaReached):
        adapter.send(ReplyAddress("line", "line", WORKER, last_inbound_at=utcnow()), "Update", ())


def test_a_retried_push_is_not_delivered_twice(services, fake):
    adapter = services.adapters["line"]
    address = ReplyAddress("line", "line", WORKER, last_inbound_at=utcnow())
    from channels.dispatcher import SENDING
    from storage.outbound import OutboundItem

    token = SENDING.set(OutboundItem("outbound-1", address, "Update", 1))
    try:
        adapter.send(address, "Update", ())
        adapter.send(address, "Update", ())  # the dispatcher retrying after a lost answer
    finally:
        SENDING.reset(token)
    assert len(fake.pushes) == 1


def test_unfollow_erases_the_conversation_in_progress(client, services, fake):
    for text in ENGLISH_INTAKE[:5]:
        say(client, fake, text)
    assert rows(services, Conversation) == 1
    assert post(client, line_webhook(unfollow_event(WORKER, event_id()))).status_code == 200
    assert rows(services, Conversation) == 0


def test_group_and_room_messages_are_ignored(client, services, fake):
    assert post(client, line_webhook(group_text_event(WORKER, event_id(), "hello", token_for(fake, WORKER)))).status_code == 200
    assert rows(services, Conversation) == rows(services, InboundReceipt) == 0
    assert fake.replies == fake.pushes == []


def test_a_follow_event_and_a_sticker_do_not_break_anything(client, services, fake):
    assert post(client, line_webhook(follow_event(WORKER, event_id(), token_for(fake, WORKER)))).status_code == 200
    say(client, fake, "hello")
    before = len(fake.texts_to(WORKER))
    assert post(client, line_webhook(sticker_event(WORKER, event_id(), "90", token_for(fake, WORKER)))).status_code == 200
    wait_until(lambda: len(fake.texts_to(WORKER)) > before)  # the worker is asked the same question again


def test_a_photo_is_downloaded_stripped_and_sealed(client, services, fake):
    fake.contents["4242"] = ("image/jpeg", photo_with_exif())
    for text in ENGLISH_INTAKE[:4]:
        say(client, fake, text)
    before = len(fake.texts_to(WORKER))
    assert post(client, line_webhook(image_event(WORKER, event_id(), "4242", token_for(fake, WORKER)))).status_code == 200
    wait_until(lambda: len(fake.texts_to(WORKER)) > before)
    for text in [*ENGLISH_INTAKE[4:], "1"]:
        say(client, fake, text)
    (case,) = pulled(services)
    (attachment,) = case["attachments"]
    assert not Image.open(io.BytesIO(base64.b64decode(attachment["data_base64"]))).getexif()


def test_a_missing_secret_stops_start_up_with_one_line(settings, settings_with, fake, line_env, monkeypatch):
    monkeypatch.delenv("LINE_CHANNEL_ACCESS_TOKEN")
    with pytest.raises(ConfigError) as raised:
        build_services(settings_with(channels={"line": {"enabled": True, "api_base_url": fake.url}}))
    assert "channels.line.channel_access_token" in str(raised.value) and "\n" not in str(raised.value)


def test_no_user_id_token_or_text_in_any_log_line_or_file(make_services, fake, captured_logs):
    services = make_services(monthly_push_quota=1)
    settings = services.settings
    log_file = settings.path(settings.logging.file)
    setup_logging("DEBUG", log_file)
    captured_logs.set_level(logging.DEBUG)
    try:
        client = create_app(services).test_client()
        post(client, line_webhook(text_event(WORKER, event_id(), "1", "hello", "x")), signature="AAAA")
        for text in [*ENGLISH_INTAKE, "1"]:
            say(client, fake, text)
        post(client, line_webhook(text_event(WORKER, event_id(), "2", "hello again", f"{WORKER}:expired")))
        push_later(services, "Update about Sunrise Garments")
        needles = [WORKER, CHANNEL_SECRET, ACCESS_TOKEN, "has not paid our wages", "Sunrise Garments"]
        services.close()
        assert needles_at_rest(settings, needles) == []
        logged = log_file.read_text()
        assert "message handled" in logged
        raw = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in captured_logs.records)
        for needle in needles:
            assert needle not in logged and needle not in raw
    finally:
        reset_logging()


def test_a_video_is_refused_unfetched_and_the_worker_is_told(client, services, fake):
    for text in ENGLISH_INTAKE[:4]:
        say(client, fake, text)
    event = image_event(WORKER, event_id(), "5151", token_for(fake, WORKER))
    event["message"]["type"] = "video"
    event["message"]["duration"] = 4000
    before = len(fake.texts_to(WORKER))
    assert post(client, line_webhook(event)).status_code == 200
    wait_until(lambda: len(fake.texts_to(WORKER)) > before)
    assert services.intake.conversation.t("en", "media.refused.type") in "\n".join(fake.texts_to(WORKER)[before:])
    assert not [call for call in fake.calls if call.endswith("/content")], "a video is never downloaded"


def test_blocking_the_account_stops_every_push_until_the_worker_follows_again(client, services, fake):
    from bot.operator_api import create_operator_app
    from dialogue_support import confirm_case, new_token

    case_id, _code = confirm_case(services, WORKER, channel="line", adapter="line", contact="yes")
    api = create_operator_app(services).test_client()
    headers = {"Authorization": f"Bearer {new_token(services)}"}

    def operator_says(text: str) -> dict:
        response = api.post(f"/v1/cases/{case_id}/messages", json={"text": text}, headers=headers)
        assert response.status_code == 201, response.text
        return response.get_json()

    assert operator_says("First update")["delivery"] == "sent_to_channel"
    assert post(client, line_webhook(unfollow_event(WORKER, event_id()))).status_code == 200
    blocked = operator_says("Second update")
    assert (blocked["delivery"], blocked["why"]) == ("kept_for_status", "opted_out")
    assert post(client, line_webhook(follow_event(WORKER, event_id(), token_for(fake, WORKER)))).status_code == 200
    assert operator_says("Third update")["delivery"] == "sent_to_channel"


def test_delete_erases_our_side_and_says_the_chat_stays_on_the_phone(client, services, fake):
    for text in ENGLISH_INTAKE[:4]:
        say(client, fake, text)
    answer = say(client, fake, "DELETE")
    if services.intake.conversation.t("en", "erase.confirm") in answer:
        answer = say(client, fake, "1")
    assert services.intake.conversation.t("en", "erase.on_phone") in answer
    assert rows(services, Conversation) == 0


# ---------------------------------------------------------------- per-chat order and DELETE (second security audit)


def _post(client, fake, text: str) -> None:
    event = text_event(WORKER, event_id(), str(next(_ids)), text, token_for(fake, WORKER))
    assert post(client, line_webhook(event)).status_code == 200


def test_answers_from_two_workers_reach_the_chat_in_the_order_of_its_messages(make_services, fake):
    first, second = make_services(), make_services()  # two web workers on one database, as under gunicorn
    first_client, second_client = create_app(first).test_client(), create_app(second).test_client()
    say(first_client, fake, "hi")
    say(first_client, fake, "1")
    fake.send_delay = lambda body: 0.8 if "What happened?" in body["messages"][0]["text"] else 0.0  # a slow call to LINE
    asking = threading.Thread(target=_post, args=(first_client, fake, "yes"))  # worker 1 answers "What happened?"
    asking.start()
    time.sleep(0.3)
    _post(second_client, fake, ENGLISH_INTAKE[3])
    asking.join(10)
    wait_until(lambda: len(fake.texts_to(WORKER)) >= 4)
    settle(first, second)
    asked, answered = fake.texts_to(WORKER)[2:]
    assert "What happened?" in asked and "What happened?" not in answered


def test_a_reply_waiting_for_a_retry_holds_back_the_next_and_delete_cancels_both(client, services, fake):
    say(client, fake, "hi")
    fake.failures = [500, 500]  # the reply, then its push: LINE is down for a moment
    _post(client, fake, "1")  # the privacy notice waits for a retry
    _post(client, fake, "yes")
    settle(services)
    assert len(fake.texts_to(WORKER)) == 1, fake.texts_to(WORKER)  # "What happened?" waits behind the notice
    _post(client, fake, "delete")  # nothing written yet: erased at once
    wait_until(lambda: len(fake.texts_to(WORKER)) >= 2)
    make_due(services)
    services.dispatcher.run_once()
    settle(services)
    (erased,) = fake.texts_to(WORKER)[1:]
    assert erased.startswith(services.intake.conversation.t("en", "deleted"))
    assert rows(services, OutboundMessage) == 0
