"""Twilio (SMS and WhatsApp on one webhook): signatures, whole conversations, media, segments, sending, status.

Payloads are in Twilio's real webhook format and signed by the twilio
library's own `RequestValidator`. Outbound calls and media downloads go to a
fake Twilio on 127.0.0.1 (`fake_twilio.py`); the network guard refuses anything else.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import secrets
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from PIL import Image
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.config import TAXONOMY
from bot.logs import reset_logging, setup_logging
from bot.messages import ReplyAddress
from bot.services import Services, build_services
from channels.sms_segments import count_segments
from channels.twilio_delivery import MAX_DELIVERY_ATTEMPTS
from channel_support import pulled, settle, wait_until
from fake_twilio import FakeTwilio
from databases import ON_POSTGRES, example_config, needles_in_database
from leak_scan import needles_in_tree
from storage.keys import init_keys
from storage.models import Case, Conversation, DraftMedia, InboundReceipt, OutboundMessage
from storage.outbound import enqueue, exact_now
from test_media import pdf_with_author, photo_with_exif, png_declaring, rgba_png
from worker_scripts import BENGALI_INTAKE, BENGALI_SECRETS, ENGLISH_INTAKE, ENGLISH_SECRETS

ACCOUNT_SID = "AC" + "3f9a1c0de2b44f6a8e7d5c1b0a9f8e7d"
AUTH_TOKEN = "7c2e9d4b1a8f6e3c5d0b9a7f2e4c6d81"
PUBLIC_URL = "https://hotline.example.org"
HOTLINE_SMS = "+15550100000"
HOTLINE_WHATSAPP = "whatsapp:+15550100001"
TEMPLATE_SID = "HX" + "0123456789abcdef0123456789abcdef"
WORKER = "+8801711000000"
WHATSAPP_WORKER = "+8801822000000"
# WhatsApp users with a username: Twilio sends their business-scoped user id (BSUID) instead of a number.
USERNAME_WORKERS = ("US.13491208655302741918", "BD.5082947261103384", "VN.ENT.11815799212886844830", "ID.a7Kq93xZ0pL")
PROFILE_NAME = "Rahima Begum"
REPO = Path(__file__).resolve().parents[1]
TABLES = (Conversation, InboundReceipt, OutboundMessage, Case, DraftMedia)


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def sms_payload(sender: str, body: str, sid: str | None = None, media: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """The form Twilio posts for an SMS (MMS when there is media) to a phone number's webhook."""
    sid = sid or new_sid("MM" if media else "SM")
    form = {
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": str(len(media)), "ToCity": "",
        "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "", "Body": body,
        "FromCountry": "BD", "To": HOTLINE_SMS, "ToZip": "", "NumSegments": "1", "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": sender, "ApiVersion": "2010-04-01",
    }
    for index, (url, content_type) in enumerate(media):
        form[f"MediaUrl{index}"], form[f"MediaContentType{index}"] = url, content_type
    return form


def whatsapp_payload(sender: str, body: str, sid: str | None = None, media: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """The form Twilio posts for a WhatsApp message (the sender's profile name included)."""
    sid = sid or new_sid("MM" if media else "SM")
    form = {
        "SmsMessageSid": sid, "NumMedia": str(len(media)), "ProfileName": PROFILE_NAME,
        "MessageType": "image" if media else "text", "SmsSid": sid, "WaId": sender.lstrip("+"), "SmsStatus": "received",
        "Body": body, "To": HOTLINE_WHATSAPP, "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": "whatsapp:" + sender, "ApiVersion": "2010-04-01",
    }
    for index, (url, content_type) in enumerate(media):
        form[f"MediaUrl{index}"], form[f"MediaContentType{index}"] = url, content_type
    return form


def status_payload(sid: str, status: str, error_code: str | None = None) -> dict[str, str]:
    """The form Twilio posts to a message's StatusCallback."""
    form = {
        "SmsSid": sid, "SmsStatus": status, "MessageStatus": status, "To": WORKER, "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": HOTLINE_SMS, "ApiVersion": "2010-04-01",
    }
    if error_code:
        form["ErrorCode"] = error_code
    return form


def sign(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def messages_of(response) -> list[str]:
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return [element.text or "" for element in root.iter("Message")]


def count(services: Services, model) -> int:
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


@dataclass
class Hotline:
    """A hotline with Twilio enabled, its HTTP test client and the fake Twilio behind it."""

    services: Services
    client: object
    fake: FakeTwilio
    public_url: str

    @property
    def adapter(self):
        return self.services.adapters["twilio"]

    def post(self, form: dict[str, str], path: str = "/webhooks/twilio", *, signature: str | None = None,
             signed_url: str | None = None, base_url: str = "http://localhost"):
        """POST like Twilio: signed over the public URL unless told otherwise."""
        if signature is None:
            signature = sign(signed_url or self.public_url.rstrip("/") + path, form)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        return self.client.post(path, data=form, headers=headers, base_url=base_url)

    def sms(self, text: str, sender: str = WORKER, **options) -> list[str]:
        return messages_of(self.post(sms_payload(sender, text, **options)))

    def whatsapp(self, text: str, sender: str = WHATSAPP_WORKER, **options) -> list[str]:
        return messages_of(self.post(whatsapp_payload(sender, text, **options)))

    def pull(self) -> list[dict]:
        """Forward the outbox and open every case with the operator key, as `grievance cases pull` does."""
        return pulled(self.services)


@pytest.fixture
def fake() -> FakeTwilio:
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    yield server
    server.close()


@pytest.fixture
def make_hotline(settings_with, fake, monkeypatch):
    """make_hotline(public_url=..., **channels.twilio overrides) -> Hotline."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    built: list[Services] = []

    def make(public_url: str = PUBLIC_URL, **twilio) -> Hotline:
        config = {
            "enabled": True, "sms_from": HOTLINE_SMS, "whatsapp_from": HOTLINE_WHATSAPP,
            "whatsapp_template_sid": TEMPLATE_SID, "api_base_url": fake.url,
            "rate": {"messages_per_second": 1000},  # the dispatcher's rate limits have their own tests
            **twilio,
        }
        settings = settings_with(channels={"twilio": config}, server={"public_url": public_url})
        init_keys(settings, dev_operator_key=True)
        services = build_services(settings)
        built.append(services)
        return Hotline(services, create_app(services).test_client(), fake, public_url)

    yield make
    for services in built:
        services.close()


@pytest.fixture
def hotline(make_hotline) -> Hotline:
    return make_hotline()


# ---------------------------------------------------------------- signatures: fail closed


REFUSED = {
    "unsigned": lambda form: {"signature": ""},
    "signed with another token": lambda form: {"signature": sign(PUBLIC_URL + "/webhooks/twilio", form, "0" * 32)},
    "signed for another host": lambda form: {"signed_url": "https://attacker.example.net/webhooks/twilio"},
    "signed for the URL Flask sees": lambda form: {"signed_url": "http://localhost/webhooks/twilio"},
    "signed for the status route": lambda form: {"signed_url": PUBLIC_URL + "/webhooks/twilio/status"},
    "garbage signature": lambda form: {"signature": "not-base64!"},
    "body changed after signing": lambda form: {"signature": sign(PUBLIC_URL + "/webhooks/twilio", {**form, "Body": "other"})},
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_request_without_a_valid_signature_is_refused_and_leaves_no_trace(hotline, fake, case):
    media_url = fake.add_media("image/jpeg", photo_with_exif())
    form = sms_payload(WORKER, "hi", media=((media_url, "image/jpeg"),))
    response = hotline.post(form, **REFUSED[case](form))
    assert response.status_code == 403
    assert b"Response" not in response.data and b"Traceback" not in response.data
    assert {model.__tablename__: count(hotline.services, model) for model in TABLES} == dict.fromkeys(
        (model.__tablename__ for model in TABLES), 0
    )
    assert fake.requests == []  # not even the media was fetched


@pytest.mark.parametrize(
    "change",
    [
        {"From": None},
        {"MessageSid": None, "SmsMessageSid": None},
        {"From": "messenger:1234567890"},
        {"From": "not a number"},
        {"NumMedia": "many"},
        {"From": "US.13491208655302741918"},  # a BSUID is a WhatsApp address, never an SMS sender
        {"From": "whatsapp:US."},
        {"From": "whatsapp:us.1234567"},
        {"From": "whatsapp:USA.1234567"},
        {"From": "whatsapp:US.12345/../67"},
    ],
)
def test_a_signed_request_that_is_no_message_gets_400_and_nothing_is_stored(hotline, change):
    form = {key: value for key, value in {**sms_payload(WORKER, "hi"), **change}.items() if value is not None}
    response = hotline.post(form)
    assert response.status_code == 400
    assert all(count(hotline.services, model) == 0 for model in TABLES)


def test_a_json_body_or_an_oversized_one_is_never_a_500(hotline):
    signed = sign(PUBLIC_URL + "/webhooks/twilio", {})
    response = hotline.client.post("/webhooks/twilio", json={"From": WORKER}, headers={"X-Twilio-Signature": signed})
    assert response.status_code == 400  # signed over no form fields: valid, but no message
    big = hotline.client.post("/webhooks/twilio", data={"Body": "x" * 2_000_000}, headers={"X-Twilio-Signature": "x"})
    assert big.status_code in (403, 413)
    assert hotline.client.get("/webhooks/twilio").status_code == 405


JSON_BODY = b'{"Body": "hi", "From": "+8801711000000", "MessageSid": "SM0123456789abcdef0123456789abcdef"}'
BODY_HASH_CASES = {  # (body posted, bodySHA256 in the signed URL): Twilio signs a JSON body's hash in the URL
    "the body that was signed": (JSON_BODY, hashlib.sha256(JSON_BODY).hexdigest(), 400),  # valid: then no form, no message
    "the body changed after signing": (JSON_BODY.replace(b"hi", b"ho"), hashlib.sha256(JSON_BODY).hexdigest(), 403),
    "a hash that is not the body's": (JSON_BODY, hashlib.sha256(b"other").hexdigest(), 403),
    "a body that is not UTF-8": (b"\xff" + JSON_BODY, hashlib.sha256(b"\xff" + JSON_BODY).hexdigest(), 403),
}


@pytest.mark.parametrize("case", list(BODY_HASH_CASES))
def test_a_json_body_is_verified_against_the_signed_body_sha256(hotline, fake, case):
    body, digest, expected = BODY_HASH_CASES[case]
    path = "/webhooks/twilio?bodySHA256=" + digest
    signature = sign(PUBLIC_URL + path, {})  # the URL alone is signed; the hash in it covers the body
    response = hotline.client.post(path, data=body, headers={"X-Twilio-Signature": signature, "Content-Type": "application/json"})
    assert response.status_code == expected
    assert all(count(hotline.services, model) == 0 for model in TABLES) and fake.requests == []


@pytest.mark.parametrize(
    ("public_url", "base_url"),
    [
        (PUBLIC_URL, "http://10.0.0.7:8080"),  # the reverse proxy talks plain HTTP to another address
        (PUBLIC_URL + "/", "http://127.0.0.1:8080"),  # a trailing slash in the setting
        ("https://ngo.example.org/hotline", "http://localhost"),  # served under a path prefix the proxy strips
        ("https://hotline.example.org:8443", "http://localhost"),  # a non-standard public port
    ],
)
def test_behind_a_reverse_proxy_the_public_url_is_what_is_verified(make_hotline, public_url, base_url):
    hotline = make_hotline(public_url=public_url)
    replies = messages_of(hotline.post(sms_payload(WORKER, "hi"), base_url=base_url))
    assert replies and "Test hotline" in replies[0]
    refused = hotline.post(sms_payload(WORKER, "hi"), signed_url=base_url + "/webhooks/twilio", base_url=base_url)
    assert refused.status_code == 403


# ---------------------------------------------------------------- whole conversations


def test_a_whole_sms_conversation_in_english_reaches_a_confirmed_case(hotline):
    replies = [hotline.sms(text) for text in ENGLISH_INTAKE + ["1"]]
    assert "Test hotline" in replies[0][0]
    assert any("Is this about" in part for part in replies[3])
    assert "Sent. Your case code:" in replies[-1][-1]
    assert count(hotline.services, Case) == 1 and count(hotline.services, Conversation) == 0
    (record,) = hotline.pull()
    assert record["channel"] == "sms" and record["language"] == "en" and record["category"] in TAXONOMY  # the NLU's call
    assert record["answers"]["workplace"] == "Sunrise Garments Ltd"
    assert record["answers"]["people_affected"] == 40
    assert record["description"].startswith("The supervisor has not paid our wages")
    assert record["contact"] is None


def test_a_whole_whatsapp_conversation_in_bengali_reaches_a_confirmed_case(hotline):
    replies = [hotline.whatsapp(text) for text in BENGALI_INTAKE + ["১"]]
    assert all(len(turn) == 1 for turn in replies)  # WhatsApp has no segments: one message per turn
    assert any(char.isdigit() for char in replies[-1][0])
    (record,) = hotline.pull()
    assert record["channel"] == "whatsapp" and record["language"] == "bn" and record["category"] == "wages"
    assert record["answers"]["people_affected"] == 35
    assert record["answers"]["workplace"] == "রূপসী গার্মেন্টস"


def test_the_same_message_sid_twice_gives_one_reply_and_one_case(hotline):
    sid = new_sid()
    first = messages_of(hotline.post(sms_payload(WORKER, "hi", sid=sid)))
    again = messages_of(hotline.post(sms_payload(WORKER, "hi", sid=sid)))
    assert first and again == []
    assert count(hotline.services, InboundReceipt) == 1 and count(hotline.services, Conversation) == 1
    for text in ENGLISH_INTAKE[1:]:
        hotline.sms(text)
    confirm = sms_payload(WORKER, "1")
    assert "Sent. Your case code:" in messages_of(hotline.post(confirm))[-1]
    assert messages_of(hotline.post(confirm)) == []  # Twilio retried the confirming message
    assert count(hotline.services, Case) == 1


def test_an_intake_failure_is_a_plain_503_and_nothing_is_stored(hotline, monkeypatch, captured_logs):
    def broken(message, **kwargs):
        raise RuntimeError(f"database gone while handling {message.sender}")

    monkeypatch.setattr(hotline.services.intake, "receive", broken)
    response = hotline.post(sms_payload(WORKER, "hi"))
    assert response.status_code == 503 and response.mimetype == "text/plain"
    assert b"Traceback" not in response.data and b"database" not in response.data
    assert all(count(hotline.services, model) == 0 for model in TABLES)
    assert any(r.getMessage() == "twilio message not handled" for r in captured_logs.records)


# ---------------------------------------------------------------- media


def _start_description(hotline: Hotline) -> None:
    for text in ("hi", "1", "yes"):
        hotline.sms(text)


@pytest.mark.parametrize("redirect_host", [None, "localhost"])
def test_a_photo_is_fetched_with_the_account_credentials_stripped_and_sealed_with_the_case(hotline, fake, redirect_host):
    photo = photo_with_exif()
    assert b"Exif" in photo and b"Model-XYZ-12345" in photo
    url = fake.add_media("image/jpeg", photo, redirect_host=redirect_host)
    _start_description(hotline)
    replies = hotline.sms(ENGLISH_INTAKE[3], media=((url, "image/jpeg"),))
    assert replies[0].startswith("We got your photo or recording.")
    fetches = fake.media_requests()
    assert fetches[0].basic_auth() == (ACCOUNT_SID, AUTH_TOKEN)
    if redirect_host:  # Twilio redirects to its media store: the credentials must not follow
        assert len(fetches) == 2 and fetches[1].path.startswith("/store/") and fetches[1].authorization is None
    for text in ENGLISH_INTAKE[4:] + ["1"]:
        hotline.sms(text)
    (record,) = hotline.pull()
    (attachment,) = record["attachments"]
    data = base64.b64decode(attachment["data_base64"])
    assert attachment["content_type"] == "image/jpeg" and attachment["size"] == len(data)
    for marker in (b"Exif", b"PhoneMaker", b"Model-XYZ-12345", b"2026:11:24", b"secret comment"):
        assert marker not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (40, 30) and not image.getexif()


@pytest.mark.parametrize(
    ("media", "reason", "told"),
    [
        ({"status": 404}, "media http 404", "could not open"),
        ({"delay": 3.0}, "timeout", "could not open"),
        ({"data": b"x" * 5000, "content_type": "audio/ogg"}, "media too large", "too big"),
        ({"content_type": "application/x-msdownload", "data": b"MZ"}, "media type not accepted", "only photos and voice"),
        ({"content_type": "application/pdf", "data": pdf_with_author()}, "media type not accepted", "only photos and voice"),
        ({"content_type": "video/mp4", "data": b"\x00\x00\x00\x18ftypmp42"}, "media type not accepted", "only photos and voice"),
        ({"data": b"not a jpeg"}, "not a readable image", "could not open"),
        ({"data": rgba_png()}, "not a readable image", "could not open"),  # the audit's crafted PNG, declared JPEG
        ({"data": png_declaring(8900, 8900), "content_type": "image/png"}, "image over the pixel budget", "too big"),
        ({"other_host": True}, "media url not on the Twilio API host", "could not open"),
    ],
)
def test_media_that_cannot_be_fetched_or_kept_never_costs_the_text(make_hotline, fake, captured_logs, media, reason, told):
    hotline = make_hotline(media_max_bytes=4000)
    hotline.adapter.media.timeout = 0.3
    options = {"content_type": "image/jpeg", "data": photo_with_exif(), **media}
    other_host = options.pop("other_host", False)
    url = fake.add_media(options.pop("content_type"), options.pop("data"), **options)
    declared = "image/jpeg" if "content_type" not in media else media["content_type"]
    if other_host:
        url = url.replace("127.0.0.1", "localhost")
    _start_description(hotline)
    replies = hotline.sms(ENGLISH_INTAKE[3], media=((url, declared),))
    assert any("Is this about" in part for part in replies)  # the description was taken
    assert not any(part.startswith("We got your photo") for part in replies)
    assert told in " ".join(replies)  # the worker is told what was not kept, and why
    assert count(hotline.services, DraftMedia) == 0
    if "type" in reason:
        assert fake.media_requests() == []  # a video or a document is not even downloaded
    kept_out = [r for r in captured_logs.records if r.getMessage() == "twilio media not kept"]
    assert [r.reason for r in kept_out] == [reason]
    ours = [r.getMessage() for r in captured_logs.records if r.name.startswith(("channels", "bot"))]
    assert not any(fake.url in line or "localhost:" in line or "/Media/" in line for line in ours)
    if other_host:
        assert fake.media_requests() == []  # the credentials never went to another host


# ---------------------------------------------------------------- segments


def test_a_bengali_summary_by_sms_is_split_into_messages_within_the_segment_budget(make_hotline):
    hotline = make_hotline(max_segments_per_message=1)
    replies = [hotline.sms(text) for text in BENGALI_INTAKE]
    summary = replies[-1]
    assert len(summary) >= 3
    for part in summary:
        counted = count_segments(part)
        assert counted.encoding == "UCS-2" and counted.segments == 1
    joined = "".join(summary)
    for answer in ("রূপসী গার্মেন্টস", "আশুলিয়া", "৩৫"):
        assert answer in joined or answer.replace("৩৫", "35") in joined
    assert all(count_segments(part).segments <= 2 for turn in replies for part in turn)


def test_the_same_summary_on_whatsapp_is_one_message(hotline):
    replies = [hotline.whatsapp(text) for text in BENGALI_INTAKE]
    assert len(replies[-1]) == 1 and "রূপসী গার্মেন্টস" in replies[-1][0]


# ---------------------------------------------------------------- WhatsApp usernames (no phone number)


def username_payload(bsuid: str, body: str) -> dict[str, str]:
    """Twilio's form for a WhatsApp user with a username: From holds the BSUID, there is no WaId."""
    form = whatsapp_payload("+15557340219", body)  # replaced at once: the sender is the BSUID
    del form["WaId"]
    return {**form, "From": "whatsapp:" + bsuid, "ExternalUserId": "whatsapp:" + bsuid}


@pytest.mark.parametrize("bsuid", USERNAME_WORKERS)
def test_a_whatsapp_username_without_a_number_is_answered_and_its_report_reaches_a_case(hotline, bsuid):
    replies = [messages_of(hotline.post(username_payload(bsuid, text))) for text in ENGLISH_INTAKE + ["1"]]
    assert "Test hotline" in replies[0][0]
    assert "Sent. Your case code:" in replies[-1][-1]  # one conversation: the BSUID is a stable address
    (record,) = hotline.pull()
    assert record["channel"] == "whatsapp" and record["answers"]["workplace"] == "Sunrise Garments Ltd"
    assert count(hotline.services, Conversation) == 0


def test_a_message_to_a_whatsapp_username_goes_to_its_bsuid(hotline, fake):
    seen = exact_now() - timedelta(hours=1)
    with hotline.services.sessions.begin() as session:
        address = ReplyAddress("twilio", "whatsapp", USERNAME_WORKERS[0], last_inbound_at=seen)
        enqueue(session, hotline.services.secrets, address, "An officer has answered you.")
    assert hotline.services.dispatcher.run_once().sent == 1
    (form,) = fake.messages
    assert form["To"] == "whatsapp:" + USERNAME_WORKERS[0] and form["Body"] == "An officer has answered you."


def test_a_bsuid_is_kept_like_a_phone_number_never_in_the_clear(hotline):
    for text in ENGLISH_INTAKE[:3]:
        messages_of(hotline.post(username_payload(USERNAME_WORKERS[0], text)))
    settings = hotline.services.settings
    needles = [USERNAME_WORKERS[0], USERNAME_WORKERS[0].split(".", 1)[1]]
    if ON_POSTGRES:
        assert needles_in_database(settings.database_url, needles) == []
    assert needles_in_tree(settings.data_dir, needles) == []


# ---------------------------------------------------------------- sending through the REST API


def queue_message(hotline: Hotline, text: str, channel: str = "sms", last_inbound: timedelta | None = timedelta(hours=1)) -> str:
    address = WORKER if channel == "sms" else WHATSAPP_WORKER
    seen = exact_now() - last_inbound if last_inbound is not None else None
    with hotline.services.sessions.begin() as session:
        return enqueue(session, hotline.services.secrets, ReplyAddress("twilio", channel, address, last_inbound_at=seen), text)


def outbound_rows(hotline: Hotline) -> list[OutboundMessage]:
    with hotline.services.sessions.begin() as session:
        rows = session.execute(select(OutboundMessage).order_by(OutboundMessage.created_at)).scalars().all()
        session.expunge_all()
    return rows


def make_due(hotline: Hotline) -> None:
    with hotline.services.sessions.begin() as session:
        session.execute(update(OutboundMessage).values(next_attempt_at=exact_now() - timedelta(seconds=1)))


LONG_ENGLISH = " ".join(["Your case is with the mechanism and an officer has read it."] * 12)


def test_a_long_sms_goes_out_in_parts_within_the_budget_each_watched_for_delivery(hotline, fake):
    queue_message(hotline, LONG_ENGLISH)
    assert hotline.services.dispatcher.run_once().sent == 1
    sent = fake.messages
    assert len(sent) >= 2
    for form in sent:
        assert form["To"] == WORKER and form["From"] == HOTLINE_SMS
        assert count_segments(form["Body"]).segments <= 3
        assert form["StatusCallback"].startswith(PUBLIC_URL + "/webhooks/twilio/status?ob=")
    assert " ".join(form["Body"] for form in sent).split() == LONG_ENGLISH.split()
    watches = outbound_rows(hotline)
    assert [row.state for row in watches] == ["sent"] * len(sent)
    assert {form["StatusCallback"].rsplit("=", 1)[1] for form in sent} == {row.id for row in watches}
    assert all(request.basic_auth() == (ACCOUNT_SID, AUTH_TOKEN) for request in fake.requests)


@pytest.mark.parametrize(
    ("last_inbound", "expect"),
    [(timedelta(hours=1), "body"), (timedelta(hours=25), "template"), (None, "template")],
)
def test_whatsapp_inside_the_window_gets_the_text_outside_it_the_template(hotline, fake, last_inbound, expect):
    queue_message(hotline, "An officer has answered you. Send STATUS and your code.", "whatsapp", last_inbound)
    assert hotline.services.dispatcher.run_once().sent == 1
    (form,) = fake.messages
    assert form["To"] == "whatsapp:" + WHATSAPP_WORKER and form["From"] == HOTLINE_WHATSAPP
    if expect == "body":
        assert form["Body"].startswith("An officer has answered you") and "ContentSid" not in form
    else:
        assert form["ContentSid"] == TEMPLATE_SID and "Body" not in form


def test_whatsapp_outside_the_window_without_a_template_is_dead_at_once(make_hotline, fake):
    hotline = make_hotline(whatsapp_template_sid=None)
    queue_message(hotline, "An update", "whatsapp", timedelta(hours=30))
    assert hotline.services.dispatcher.run_once().dead == 1
    (row,) = outbound_rows(hotline)
    assert row.state == "dead" and "no template configured for messages outside the 24-hour window" in row.last_error
    assert fake.messages == []


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [(429, 20429, True), (500, 20500, True), (503, 20503, True), (400, 21611, True),
     (400, 21211, False), (400, 21610, False), (400, 21408, False), (401, 20003, False)],
)
def test_rest_api_errors_are_retried_or_dead_by_status_and_code(hotline, fake, status, code, retryable):
    fake.fail_next(status, code, f"The 'To' number {WORKER} is not valid for this request.")
    queue_message(hotline, "An officer has answered you.")
    result = hotline.services.dispatcher.run_once()
    (row,) = outbound_rows(hotline)
    assert row.last_error == f"SendError: twilio HTTP {status} error {code}"
    assert WORKER not in row.last_error and "8801711000000" not in row.last_error
    if retryable:
        assert result.retried == 1 and row.state == "pending" and row.attempts == 1
        make_due(hotline)
        assert hotline.services.dispatcher.run_once().sent == 1  # retried later, and through
        assert [r.state for r in outbound_rows(hotline)] == ["sent"]
    else:
        assert result.dead == 1 and row.state == "dead"
    assert len(fake.messages) == 1 + retryable


def test_an_unreachable_api_is_a_retryable_network_error(make_hotline, fake):
    hotline = make_hotline(api_base_url="http://127.0.0.1:9")  # the discard port: connection refused
    queue_message(hotline, "An officer has answered you.")
    assert hotline.services.dispatcher.run_once().retried == 1
    (row,) = outbound_rows(hotline)
    assert row.state == "pending" and row.last_error.startswith("SendError: twilio network error")


def test_when_a_later_part_fails_only_the_rest_is_queued_again(hotline, fake):
    fake.fail_at[2] = (503, 20503, "Service unavailable")
    queue_message(hotline, LONG_ENGLISH)
    assert hotline.services.dispatcher.run_once().sent == 1
    rows = outbound_rows(hotline)
    assert sorted(row.state for row in rows) == ["pending", "sent"]
    make_due(hotline)
    hotline.services.dispatcher.run_once()
    delivered = [form["Body"] for form in fake.messages]
    assert len(delivered) == 3 and delivered[0] != delivered[2]  # the first part was not sent twice
    assert " ".join([delivered[0], delivered[2]]).split() == LONG_ENGLISH.split()


# ---------------------------------------------------------------- delivery status callbacks


def _send_one(hotline: Hotline, fake: FakeTwilio) -> tuple[str, str]:
    queue_message(hotline, "An officer has answered you.")
    hotline.services.dispatcher.run_once()
    form = fake.messages[-1]
    watch_id = form["StatusCallback"].rsplit("=", 1)[1]
    return watch_id, "/webhooks/twilio/status?ob=" + watch_id


def _status(hotline: Hotline, path: str, status: str, code: str | None = None, **options):
    return hotline.post(status_payload(new_sid(), status, code), path, signed_url=options.pop("signed_url", PUBLIC_URL + path), **options)


def test_an_unsigned_status_callback_is_refused(hotline, fake):
    watch_id, path = _send_one(hotline, fake)
    assert _status(hotline, path, "delivered", signature="").status_code == 403
    other = "/webhooks/twilio/status?ob=" + "0" * 8 + "-0000-0000-0000-" + "0" * 12
    assert _status(hotline, path, "delivered", signed_url=PUBLIC_URL + other).status_code == 403
    assert [row.state for row in outbound_rows(hotline)] == ["sent"]


def test_delivered_erases_the_watch_and_progress_changes_nothing(hotline, fake):
    watch_id, path = _send_one(hotline, fake)
    for status in ("queued", "sent"):
        assert _status(hotline, path, status).status_code == 204
    assert [row.id for row in outbound_rows(hotline)] == [watch_id]
    assert _status(hotline, path, "delivered").status_code == 204
    assert outbound_rows(hotline) == []
    assert _status(hotline, path, "delivered").status_code == 204  # a repeated callback is harmless


def test_a_retryable_delivery_failure_sends_the_message_again_later(hotline, fake):
    watch_id, path = _send_one(hotline, fake)
    assert _status(hotline, path, "undelivered", "30003").status_code == 204
    (row,) = outbound_rows(hotline)
    assert row.id == watch_id and row.state == "pending" and row.attempts == 1
    assert row.last_error == "twilio delivery error 30003"
    assert hotline.services.dispatcher.run_once().sent == 0  # not before its time
    make_due(hotline)
    assert hotline.services.dispatcher.run_once().sent == 1
    first, second = fake.messages
    assert first["Body"] == second["Body"] and first["StatusCallback"] != second["StatusCallback"]
    (again,) = outbound_rows(hotline)
    assert again.state == "sent" and again.attempts == 1  # the count goes on with the new watch


def test_retries_after_delivery_failures_are_bounded(hotline, fake):
    watch_id, path = _send_one(hotline, fake)
    for attempt in range(1, MAX_DELIVERY_ATTEMPTS + 1):
        (row,) = outbound_rows(hotline)
        path = "/webhooks/twilio/status?ob=" + row.id
        assert _status(hotline, path, "failed", "30001").status_code == 204
        (row,) = outbound_rows(hotline)
        if row.state == "dead":
            break
        make_due(hotline)
        hotline.services.dispatcher.run_once()
    assert row.state == "dead" and attempt == MAX_DELIVERY_ATTEMPTS
    assert len(fake.messages) == MAX_DELIVERY_ATTEMPTS


@pytest.mark.parametrize("code", ["30007", "30005", "63016", "99999", None])
def test_a_permanent_delivery_failure_is_dead_at_once(hotline, fake, code):
    watch_id, path = _send_one(hotline, fake)
    assert _status(hotline, path, "failed", code).status_code == 204
    (row,) = outbound_rows(hotline)
    assert row.state == "dead"
    make_due(hotline)
    assert hotline.services.dispatcher.run_once().sent == 0 and len(fake.messages) == 1


def test_a_status_for_an_unknown_message_is_accepted_and_ignored(hotline):
    path = "/webhooks/twilio/status?ob=11111111-2222-3333-4444-555555555555"
    assert _status(hotline, path, "undelivered", "30003").status_code == 204
    assert _status(hotline, "/webhooks/twilio/status", "failed", "30003").status_code == 204  # an inline TwiML reply
    assert outbound_rows(hotline) == []


# ---------------------------------------------------------------- secrets and privacy


def test_no_number_token_or_sentence_in_any_log_line_or_under_the_data_folder(hotline, fake, captured_logs):
    settings = hotline.services.settings
    log_file = settings.path(settings.logging.file)
    setup_logging("DEBUG", log_file)
    captured_logs.set_level(logging.DEBUG)
    try:
        _start_description(hotline)
        url = fake.add_media("image/jpeg", photo_with_exif())
        missing = fake.add_media("image/jpeg", b"", status=404)
        hotline.sms(ENGLISH_INTAKE[3], media=((url, "image/jpeg"), (missing, "image/jpeg")))
        for text in ENGLISH_INTAKE[4:] + ["1"]:
            hotline.sms(text)
        for text in BENGALI_INTAKE + ["১"]:
            hotline.whatsapp(text)
        hotline.post({**sms_payload(WORKER, "hi"), "Body": "unsigned"}, signature="bad")
        fake.fail_next(400, 21211, f"The 'To' number {WORKER} is not a valid phone number.")
        queue_message(hotline, "An officer has answered you about Sunrise Garments.")
        queue_message(hotline, "An officer has answered you.", "whatsapp")
        hotline.services.dispatcher.run_once()
        watch = next(row for row in outbound_rows(hotline) if row.state == "sent")
        _status(hotline, "/webhooks/twilio/status?ob=" + watch.id, "undelivered", "30003")
        hotline.pull()

        assert hotline.adapter.secret_values() == (AUTH_TOKEN,)
        needles = [WORKER, "8801711000000", WHATSAPP_WORKER, "8801822000000", AUTH_TOKEN, PROFILE_NAME,
                   "PhoneMaker", "Model-XYZ-12345", *ENGLISH_SECRETS, *BENGALI_SECRETS]  # and the photo's EXIF
        logged = log_file.read_text(encoding="utf-8")
        assert logged.count("\n") >= 10 and "twilio media not kept" in logged
        raw = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in captured_logs.records)
        for needle in needles:
            assert needle not in logged, needle
            assert needle not in raw, needle
        data_dir = settings.data_dir
        if ON_POSTGRES:
            assert needles_in_database(settings.database_url, needles) == []
        else:
            assert any(path.name.endswith("-wal") for path in data_dir.iterdir())
        assert needles_in_tree(data_dir, needles) == []
        hotline.services.close()
        assert needles_in_tree(data_dir, needles) == []
    finally:
        reset_logging()


# ---------------------------------------------------------------- start-up without secrets


MISSING_SECRETS = [
    ({"TWILIO_ACCOUNT_SID": ACCOUNT_SID}, "config error: channels.twilio.auth_token: environment variable TWILIO_AUTH_TOKEN is not set"),
    ({"TWILIO_AUTH_TOKEN": AUTH_TOKEN}, "config error: channels.twilio.account_sid: environment variable TWILIO_ACCOUNT_SID is not set"),
    ({}, "config error: channels.twilio.auth_token: environment variable TWILIO_AUTH_TOKEN is not set"),
]


def test_an_enabled_twilio_without_its_secrets_stops_start_up_with_one_line(tmp_path, database_url):
    config = example_config(database_url)
    config.setdefault("channels", {})["twilio"] = {"enabled": True, "sms_from": HOTLINE_SMS}
    config.setdefault("server", {})["public_url"] = PUBLIC_URL
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    env = {key: value for key, value in os.environ.items() if not key.startswith("TWILIO_")}

    def grievance(*args: str, extra: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", "from bot.cli import main; main()", "--config", str(tmp_path / "config.yaml"), *args],
            capture_output=True, text=True, cwd=tmp_path, timeout=120, env={**env, **(extra or {})},
        )

    assert grievance("init", "--dev-operator-key").returncode == 0
    for environment, line in MISSING_SECRETS:
        result = grievance("forward", extra=environment)
        assert result.returncode == 2, environment
        assert result.stderr.strip().splitlines() == [line]
    assert grievance("forward", extra={"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}).returncode == 0


# ---------------------------------------------------------------- opt-out keywords (STOP / START) and error 21610


@pytest.mark.parametrize(
    ("channel", "body", "opt_out_type", "signal"),
    [
        ("sms", "STOP", "STOP", "STOP"),
        ("sms", "Arret", "STOP", "STOP"),  # a keyword the NGO added in Advanced Opt-Out: Twilio says so
        ("sms", "START", "START", "START"),
        ("sms", "HELP", "HELP", "HELP"),
        ("sms", "stop", None, "STOP"),  # no Advanced Opt-Out: Twilio still opts out on its default words
        ("sms", "  Cancel ", None, "STOP"),
        ("sms", "quit", None, "STOP"),
        ("sms", "END", None, "STOP"),
        ("sms", "unstop", None, "START"),
        ("sms", "stop please", None, None),  # only a whole-message keyword counts
        ("sms", "The supervisor said stop", None, None),
        ("sms", "STOP", "SOMETHING", None),
        ("whatsapp", "STOP", None, None),  # WhatsApp: only what Twilio reports
        ("whatsapp", "STOP", "STOP", "STOP"),
        ("sms", "help", None, "HELP"),  # no Advanced Opt-Out: Twilio still answers HELP and INFO itself
        ("sms", " Info. ", None, None),  # ...on the whole message only, as Twilio matches it
        ("sms", "INFO", None, "HELP"),
        ("sms", "help me please", None, None),
        ("sms", "Aide", "HELP", "HELP"),  # a help keyword the NGO added in Advanced Opt-Out
        ("whatsapp", "HELP", None, None),
        ("whatsapp", "ayuda", "HELP", "HELP"),
    ],
)
def test_opt_out_keywords_are_read_from_twilio_shaped_payloads(channel, body, opt_out_type, signal):
    from channels.twilio_inbound import parse_inbound

    form = sms_payload(WORKER, body) if channel == "sms" else whatsapp_payload(WHATSAPP_WORKER, body)
    if opt_out_type:
        form["OptOutType"] = opt_out_type
    assert parse_inbound(form).opt_out == signal


def _opted_out_rows(hotline: Hotline) -> int:
    from storage.models import OptedOut

    return count(hotline.services, OptedOut)


def _operator_api(hotline: Hotline, path: str, body: dict) -> dict:
    from bot.operator_api import create_operator_app
    from dialogue_support import new_token

    api = create_operator_app(hotline.services).test_client()
    token = new_token(hotline.services, f"desk-{secrets.token_hex(3)}")
    return api.post(path, json=body, headers={"Authorization": f"Bearer {token}"}).get_json()


def _operator_message(hotline: Hotline, case_id: str, text: str = "We called the factory.") -> dict:
    return _operator_api(hotline, f"/v1/cases/{case_id}/messages", {"text": text})


def _operator_status(hotline: Hotline, case_id: str, status: str) -> dict:
    return _operator_api(hotline, f"/v1/cases/{case_id}/status", {"status": status})


def test_stop_opts_the_number_out_its_case_stays_readable_and_start_undoes_it(hotline, fake):
    from dialogue_support import CODE_SHOWN
    from worker_scripts import ENGLISH_INTAKE_CONTACT_YES

    replies = [hotline.sms(text) for text in [*ENGLISH_INTAKE_CONTACT_YES, "1"]]
    code = CODE_SHOWN.findall(replies[-1][-1])[0].replace(" ", "")
    with hotline.services.sessions.begin() as session:
        case_id = session.execute(select(Case.case_id)).scalar_one()
    stop = sms_payload(WORKER, "STOP")
    stop["OptOutType"] = "STOP"
    assert messages_of(hotline.post(stop)) == []  # Twilio answers STOP itself; nothing from us
    assert _opted_out_rows(hotline) == 1
    answer = _operator_message(hotline, case_id)
    assert (answer["delivery"], answer["why"]) == ("kept_for_status", "opted_out")
    assert count(hotline.services, OutboundMessage) == 0 and fake.messages == []
    status = hotline.sms(f"STATUS {code}")  # still readable (the reply is TwiML: Twilio drops it while opted out)
    assert "We called the factory." in "\n".join(status)
    start = sms_payload(WORKER, "START")
    start["OptOutType"] = "START"
    assert messages_of(hotline.post(start)) == []
    assert _opted_out_rows(hotline) == 0
    answer = _operator_message(hotline, case_id)
    assert (answer["delivery"], answer["why"]) == ("sent_to_channel", "sent_to_channel")
    hotline.services.dispatcher.close()
    hotline.services.dispatcher.run_once()
    assert [form["To"] for form in fake.messages] == [WORKER]


def test_start_from_a_number_that_never_opted_out_is_an_ordinary_first_message(hotline):
    replies = hotline.sms("start")
    assert replies and "1" in replies[0]  # the welcome and the language menu
    assert _opted_out_rows(hotline) == 0


def test_error_21610_marks_the_number_opted_out_and_nothing_more_is_tried(hotline, fake):
    fake.fail_next(400, 21610, f"Attempt to send to unsubscribed recipient {WORKER}")
    queue_message(hotline, "An officer has answered you.")
    assert hotline.services.dispatcher.run_once().dead == 1
    assert _opted_out_rows(hotline) == 1
    tried = len(fake.messages)
    queue_message(hotline, "A second message.")
    assert hotline.services.dispatcher.run_once().dead == 1
    assert len(fake.messages) == tried  # not even tried: it would be a paid failure
    rows = outbound_rows(hotline)
    assert all(row.state == "dead" and WORKER not in (row.last_error or "") for row in rows)
    assert rows[-1].last_error == "SendError: twilio recipient opted out"


def test_a_late_21610_in_a_status_callback_opts_the_number_out_too(hotline, fake):
    _, path = _send_one(hotline, fake)
    assert _status(hotline, path, "failed", "21610").status_code == 204
    assert _opted_out_rows(hotline) == 1


def test_an_opt_in_word_that_answers_the_bot_opts_back_in_and_is_not_lost(hotline):
    hotline.sms("hi")
    hotline.sms("1")  # English: the consent question is asked next
    stop = sms_payload(WORKER, "STOP")
    stop["OptOutType"] = "STOP"
    assert messages_of(hotline.post(stop)) == []
    assert _opted_out_rows(hotline) == 1
    replies = hotline.sms("yes")  # Twilio's default opt-in word, and the worker's answer to consent
    assert _opted_out_rows(hotline) == 0
    assert any(hotline.services.catalogs.text("en", "ask.description") in reply for reply in replies)


# ---------------------------------------------------------------- HELP and INFO: Twilio's help keywords on SMS


def _at_the_description(hotline: Hotline, channel: str = "sms") -> list[str]:
    """Bring the worker to the description question in English; the bot's own help there, as MENU asks for it."""
    say = hotline.sms if channel == "sms" else hotline.whatsapp
    for text in ENGLISH_INTAKE[:3]:
        say(text)
    return say("menu")


@pytest.mark.parametrize(
    ("channel", "body", "opt_out_type"),
    [
        ("sms", "HELP", None),  # Twilio's default help words, without Advanced Opt-Out: Twilio answered too
        ("sms", "info", None),
        ("sms", "HELP", "HELP"),  # with Advanced Opt-Out Twilio says so
        ("sms", "Aide", "HELP"),  # a help keyword the NGO added there: still the bot's help, not an answer
        ("sms", "MENU", None),  # the word the bot names on SMS
        ("whatsapp", "HELP", None),
        ("whatsapp", "Aide", "HELP"),
    ],
)
def test_a_help_keyword_gets_the_bots_own_help_once_and_adds_nothing(hotline, channel, body, opt_out_type):
    menu_help = _at_the_description(hotline, channel)
    assert menu_help[0].startswith("Send BACK to go back")
    sender = WORKER if channel == "sms" else WHATSAPP_WORKER
    form = (sms_payload if channel == "sms" else whatsapp_payload)(sender, body)
    if opt_out_type:
        form["OptOutType"] = opt_out_type
    assert messages_of(hotline.post(form)) == menu_help  # one help, the same as MENU gives
    assert _opted_out_rows(hotline) == 0
    # The worker's next message is still the description: the keyword answered nothing.
    say = hotline.sms if channel == "sms" else hotline.whatsapp
    assert any("Is this about" in part for part in say(ENGLISH_INTAKE[3]))


@pytest.mark.parametrize(
    ("channel", "named", "never"),
    [
        ("sms", "MENU", ("HELP", "INFO")),  # Twilio would answer HELP itself, with a text that invites STOP
        ("whatsapp", "HELP", ()),
    ],
)
def test_on_sms_the_bot_names_menu_for_help_and_elsewhere_help(hotline, channel, named, never):
    say = hotline.sms if channel == "sms" else hotline.whatsapp
    for text in ENGLISH_INTAKE[:2]:
        say(text)
    unknown = say("/foo")[0].split("\n\n")[0]  # the turn's texts are one message, the question after it
    assert unknown == hotline.services.catalogs.text("en", "error.unknown_command", help=named)
    assert not any(word in unknown.split() for word in never)


# ---------------------------------------------------------------- the GSM-7 fold on every SMS, not only TwiML

FOLD_CASES = [
    # (the case's language, what the operator writes, what the SMS body must hold)
    ("vi", "Chúng tôi đã gọi cho nhà máy.", "Chung toi da goi cho nhà may."),
    ("es", "Llamamos a la fábrica el miércoles, ¿sí?", "Llamamos a la fabrica el miércoles, ¿si?"),
    ("en", "We called the factory – “today”.", "We called the factory – “today”."),  # not in gsm7_fold
    ("bn", "Chúng tôi đã gọi cho nhà máy.", "Chúng tôi đã gọi cho nhà máy."),
]


def _case_in(hotline: Hotline, language: str) -> str:
    """A confirmed SMS case whose worker agreed to be contacted, read in `language`."""
    from dialogue_support import confirm_case

    case_id, _ = confirm_case(hotline.services, WORKER, adapter="twilio", contact="yes")
    with hotline.services.sessions.begin() as session:
        session.execute(update(Case).where(Case.case_id == case_id).values(language=language))
    return case_id


def _sent_bodies(hotline: Hotline, fake: FakeTwilio) -> list[str]:
    hotline.services.dispatcher.close()
    hotline.services.dispatcher.run_once()
    return [form["Body"] for form in fake.messages]


@pytest.mark.parametrize(("language", "written", "body"), FOLD_CASES, ids=[row[0] for row in FOLD_CASES])
def test_an_operator_message_by_sms_is_folded_for_the_languages_of_gsm7_fold(make_hotline, fake, language, written, body):
    from channels.sms_segments import fold_to_gsm7, is_gsm7

    hotline = make_hotline(gsm7_fold=["vi", "es"])
    case_id = _case_in(hotline, language)
    assert _operator_message(hotline, case_id, written)["delivery"] == "sent_to_channel"
    (sent,) = _sent_bodies(hotline, fake)
    assert body in sent
    if language in ("vi", "es"):
        assert is_gsm7(sent) and sent == fold_to_gsm7(sent)  # the catalog's wording around it too
    else:
        assert not is_gsm7(sent)


@pytest.mark.parametrize(("language", "folded"), [("vi", True), ("es", True), ("bn", False)])
def test_a_status_notice_and_its_retry_after_a_failed_delivery_are_folded_too(make_hotline, fake, language, folded):
    from channels.sms_segments import fold_to_gsm7

    hotline = make_hotline(gsm7_fold=["vi", "es"])
    case_id = _case_in(hotline, language)
    assert _operator_status(hotline, case_id, "in_review")["worker_notified"] is True
    (notice,) = _sent_bodies(hotline, fake)
    from nlu.keywords import display_word

    unfolded = hotline.services.catalogs.text(language, "dialogue.status_changed", status=display_word("status", language))
    assert notice == (fold_to_gsm7(unfolded) if folded else unfolded)
    # Twilio reports a retryable failure: the message goes out again from its watch, as folded.
    (watch,) = outbound_rows(hotline)
    callback = fake.messages[0]["StatusCallback"]
    assert _status(hotline, callback[len(PUBLIC_URL):], "undelivered", "30003").status_code == 204
    make_due(hotline)
    hotline.services.dispatcher.run_once()
    assert [form["Body"] for form in fake.messages] == [notice, notice]
    assert watch.id not in {row.id for row in outbound_rows(hotline) if row.state == "pending"}


# ---------------------------------------------------------------- per-chat order and DELETE (second security audit)


def test_messages_from_two_workers_reach_the_number_in_the_order_they_were_queued(make_hotline, fake):
    first, second = make_hotline().services, make_hotline().services  # two web workers on one database
    fake.create_delay = lambda form: 0.8 if form.get("Body") == "An officer has read your report." else 0.0
    with first.sessions.begin() as session:
        older = enqueue(session, first.secrets, ReplyAddress("twilio", "sms", WORKER, last_inbound_at=exact_now()),
                        "An officer has read your report.")
    first.dispatcher.kick((older,))  # as the operator API does once its transaction has committed
    time.sleep(0.3)
    with second.sessions.begin() as session:
        newer = enqueue(session, second.secrets, ReplyAddress("twilio", "sms", WORKER, last_inbound_at=exact_now()),
                        "Your case is now in review.")
    second.dispatcher.kick((newer,))
    wait_until(lambda: len(fake.messages) >= 2)
    settle(first, second)
    assert [form["Body"] for form in fake.messages] == ["An officer has read your report.", "Your case is now in review."]


def test_a_message_waiting_for_a_retry_holds_back_the_next_and_delete_cancels_what_is_queued(hotline, fake):
    for text in ENGLISH_INTAKE[:4]:
        hotline.sms(text)
    watched, path = _send_one(hotline, fake)  # accepted by Twilio, watched for delivery
    fake.fail_next(500, 20500, "Internal Server Error")
    queue_message(hotline, "An officer has read your report.")
    hotline.services.dispatcher.run_once()  # refused: waits for a retry
    queue_message(hotline, "Your case is now in review.")
    hotline.services.dispatcher.run_once()
    assert [form["Body"] for form in fake.messages][2:] == [], "the newer message waits behind the older one"
    (question,) = hotline.sms("DELETE")
    assert question.startswith("Erase your unfinished report?")
    assert _status(hotline, path, "undelivered", "30003").status_code == 204  # a delivery failure after DELETE
    make_due(hotline)
    hotline.services.dispatcher.run_once()
    assert len(fake.messages) == 2, "nothing queued before DELETE goes out after its answer, not even a retry"
    assert outbound_rows(hotline) == []


def test_the_rest_of_a_long_sms_goes_before_a_message_queued_after_it(hotline, fake):
    fake.fail_at[2] = (503, 20503, "Service unavailable")
    queue_message(hotline, LONG_ENGLISH)
    hotline.services.dispatcher.run_once()  # the first part is out, the rest waits for a retry
    queue_message(hotline, "Your case is now in review.")
    hotline.services.dispatcher.run_once()
    assert "Your case is now in review." not in [form["Body"] for form in fake.messages]
    make_due(hotline)
    hotline.services.dispatcher.run_once()
    bodies = [form["Body"] for form in fake.messages]
    assert bodies[-1] == "Your case is now in review." and len(bodies) == 4
