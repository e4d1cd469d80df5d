"""WhatsApp through Meta's Cloud API: handshake, signatures, a whole conversation, media, sending, secrets.

Webhooks are posted in the real Cloud API format and signed with hmac over
the exact raw bytes, as Meta does. Replies go through the dispatcher to a fake
Graph API on 127.0.0.1 (`tests/fake_graph.py`); nothing reaches the internet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import count as counter
from pathlib import Path

import pytest
import yaml
from PIL import Image
from sqlalchemy import select, update

from bot.app import create_app
from bot.config import ConfigError, WhatsAppCloudSettings
from bot.logs import reset_logging, setup_logging
from bot.messages import ReplyAddress
from bot.services import build_services
from channels.base import SendError
from channels.registry import adapter_class
from channels.whatsapp_cloud import WhatsAppCloudAdapter
from channel_support import CODE_SHOWN, make_due, photo_with_exif, post_signed, rows, second_worker, settle, wait_until
from fake_graph import FakeGraphServer
from databases import ON_POSTGRES, example_config, needles_at_rest, needles_in_database
from storage import crypto
from storage.keys import load_operator_identity
from storage.models import Case, Conversation, DraftMedia, InboundReceipt, OutboundMessage, OutboxEntry
from storage.outbound import exact_now
from storage.outbox import forward_outbox
from test_media import rgba_png

REPO = Path(__file__).resolve().parents[1]
PHONE_NUMBER_ID = "1234567890"
APP_SECRET = "app-secret-3f9c2e71d0b84a6f"
VERIFY_TOKEN = "verify-token-b71e0c94"
ACCESS_TOKEN = "EAAGm0PX4ZCpsBAtestaccesstoken7Hq2LxVw"
WORKER = "5491155550123"  # the worker's wa_id; "+5491155550123" is the address
OTHER_WORKER = "8801711000000"
# A worker with a WhatsApp username: Meta names them by a business-scoped user id (BSUID), not a number.
USERNAME_WORKER = "BD.13491208655302741918"
PARENT_USERNAME_WORKER = "BD.ENT.11815799212886844830"
DESCRIPTION = "El patrón no nos paga el salario desde hace dos meses."
ENGLISH_STORY = "The supervisor has not paid our wages for two months"
SECRET_TEXTS = [DESCRIPTION, "Textiles del Norte", "San Pedro Sula", "desde septiembre"]
_wamids = counter(1)


# ------------------------------------------------------------------ payloads in Meta's format


def wamid() -> str:
    return f"wamid.HBgNNTQ5MTE1NTU1MDEyMxUCABIYIDNBMDk{next(_wamids):08d}"


def webhook(messages=(), statuses=(), phone_number_id=PHONE_NUMBER_ID, sender=WORKER) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550101234", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Trabajadora"}, "wa_id": sender}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]}


def _message(kind: str, sender: str = WORKER, message_id: str | None = None, **content) -> dict:
    return {"from": sender, "id": message_id or wamid(), "timestamp": str(int(time.time())), "type": kind, **content}


def text(body: str, **kw) -> dict:
    return _message("text", text={"body": body}, **kw)


def button_reply(answer: str, title: str = "", **kw) -> dict:
    return _message("interactive", interactive={"type": "button_reply", "button_reply": {"id": answer, "title": title or answer}}, **kw)


def list_reply(answer: str, title: str = "", **kw) -> dict:
    pick = {"id": answer, "title": title or answer, "description": ""}
    return _message("interactive", interactive={"type": "list_reply", "list_reply": pick}, **kw)


def image(media_id: str, caption: str | None = None, **kw) -> dict:
    content = {"id": media_id, "mime_type": "image/jpeg", "sha256": "0" * 44}
    if caption is not None:
        content["caption"] = caption
    return _message("image", image=content, **kw)


def status(state: str, codes=(), recipient=WORKER) -> dict:
    entry = {"id": wamid(), "status": state, "timestamp": str(int(time.time())), "recipient_id": recipient}
    if state == "sent":
        entry["conversation"] = {"id": "c1", "origin": {"type": "service"}}
        entry["pricing"] = {"billable": False, "pricing_model": "CBP", "category": "service"}
    if codes:
        entry["errors"] = [{"code": code, "title": "error", "message": "error", "error_data": {"details": "x"}} for code in codes]
    return entry


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post(client, payload, *, signature: str | None = "sign"):
    return post_signed(client, "/webhooks/whatsapp", payload, header="X-Hub-Signature-256", sign=sign, signature=signature)


# ------------------------------------------------------------------ fixtures and helpers


@pytest.fixture
def graph():
    with FakeGraphServer(ACCESS_TOKEN, PHONE_NUMBER_ID) as fake:
        yield fake


@pytest.fixture
def wa_env(monkeypatch):
    monkeypatch.setenv("WHATSAPP_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", ACCESS_TOKEN)


@pytest.fixture
def wa_settings(settings, settings_with, graph, wa_env):
    """Settings with the channel enabled against the fake Graph API (`settings` made the keys)."""

    def build(**section):
        channel = {"enabled": True, "phone_number_id": PHONE_NUMBER_ID, "graph_base_url": graph.url, **section}
        return settings_with(channels={"whatsapp_cloud": channel})

    return build


@pytest.fixture
def wa_services(wa_settings):
    built = build_services(wa_settings())
    yield built
    built.close()


@pytest.fixture
def client(wa_services):
    return create_app(wa_services).test_client()


@pytest.fixture
def adapter(wa_services) -> WhatsAppCloudAdapter:
    return wa_services.adapters["whatsapp_cloud"]


def wait_sent(graph, n: int) -> list[dict]:
    """The messages the fake Graph API accepted, once there are at least `n`."""

    def enough():
        sent = graph.sent()
        return sent if len(sent) >= n else None

    return wait_until(enough)


def body_text(message: dict) -> str:
    if message["type"] == "text":
        return message["text"]["body"]
    if message["type"] == "interactive":
        return message["interactive"]["body"]["text"]
    return ""


def address(hours_ago: float | None) -> ReplyAddress:
    seen = None if hours_ago is None else datetime.now(UTC) - timedelta(hours=hours_ago)
    return ReplyAddress("whatsapp_cloud", "whatsapp", "+" + WORKER, last_inbound_at=seen)


# ------------------------------------------------------------------ the handshake


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}, 200),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong-token", "hub.challenge": "1158201444"}, 403),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN[:-1], "hub.challenge": "1158201444"}, 403),
        ({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}, 403),
        ({"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}, 403),
        ({"hub.mode": "subscribe", "hub.challenge": "1158201444"}, 403),
        ({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, 403),
        ({}, 403),
    ],
)
def test_verification_handshake(client, params, expected):
    response = client.get("/webhooks/whatsapp", query_string=params)
    assert response.status_code == expected
    if expected == 200:
        assert response.mimetype == "text/plain" and response.get_data(as_text=True) == "1158201444"
    else:
        assert "1158201444" not in response.get_data(as_text=True)


# ------------------------------------------------------------------ signatures: fail closed


def _altered(raw: bytes) -> tuple[bytes, str]:
    return raw.replace(b"hola", b"hole"), sign(raw)  # signed, then the body changed


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda raw: (raw, None), id="unsigned"),
        pytest.param(lambda raw: (raw, ""), id="empty-header"),
        pytest.param(lambda raw: (raw, sign(raw, "another-app-secret")), id="wrong-secret"),
        pytest.param(lambda raw: (raw, sign(raw).replace("sha256=", "sha1=")), id="wrong-scheme"),
        pytest.param(lambda raw: (raw, sign(raw)[:-2]), id="truncated"),
        pytest.param(lambda raw: (raw, sign(raw + b" ")), id="signature-of-other-bytes"),
        pytest.param(_altered, id="signed-then-altered"),
        pytest.param(lambda raw: (raw, "sha256=" + "é" * 64), id="non-ascii"),
    ],
)
def test_unsigned_or_mis_signed_posts_are_refused_and_leave_no_trace(client, wa_services, graph, forge):
    raw = json.dumps(webhook([text("hola")])).encode()
    body, signature = forge(raw)
    response = post(client, body, signature=signature)
    assert response.status_code == 403
    for model in (Conversation, InboundReceipt, OutboundMessage, DraftMedia):
        assert rows(wa_services, model) == 0
    assert graph.requests == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{not json", 400),
        (b"", 400),
        (b'{"object": "whatsapp_business_account", "entry": "x"}', 400),
        (json.dumps(webhook([{**text("hola"), "from": "not-a-number"}])).encode(), 400),
        (json.dumps(webhook([{"from": WORKER, "type": "text"}])).encode(), 400),  # no id
        (json.dumps(webhook([{k: v for k, v in text("hola").items() if k != "from"}])).encode(), 400),  # no sender at all
        (json.dumps(webhook([{**text("hola"), "from": "bd.1234567"}])).encode(), 400),
        (json.dumps(webhook([{**text("hola"), "from": "BD.12/../34"}])).encode(), 400),
        (json.dumps(webhook([{**{k: v for k, v in text("hola").items() if k != "from"}, "from_user_id": "+1 555"}])).encode(), 400),
        (json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {}}]}]}).encode(), 400),
        (json.dumps({"object": "page", "entry": []}).encode(), 200),  # not ours: acknowledged, ignored
        (json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "account_update", "value": {"x": 1}}]}]}).encode(), 200),
    ],
)
def test_signed_but_unreadable_payloads(client, wa_services, graph, raw, expected):
    response = post(client, raw)
    assert response.status_code == expected
    assert "Traceback" not in response.get_data(as_text=True)
    for model in (Conversation, InboundReceipt, OutboundMessage):
        assert rows(wa_services, model) == 0
    assert graph.requests == []


# ------------------------------------------------------------------ a whole conversation


def test_a_whole_spanish_conversation_over_http_reaches_a_confirmed_case(client, wa_services, graph):
    t = lambda key, **values: wa_services.catalogs.text("es", key, **values)  # noqa: E731
    # (what the worker sends, the kind of reply expected: "list", "button" with n choices, or "text")
    steps = [
        (text("hola"), ("list", 4)),
        (list_reply("4", "Español"), ("text", 0)),  # the privacy notice and "what happened?"
        (text(DESCRIPTION), ("button", 2)),  # the story is the consent; is this about wages?
        (button_reply("1", "sí"), ("text", 0)),  # workplace
        (text("Textiles del Norte S.A."), ("text", 0)),
        (text("San Pedro Sula"), ("text", 0)),
        (text("FastFashion"), ("text", 0)),
        (text("desde septiembre"), ("text", 0)),  # how many people
        (text("unas 40 personas"), ("button", 2)),  # danger now?
        (button_reply("2", "no"), ("button", 2)),  # may we contact you?
        (button_reply("2", "no"), ("button", 2)),  # may we tell the company?
        (button_reply("2", "no"), ("button", 3)),  # summary: send, change, cancel
        (button_reply("1"), ("text", 0)),  # sent: the case code
    ]
    for number, (message, (kind, options)) in enumerate(steps, 1):
        response = post(client, webhook([message]))
        assert response.status_code == 200, response.get_data(as_text=True)
        sent = wait_sent(graph, number)
        assert len(sent) == number
        reply = sent[-1]
        assert reply["to"] == WORKER and reply["messaging_product"] == "whatsapp"
        if kind == "text":
            assert reply["type"] == "text"
            continue
        assert reply["type"] == "interactive" and reply["interactive"]["type"] == kind
        action = reply["interactive"]["action"]
        picks = action["buttons"] if kind == "button" else action["sections"][0]["rows"]
        ids = [p["reply"]["id"] if kind == "button" else p["id"] for p in picks]
        assert sorted(ids) == [str(i) for i in range(1, options + 1)]
        if number == 1:  # "hola": the language it is in listed first, under its own number
            assert ids[0] == "4" and picks[0]["title"] == "Español"
        else:
            assert ids == [str(i) for i in range(1, options + 1)]
        titles = [p["reply"]["title"] if kind == "button" else p["title"] for p in picks]
        assert all(0 < len(title) <= (20 if kind == "button" else 24) for title in titles)
    sent = graph.sent()
    assert [r["title"] for r in sent[0]["interactive"]["action"]["sections"][0]["rows"]] == ["Español", "English", "বাংলা", "Tiếng Việt"]
    assert t("ask.description") in body_text(sent[1])
    assert t("ask.suggestion", category=t("category.wages")) in body_text(sent[2])
    assert [b["reply"]["title"] for b in sent[2]["interactive"]["action"]["buttons"]] == ["sí", "no"]
    assert CODE_SHOWN.search(body_text(sent[-1]))
    assert rows(wa_services, Case) == 1 and rows(wa_services, OutboxEntry) == 1
    assert rows(wa_services, Conversation) == 0  # the draft is gone once the case is sealed
    assert rows(wa_services, InboundReceipt) == len(steps)
    assert rows(wa_services, OutboundMessage) == 0  # every reply sent, nothing kept
    for request in graph.requests:
        assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_the_same_wamid_twice_gets_one_reply(client, wa_services, graph):
    message = text("hola", message_id="wamid.HBgNNTQ5MTE1NTU1MDEyMxUCABIYIDNBMDkREPEATED")
    assert post(client, webhook([message])).status_code == 200
    wait_sent(graph, 1)
    assert post(client, webhook([message])).status_code == 200  # Meta's retry
    # The first reply's row goes once Graph has answered the dispatcher (just after the fake saw it).
    assert wait_until(lambda: rows(wa_services, OutboundMessage) == 0)
    assert wa_services.dispatcher.run_once().sent == 0
    assert len(graph.sent()) == 1 and rows(wa_services, InboundReceipt) == 1


def test_several_messages_in_one_webhook_are_each_handled_and_other_numbers_ignored(client, wa_services, graph):
    payload = webhook([text("hola"), text("hi", sender=OTHER_WORKER)])
    payload["entry"].append(webhook([text("hello", sender="447700900123")], phone_number_id="999999999")["entry"][0])
    assert post(client, payload).status_code == 200
    sent = wait_sent(graph, 2)
    assert sorted(r["to"] for r in sent) == sorted([WORKER, OTHER_WORKER])
    assert rows(wa_services, Conversation) == 2 and rows(wa_services, InboundReceipt) == 2


def username_text(body: str, *, sender_field: str) -> dict:
    """A text from a worker with a username, as Meta sends it: the BSUID in `from`, or only in `from_user_id`."""
    message = text(body)
    del message["from"]
    if sender_field == "from":
        return {**message, "from": USERNAME_WORKER, "from_user_id": USERNAME_WORKER}
    return {**message, "from_user_id": USERNAME_WORKER, "from_parent_user_id": PARENT_USERNAME_WORKER}


@pytest.mark.parametrize("sender_field", ["from", "from_user_id"])
def test_a_worker_with_a_username_is_answered_by_bsuid_through_recipient(client, wa_services, graph, sender_field):
    payload = webhook([username_text("hola", sender_field=sender_field)], sender=USERNAME_WORKER)
    assert post(client, payload).status_code == 200
    (reply,) = wait_sent(graph, 1)
    assert reply["recipient"] == USERNAME_WORKER and "to" not in reply  # Meta's field for a BSUID
    assert post(client, webhook([username_text("1", sender_field=sender_field)], sender=USERNAME_WORKER)).status_code == 200
    second = wait_sent(graph, 2)[-1]
    assert second["recipient"] == USERNAME_WORKER
    assert rows(wa_services, Conversation) == 1  # the same worker, the same conversation
    needles = [USERNAME_WORKER, USERNAME_WORKER.split(".", 1)[1], PARENT_USERNAME_WORKER.rsplit(".", 1)[1]]
    assert needles_at_rest(wa_services.settings, needles) == []


def test_a_number_and_a_bsuid_together_keep_the_number_as_the_address(client, wa_services, graph):
    assert post(client, webhook([{**text("hola"), "from_user_id": USERNAME_WORKER}])).status_code == 200
    (reply,) = wait_sent(graph, 1)
    assert reply["to"] == WORKER and "recipient" not in reply


def test_a_later_message_to_a_bsuid_goes_through_recipient_and_the_template_too(adapter, graph):
    for hours_ago, kind in ((1, "text"), (30, "template")):
        seen = datetime.now(UTC) - timedelta(hours=hours_ago)
        adapter.send(ReplyAddress("whatsapp_cloud", "whatsapp", USERNAME_WORKER, last_inbound_at=seen), "An update")
        sent = graph.sent()[-1]
        assert sent["type"] == kind and sent["recipient"] == USERNAME_WORKER and "to" not in sent


@pytest.mark.parametrize("group_id", ["120363025246125486", 555555555])
def test_a_message_in_a_whatsapp_group_is_ignored_and_leaves_no_trace(client, wa_services, graph, captured_logs, group_id):
    grouped = {**text("They beat us on line 4"), "group_id": group_id}
    alone = text("hola", sender=OTHER_WORKER)
    assert post(client, webhook([grouped, alone])).status_code == 200
    (reply,) = wait_sent(graph, 1)  # the private message in the same delivery is still answered
    assert reply["to"] == OTHER_WORKER
    assert rows(wa_services, Conversation) == 1 and rows(wa_services, InboundReceipt) == 1
    assert [r.reason for r in captured_logs.records if r.getMessage() == "message ignored"] == ["group"]
    assert all("120363025246125486" not in str(r.__dict__) for r in captured_logs.records)


UNREADABLE_PARTS = {  # one nested object that cannot be read: the message is still answered, as an empty one
    "an image without its id": {"type": "image", "image": {"mime_type": "image/jpeg", "caption": 7}},
    "a text body that is a number": {"type": "text", "text": {"body": 42}},
    "a location with words for numbers": {"type": "location", "location": {"latitude": "north", "longitude": None}},
    "an interactive reply without its type": {"type": "interactive", "interactive": {"button_reply": {"id": "1"}}},
    "a button that is a list": {"type": "button", "button": ["1"]},
}


@pytest.mark.parametrize("case", list(UNREADABLE_PARTS))
def test_one_unreadable_part_never_drops_the_message(client, wa_services, graph, case):
    message = {**_message(UNREADABLE_PARTS[case]["type"]), **UNREADABLE_PARTS[case]}
    assert post(client, webhook([message])).status_code == 200
    (reply,) = wait_sent(graph, 1)
    assert reply["to"] == WORKER and "Test hotline" in body_text(reply)  # the welcome: the worker is answered
    assert rows(wa_services, InboundReceipt) == 1
    assert [request for request in graph.requests if request.method == "GET"] == []  # no media to fetch


def test_an_unreadable_delivery_status_does_not_cost_the_message_beside_it(client, wa_services, graph):
    odd = {**status("failed"), "errors": [{"code": "not a number"}]}
    assert post(client, webhook([text("hola")], statuses=[odd, {"status": 3}])).status_code == 200
    (reply,) = wait_sent(graph, 1)
    assert reply["to"] == WORKER


@pytest.mark.parametrize("kind", ["edit", "revoke"])
def test_an_edit_or_a_deletion_of_an_earlier_message_is_not_answered(client, wa_services, graph, kind):
    # As for Telegram edits: the message was taken when it came; "your message was empty" would only confuse.
    notice = _message(kind, **{kind: {"original_message_id": "wamid.earlier", "message": {"type": "text", "text": {"body": "x"}}}})
    assert post(client, webhook([notice])).status_code == 200
    assert rows(wa_services, InboundReceipt) == 0 and rows(wa_services, Conversation) == 0
    assert wa_services.dispatcher.run_once().sent == 0 and graph.sent() == []


def test_reactions_are_not_answered_and_unknown_types_get_the_empty_message_reply(client, wa_services, graph):
    reaction = _message("reaction", reaction={"message_id": "wamid.x", "emoji": "👍"})
    assert post(client, webhook([reaction])).status_code == 200
    assert rows(wa_services, InboundReceipt) == 0
    post(client, webhook([text("hola")]))
    wait_sent(graph, 1)
    contact_card = _message("contacts", contacts=[{"name": {"formatted_name": "Boss"}, "phones": [{"phone": "+15550000000"}]}])
    assert post(client, webhook([contact_card])).status_code == 200
    second = wait_sent(graph, 2)[-1]
    assert wa_services.catalogs.text("en", "error.empty") in body_text(second)


def test_status_webhooks_are_accepted_and_failures_counted_by_code(client, wa_services, adapter, graph, captured_logs):
    statuses = [status("sent"), status("delivered"), status("read"), status("failed", [131047]),
                status("failed", [131026]), status("failed", [131047])]
    response = post(client, webhook(statuses=statuses))
    assert response.status_code == 200
    assert adapter.failures_by_code == {"131047": 2, "131026": 1}
    for model in (Conversation, InboundReceipt, OutboundMessage):
        assert rows(wa_services, model) == 0
    assert graph.requests == []
    assert any("delivery failed" in r.getMessage() for r in captured_logs.records)
    raw = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in captured_logs.records)
    assert WORKER not in raw


def test_an_intake_failure_is_a_503_without_details_and_the_retry_is_handled(client, wa_services, graph, monkeypatch):
    message = text("hola")

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(wa_services.intake.conversation, "handle", broken)
    response = post(client, webhook([message]))
    assert response.status_code == 503
    assert "Traceback" not in response.get_data(as_text=True) and "database" not in response.get_data(as_text=True)
    assert rows(wa_services, InboundReceipt) == 0 and rows(wa_services, Conversation) == 0
    monkeypatch.undo()
    assert post(client, webhook([message])).status_code == 200  # Meta's redelivery
    wait_sent(graph, 1)


# ------------------------------------------------------------------ media


def test_a_photo_with_exif_is_fetched_with_the_token_stripped_and_sealed_with_the_case(client, wa_services, graph):
    original = photo_with_exif()
    assert b"Model-XYZ-12345" in original
    graph.media["1037543291543636"] = ("image/jpeg", original)
    script = [text("hola"), list_reply("4"), text("sí"), image("1037543291543636", caption=DESCRIPTION), button_reply("1"),
              text("Textiles del Norte S.A."), text("San Pedro Sula"), text("saltar"), text("desde septiembre"),
              text("40"), button_reply("2"), button_reply("2"), button_reply("2"), button_reply("1")]
    for message in script:
        assert post(client, webhook([message])).status_code == 200
    media_calls = [r for r in graph.requests if r.method == "GET"]
    assert [r.path.split("?")[0] for r in media_calls] == ["/v21.0/1037543291543636", "/download/1037543291543636"]
    assert all(r.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}" for r in media_calls)
    forward_outbox(wa_services.sessions, wa_services.sink, max_attempts=3)
    identity = load_operator_identity(wa_services.settings.path(wa_services.settings.operator.identity_file))
    record = json.loads(crypto.open_case([identity], wa_services.sink.peek()[0].sealed))
    assert record["description"].startswith(DESCRIPTION) and record["channel"] == "whatsapp"
    (attachment,) = record["attachments"]
    kept = base64.b64decode(attachment["data_base64"])
    assert attachment["content_type"] == "image/jpeg"
    assert b"Model-XYZ-12345" not in kept and b"PhoneMaker" not in kept
    with Image.open(io.BytesIO(kept)) as picture:
        assert picture.size == (40, 30) and not picture.getexif()
    wa_services.close()
    if ON_POSTGRES:
        assert needles_in_database(wa_services.settings.database_url, [b"Model-XYZ-12345"]) == []
    else:
        assert b"Model-XYZ-12345" not in (wa_services.settings.data_dir / "grievance.db").read_bytes()


def test_a_photo_alone_is_kept_and_the_question_asked_again(client, wa_services, graph):
    graph.media["5551"] = ("image/jpeg", photo_with_exif())
    for message in (text("hola"), list_reply("4"), button_reply("1")):
        post(client, webhook([message]))
    assert post(client, webhook([image("5551")])).status_code == 200
    reply = body_text(wait_sent(graph, 4)[-1])
    assert wa_services.catalogs.text("es", "media.received") in reply
    assert wa_services.catalogs.text("es", "ask.description") in reply
    assert rows(wa_services, DraftMedia) == 1


@pytest.mark.parametrize(
    ("media", "max_bytes"),
    [
        (("image/jpeg", b"\xff\xd8" + b"x" * 5000), 1000),  # larger than media_max_bytes
        (("application/x-msdownload", b"MZ\x90\x00"), 5_000_000),  # a type we never keep
        (("image/jpeg", b"not an image at all"), 5_000_000),  # claims to be a photo, is not
        (None, 5_000_000),  # Graph no longer has it (404, code 100)
    ],
)
def test_media_that_cannot_be_kept_is_dropped_and_the_caption_still_handled(wa_settings, graph, media, max_bytes):
    services = build_services(wa_settings(media_max_bytes=max_bytes))
    try:
        client = create_app(services).test_client()
        if media:
            graph.media["777"] = media
        post(client, webhook([text("hola")]))
        assert post(client, webhook([image("777", caption="1")])).status_code == 200  # "1": English
        assert rows(services, DraftMedia) == 0
        sent = wait_sent(graph, 2)
        assert services.catalogs.text("en", "ask.description") in body_text(sent[-1])
    finally:
        services.close()


def test_a_temporary_graph_failure_while_fetching_media_is_a_503_and_the_retry_keeps_it(client, wa_services, graph):
    graph.media["888"] = ("image/jpeg", photo_with_exif())
    for message in (text("hola"), list_reply("4"), button_reply("1")):
        post(client, webhook([message]))
    receipts = rows(wa_services, InboundReceipt)
    message = image("888", caption=DESCRIPTION)
    graph.media_failures.append((500, 2))
    assert post(client, webhook([message])).status_code == 503
    assert rows(wa_services, InboundReceipt) == receipts and rows(wa_services, DraftMedia) == 0
    assert post(client, webhook([message])).status_code == 200
    assert rows(wa_services, DraftMedia) == 1


def reach_description_es(client) -> None:
    for message in (text("hola"), list_reply("4"), button_reply("1")):
        post(client, webhook([message]))


@pytest.mark.parametrize(
    ("name", "message", "stored", "reason", "fetched"),
    [
        ("RGBA PNG declared JPEG", lambda: image("666", caption=DESCRIPTION), ("image/jpeg", rgba_png()), "unreadable", True),
        ("video with GPS", lambda: _message("video", video={"id": "667", "mime_type": "video/mp4", "sha256": "0" * 44, "caption": DESCRIPTION}),
         None, "type", False),
        ("PDF with /Author", lambda: _message("document", document={"id": "668", "mime_type": "application/pdf", "sha256": "0" * 44,
                                                                     "filename": "x.pdf", "caption": DESCRIPTION}), None, "type", False),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else "",
)
def test_a_file_not_kept_is_told_in_the_workers_language_and_the_caption_still_counts(client, wa_services, graph, name, message, stored, reason, fetched):
    if stored:
        graph.media["666"] = stored
    reach_description_es(client)
    assert post(client, webhook([message()])).status_code == 200, name
    reply = body_text(wait_sent(graph, 4)[-1])
    assert wa_services.catalogs.text("es", f"media.refused.{reason}") in reply
    assert wa_services.catalogs.text("es", "media.received") not in reply
    assert wa_services.catalogs.text("es", "ask.description") not in reply  # the caption was the description
    assert rows(wa_services, DraftMedia) == 0
    assert any(r.method == "GET" for r in graph.requests) == fetched  # video and documents are not downloaded


def test_one_failing_message_never_stops_the_rest_of_its_batch(client, wa_services, graph, monkeypatch):
    real = wa_services.intake.receive

    def receive(message, **options):
        if message.text == "poison":
            raise RuntimeError("a bug")
        return real(message, **options)

    monkeypatch.setattr(wa_services.intake, "receive", receive)
    others = ("5491155550201", "5491155550202")
    batch = webhook([text("hola", sender=others[0]), text("poison"), text("hola", sender=others[1])])
    assert post(client, batch).status_code == 503  # Meta redelivers the batch for the failed one
    sent = wait_sent(graph, 2)
    assert sorted(m["to"] for m in sent) == sorted(others)  # both workers around it were answered
    assert rows(wa_services, InboundReceipt) == 2
    monkeypatch.setattr(wa_services.intake, "receive", real)
    assert post(client, batch).status_code == 200  # the redelivery: only the failed one is new
    wait_sent(graph, 3)
    assert rows(wa_services, InboundReceipt) == 3 and len(graph.sent()) == 3


# ------------------------------------------------------------------ sending


@pytest.mark.parametrize(
    ("hours_ago", "kind"),
    [(0.1, "text"), (23.5, "text"), (24.5, "template"), (24 * 10, "template"), (None, "template")],
)
def test_the_24_hour_window_decides_between_text_and_the_template(adapter, graph, hours_ago, kind):
    update_text = "Su caso 0412 345 678 9034 fue revisado: el inspector visitará la fábrica Textiles del Norte."
    wamid_returned = adapter.send(address(hours_ago), update_text, ())
    (sent,) = graph.sent()
    assert wamid_returned.startswith("wamid.") and sent["to"] == WORKER
    assert sent["type"] == kind
    if kind == "template":
        assert sent["template"] == {"name": "case_update", "language": {"code": "en"}}
        serialized = json.dumps(sent, ensure_ascii=False)
        assert "Textiles" not in serialized and "0412" not in serialized and "revisado" not in serialized
    else:
        assert sent["text"] == {"preview_url": False, "body": update_text}


def test_the_configured_template_is_used_and_choices_are_ignored_outside_the_window(wa_settings, graph):
    services = build_services(wa_settings(template_name="aviso_de_caso", template_language="es"))
    try:
        services.adapters["whatsapp_cloud"].send(address(30), "¿Sigue pasando?", (("1", "sí"), ("2", "no")))
    finally:
        services.close()
    (sent,) = graph.sent()
    assert sent["type"] == "template" and sent["template"] == {"name": "aviso_de_caso", "language": {"code": "es"}}
    assert "interactive" not in sent and "Sigue" not in json.dumps(sent, ensure_ascii=False)


def test_long_text_is_split_below_4096_characters(adapter, graph):
    paragraphs = [f"Párrafo {i}: " + "palabra " * 120 for i in range(20)]
    long_text = "\n\n".join(paragraphs)
    assert len(long_text) > 2 * 4096
    adapter.send(address(1), long_text)
    sent = graph.sent()
    assert len(sent) >= 3 and all(s["type"] == "text" and len(s["text"]["body"]) <= 4096 for s in sent)
    assert " ".join(" ".join(s["text"]["body"] for s in sent).split()) == " ".join(long_text.split())


@pytest.mark.parametrize(
    ("choices", "kind"),
    [
        ((("1", "sí"), ("2", "no")), "button"),
        ((("1", "Enviar"), ("2", "Cambiar una respuesta del resumen"), ("3", "Cancelar")), "button"),
        ((("1", "English"), ("2", "বাংলা"), ("3", "Tiếng Việt"), ("4", "Español")), "list"),
        (tuple((str(i), f"Respuesta número {i} con una etiqueta bastante larga") for i in range(1, 11)), "list"),
        (tuple((str(i), f"categoría {i}") for i in range(1, 14)), "text"),  # the 13 categories
        ((), "text"),
    ],
)
def test_choices_become_buttons_lists_or_the_menu_in_the_text(adapter, graph, choices, kind):
    question = "¿Qué tipo de problema es?\n" + "\n".join(f"{value} {label}" for value, label in choices)
    adapter.send(address(1), question, choices)
    (sent,) = graph.sent()
    if kind == "text":
        assert sent["type"] == "text" and sent["text"]["body"] == question.strip()
        return
    interactive = sent["interactive"]
    assert sent["type"] == "interactive" and interactive["type"] == kind and interactive["body"]["text"] == question
    if kind == "button":
        picks = [(b["reply"]["id"], b["reply"]["title"]) for b in interactive["action"]["buttons"]]
        assert all(b["type"] == "reply" for b in interactive["action"]["buttons"])
        limit = 20
    else:
        rows_ = interactive["action"]["sections"][0]["rows"]
        picks = [(r["id"], r["title"]) for r in rows_]
        assert 0 < len(interactive["action"]["button"]) <= 20
        for row, (_, label) in zip(rows_, choices):
            if row["title"] != label:
                assert row["description"] == label[:72]
        limit = 24
    assert [value for value, _ in picks] == [value for value, _ in choices]
    for (_, title), (_, label) in zip(picks, choices):
        assert 0 < len(title) <= limit
        assert title == label or (title.endswith("…") and label.startswith(title[:-1].rstrip()))


def test_a_long_question_with_buttons_sends_the_text_first_and_the_question_with_the_buttons(adapter, graph):
    summary = "Resumen:\n" + "\n".join(f"Respuesta {i}: " + "detalle " * 12 for i in range(15))
    question = "¿Enviar?\n1 Enviar\n2 Cambiar\n3 Cancelar"
    wamid_returned = adapter.send(address(1), summary + "\n\n" + question, (("1", "Enviar"), ("2", "Cambiar"), ("3", "Cancelar")))
    sent = graph.sent()
    assert [s["type"] for s in sent] == ["text", "interactive"]
    assert sent[0]["text"]["body"] == summary.strip()
    body = sent[1]["interactive"]["body"]["text"]
    assert body == question and len(body) <= 1024
    assert wamid_returned.startswith("wamid.")


SEND_ERRORS = [
    (429, None, True),
    (500, None, True),
    (503, 2, True),
    (400, 4, True),  # application request limit
    (400, 80007, True),  # WhatsApp Business account rate limit
    (400, 130429, True),  # throughput limit
    (400, 131048, True),  # spam rate limit
    (400, 131056, True),  # pair rate limit
    (401, 190, True),  # expired token: renewed by the deployment, nothing lost meanwhile
    (400, 131047, False),  # more than 24 hours: the text can never go; a later message uses the template
    (400, 100, False),  # invalid parameter
    (400, 131026, False),  # undeliverable
    (400, 131051, False),  # unsupported message type
    (404, None, False),
]


@pytest.mark.parametrize(("status_code", "code", "retryable"), SEND_ERRORS)
def test_send_errors_say_whether_a_retry_can_help_and_name_no_number_token_or_text(adapter, graph, status_code, code, retryable):
    graph.failures.append((status_code, code))
    with pytest.raises(SendError) as raised:
        adapter.send(address(1), "El patrón nos amenazó", ())
    assert raised.value.retryable is retryable
    message = str(raised.value)
    assert f"HTTP {status_code}" in message and (code is None or f"Graph error {code}" in message)
    for needle in (WORKER, ACCESS_TOKEN, "amenazó", PHONE_NUMBER_ID):
        assert needle not in message


def test_network_errors_are_retryable_and_do_not_show_the_url(wa_services):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    section = WhatsAppCloudSettings(enabled=True, phone_number_id=PHONE_NUMBER_ID, graph_base_url=f"http://127.0.0.1:{closed_port}/v21.0")
    offline = WhatsAppCloudAdapter(section, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, access_token=ACCESS_TOKEN,
                                   intake=wa_services.intake, kick=lambda ids: None)
    try:
        with pytest.raises(SendError) as raised:
            offline.send(address(1), "hola")
    finally:
        offline.close()
    assert raised.value.retryable and "network error" in str(raised.value)
    assert str(closed_port) not in str(raised.value) and PHONE_NUMBER_ID not in str(raised.value)


def _only_outbound(services):
    with services.sessions.begin() as session:
        row = session.execute(select(OutboundMessage)).scalar_one()
        return row.state, row.attempts, row.last_error


def test_through_the_dispatcher_a_throttled_reply_is_retried_and_a_refused_one_is_dead(client, wa_services, graph):
    graph.failures.append((400, 130429))
    post(client, webhook([text("hola")]))
    state, attempts, error = wait_until(lambda: _only_outbound(wa_services) if _only_outbound(wa_services)[1] == 1 else None)
    assert state == "pending" and error == "SendError: whatsapp cloud: HTTP 400, Graph error 130429"
    with wa_services.sessions.begin() as session:
        session.execute(update(OutboundMessage).values(next_attempt_at=exact_now()))
    assert wa_services.dispatcher.run_once().sent == 1
    assert len(graph.sent()) == 1 and rows(wa_services, OutboundMessage) == 0

    graph.failures.append((400, 131026))
    post(client, webhook([list_reply("4")]))
    state, attempts, error = wait_until(lambda: _only_outbound(wa_services) if _only_outbound(wa_services)[0] == "dead" else None)
    assert attempts == 1 and error == "SendError: whatsapp cloud: HTTP 400, Graph error 131026"
    assert WORKER not in error


# ------------------------------------------------------------------ the adapter's contract and its secrets


def test_the_adapter_is_registered_and_keeps_the_contract(client, wa_services, adapter, graph):
    assert adapter_class("whatsapp_cloud") is WhatsAppCloudAdapter
    assert client.get("/health").get_json() == {"status": "ok", "channels": ["console", "whatsapp_cloud"]}
    assert adapter.type == "whatsapp_cloud" and adapter.keeps_message_refs is False
    assert adapter.rate == wa_services.settings.channels.whatsapp_cloud.rate
    assert adapter.secret_values() == (APP_SECRET, VERIFY_TOKEN, ACCESS_TOKEN)
    assert adapter.erase(address(1), ["wamid.x"]) is None and graph.requests == []


def test_delete_erases_our_side_and_says_so(client, wa_services, graph):
    post(client, webhook([text("hola")]))
    post(client, webhook([text("borrar")]))  # the welcome may still be queued: DELETE cancels it then
    erased = wa_services.intake.conversation.t(None, "deleted")  # no language chosen yet: the default one
    wait_until(lambda: graph.sent() and body_text(graph.sent()[-1]).startswith(erased))
    settle(wa_services)
    assert body_text(graph.sent()[-1]).startswith(erased) and len(graph.sent()) <= 2
    assert rows(wa_services, Conversation) == 0


def test_a_missing_phone_number_id_stops_start_up_with_one_line(settings, settings_with, wa_env):
    with pytest.raises(ConfigError) as raised:
        build_services(settings_with(channels={"whatsapp_cloud": {"enabled": True}}))
    assert str(raised.value) == "config error: channels.whatsapp_cloud.phone_number_id: required when the channel is enabled"


@pytest.mark.parametrize(
    ("variable", "key"),
    [("WHATSAPP_APP_SECRET", "app_secret"), ("WHATSAPP_VERIFY_TOKEN", "verify_token"), ("WHATSAPP_ACCESS_TOKEN", "access_token")],
)
def test_a_missing_secret_stops_start_up_naming_it(wa_settings, monkeypatch, variable, key):
    monkeypatch.delenv(variable)
    with pytest.raises(ConfigError) as raised:
        build_services(wa_settings())
    assert str(raised.value) == f"config error: channels.whatsapp_cloud.{key}: environment variable {variable} is not set"


def _grievance(deployment: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(deployment / "config.yaml"), *args],
        capture_output=True, text=True, cwd=deployment, timeout=120, env=env,
    )


@pytest.mark.parametrize(
    ("section", "missing", "line"),
    [
        ({"phone_number_id": PHONE_NUMBER_ID}, "WHATSAPP_APP_SECRET",
         "config error: channels.whatsapp_cloud.app_secret: environment variable WHATSAPP_APP_SECRET is not set"),
        ({"phone_number_id": PHONE_NUMBER_ID}, "WHATSAPP_ACCESS_TOKEN",
         "config error: channels.whatsapp_cloud.access_token: environment variable WHATSAPP_ACCESS_TOKEN is not set"),
        ({}, None, "config error: channels.whatsapp_cloud.phone_number_id: required when the channel is enabled"),
    ],
)
def test_the_cli_refuses_to_start_an_incomplete_channel_with_one_line(tmp_path, section, missing, line, database_url):
    config = example_config(database_url)
    config.setdefault("channels", {})["whatsapp_cloud"] = {"enabled": True, **section}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHATSAPP_")}
    env.update({"WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN, "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN})
    if missing:
        env.pop(missing)
    assert _grievance(tmp_path, "init", "--dev-operator-key", env=env).returncode == 0
    result = _grievance(tmp_path, "forward", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [line]


def test_no_number_token_or_text_in_any_log_line_or_file(wa_settings, graph, captured_logs):
    settings = wa_settings()
    log_file = settings.path(settings.logging.file)
    setup_logging("DEBUG", log_file)
    captured_logs.set_level(logging.DEBUG)
    services = build_services(settings)
    try:
        client = create_app(services).test_client()
        client.get("/webhooks/whatsapp", query_string={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"})
        client.get("/webhooks/whatsapp", query_string={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"})
        post(client, webhook([text("hola")]), signature=sign(b"other"))
        graph.media["4242"] = ("image/jpeg", photo_with_exif())
        graph.failures.append((400, 131026))
        script = [text("hola"), list_reply("4"), button_reply("1"), image("4242", caption=DESCRIPTION), button_reply("1"),
                  text("Textiles del Norte S.A."), text("San Pedro Sula"), text("saltar"), text("desde septiembre"),
                  button_reply("1"), text("40"), button_reply("2"), button_reply("2"), button_reply("1")]
        for message in script:
            assert post(client, webhook([message])).status_code == 200
        post(client, webhook(statuses=[status("delivered"), status("failed", [131047])]))
        wait_sent(graph, len(script) - 1)  # the first reply was refused (dead)
        services.adapters["whatsapp_cloud"].send(address(30), "Actualización: Textiles del Norte", ())
        needles = [WORKER, "+" + WORKER, APP_SECRET, VERIFY_TOKEN, ACCESS_TOKEN, *SECRET_TEXTS]
        assert needles_at_rest(settings, needles) == []
        services.close()
        assert needles_at_rest(settings, needles) == []
        logged = log_file.read_text()
        assert "delivery failed" in logged and "message handled" in logged
        raw = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in captured_logs.records)
        for needle in needles:
            assert needle not in logged and needle not in raw
    finally:
        services.close()
        reset_logging()


# ------------------------------------------------------------------ per-chat order and DELETE (second security audit)


def _texts(graph) -> list[str]:
    return [body_text(message) for message in graph.sent()]


def test_answers_from_two_workers_reach_the_chat_in_the_order_of_its_messages(wa_services, client, graph):
    other = second_worker(wa_services)
    try:
        for index, step in enumerate(("hi", "1")):
            assert post(client, webhook([text(step)])).status_code == 200
            wait_sent(graph, index + 1)
        graph.send_delay = lambda body: 0.8 if "What happened?" in body_text(body) else 0.0  # a slow call to Graph
        assert post(client, webhook([text("yes")])).status_code == 200  # worker 1 is sending "What happened?"
        time.sleep(0.3)
        assert post(create_app(other).test_client(), webhook([text(ENGLISH_STORY)])).status_code == 200
        wait_sent(graph, 4)
        settle(wa_services, other)
        asked, answered = _texts(graph)[2:]
        assert "What happened?" in asked and "What happened?" not in answered
    finally:
        other.close()


def test_a_reply_waiting_for_a_retry_holds_back_the_next_and_delete_cancels_both(wa_services, client, graph):
    assert post(client, webhook([text("hi")])).status_code == 200
    wait_sent(graph, 1)
    graph.failures.append((503, 2))  # Graph's "service unavailable": retried later
    assert post(client, webhook([text("1")])).status_code == 200  # the privacy notice waits for a retry
    assert post(client, webhook([text("yes")])).status_code == 200
    settle(wa_services)
    assert len(graph.sent()) == 1, _texts(graph)  # "What happened?" waits behind the notice
    assert post(client, webhook([text("delete")])).status_code == 200  # nothing written yet: erased at once
    wait_sent(graph, 2)
    make_due(wa_services)
    wa_services.dispatcher.run_once()
    settle(wa_services)
    (erased,) = _texts(graph)[1:]
    assert erased.startswith(wa_services.intake.conversation.t("en", "deleted"))
    assert rows(wa_services, OutboundMessage) == 0
