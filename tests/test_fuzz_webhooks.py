"""Bad input at the doors: property-based and bounded fuzzing of every webhook and of the NLU.

Hypothesis generates random and malformed bodies, broken encodings, wrong
content types, huge bodies, and replayed or reordered deliveries of real
provider payloads. Whatever arrives, the public app answers with a 2xx or a
4xx, never a 5xx or a traceback; a refused request stores nothing; a replayed
delivery is handled once. The example counts are bounded (`FUZZ_EXAMPLES`) so
the suite stays fast; `GRIEVANCE_FUZZ_EXAMPLES=5000` runs a longer campaign.
"""

from __future__ import annotations

import json
import os
import random
import tracemalloc
from itertools import count as counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from bot.app import create_app
from bot.services import build_services
from fake_graph import FakeGraphServer
from fake_telegram import FakeTelegramServer, text_update
from fake_twilio import FakeTwilio
from nlu import TAXONOMY, detect_language
from storage.keys import init_keys
from storage.models import Case, Conversation, DraftMedia, InboundReceipt, OutboundMessage, OutboxEntry
from test_channel_twilio import ACCOUNT_SID, AUTH_TOKEN, HOTLINE_SMS, HOTLINE_WHATSAPP, PUBLIC_URL, sign, sms_payload
from test_channel_whatsapp_cloud import ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, text as wa_text, webhook
from test_channel_whatsapp_cloud import sign as wa_sign
from test_channel_telegram import FAST, TOKEN, WEBHOOK_SECRET

FUZZ_EXAMPLES = int(os.environ.get("GRIEVANCE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure in CI can be replayed here
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
LANGUAGES = ("en", "bn", "vi", "es", "hi", "ne", "id", "ja", "zh", "km", "my", "tl", "th")
TABLES = (Conversation, InboundReceipt, OutboundMessage, OutboxEntry, Case, DraftMedia)
CONTENT_TYPES = st.sampled_from([
    "application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/form-data; boundary=x",
    "application/xml", "application/x-www-form-urlencoded; charset=latin-1", "application/json; charset=utf-16", "",
])
# Text as hostile as a phone keyboard, a broken gateway or an attacker can make it.
HOSTILE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400) | st.sampled_from([
    "\x00", "\u202e\u202d", "\ufeff", "A" * 20_000, "\U0001f525" * 500, "\x1b[31mred\x1b[0m", "%s%n%x", "' OR 1=1 --",
    "<Response><Message>x</Message></Response>", "STATUS 0000 000 000 0000", "STATUS " + "9" * 400, "DELETE", "\r\n" * 50,
])
RAW_BODIES = st.binary(max_size=4096) | st.sampled_from([
    b"\xff\xfe\x00\x00", b"\xc3\x28", b"%", b"%zz", b"a=%ff%fe", b"Body=%ED%A0%80", b"\x00" * 2048, b"{" * 2000, b"[" * 5000,
])


def counts(services) -> dict[str, int]:
    with services.sessions.begin() as session:
        return {model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one() for model in TABLES}


def assert_nothing_stored(services, before: dict[str, int]) -> None:
    """No table grew. (The dispatcher may meanwhile erase replies it sent for an earlier example,
    so a table may shrink; every stored inbound message would add a receipt or a conversation.)"""
    after = counts(services)
    assert {name: n for name, n in after.items() if n > before[name]} == {}


def assert_no_server_error(response) -> None:
    assert response.status_code < 500, response.status_code
    body = response.get_data()
    assert b"Traceback" not in body and b"File \"" not in body


# ---------------------------------------------------------------- the three channels, enabled together


@pytest.fixture
def hotline(settings_with, monkeypatch):
    """Every provider channel enabled against fake providers on 127.0.0.1, one app in front."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("WHATSAPP_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    with FakeGraphServer(ACCESS_TOKEN, PHONE_NUMBER_ID) as graph, FakeTelegramServer(TOKEN) as telegram:
        settings_ = settings_with(
            server={"public_url": PUBLIC_URL},
            channels={
                "twilio": {"enabled": True, "sms_from": HOTLINE_SMS, "whatsapp_from": HOTLINE_WHATSAPP,
                           "api_base_url": twilio.url, "rate": {"messages_per_second": 1000}},
                "whatsapp_cloud": {"enabled": True, "phone_number_id": PHONE_NUMBER_ID, "graph_base_url": graph.url,
                                   "rate": {"messages_per_second": 1000}},
                "telegram": {"enabled": True, "base_url": telegram.url + "/bot",
                             "base_file_url": telegram.url + "/file/bot", "rate": FAST},
            },
        )
        init_keys(settings_, dev_operator_key=True)
        services = build_services(settings_)
        try:
            yield services, create_app(services).test_client()
        finally:
            services.close()
            twilio.close()


_workers = counter(1)
PATHS = ["/webhooks/twilio", "/webhooks/twilio/status", "/webhooks/whatsapp", "/webhooks/telegram"]


def _headers_for(path: str, raw: bytes, signed: bool) -> dict[str, str]:
    """The authentication each provider would send, over these exact bytes when `signed`."""
    if not signed:
        return {}
    if path == "/webhooks/whatsapp":
        return {"X-Hub-Signature-256": wa_sign(raw)}
    if path == "/webhooks/telegram":
        return {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    return {}  # Twilio signs parsed form fields, not bytes: see the Twilio test below


@FUZZ
@given(path=st.sampled_from(PATHS), raw=RAW_BODIES, content_type=CONTENT_TYPES, signed=st.booleans(),
       method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]))
def test_random_bodies_on_every_webhook_get_a_4xx_or_2xx_and_a_refusal_stores_nothing(hotline, path, raw, content_type, signed, method):
    services, client = hotline
    before = counts(services)
    response = client.open(path, method=method, data=raw, headers={**_headers_for(path, raw, signed), "Content-Type": content_type})
    assert_no_server_error(response)
    if response.status_code >= 400:
        assert_nothing_stored(services, before)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["From", "Body", "MessageSid", "NumMedia", "To", "AccountSid", "WaId",
                                                "MediaUrl0", "MediaContentType0", "SmsSid", "ButtonPayload", "x"]),
                              HOSTILE_TEXT, max_size=8),
       base=st.booleans(), signed=st.booleans())
def test_twilio_forms_with_hostile_fields_never_fail_the_server(hotline, fields, base, signed):
    services, client = hotline
    form = {**(sms_payload("+8801711000000", "hello") if base else {}), **fields}
    # The test client would refuse to form-encode a lone surrogate; the strategy excludes them.
    headers = {"X-Twilio-Signature": sign(PUBLIC_URL + "/webhooks/twilio", form)} if signed else {}
    before = counts(services)
    response = client.post("/webhooks/twilio", data=form, headers=headers)
    assert_no_server_error(response)
    if response.status_code >= 400 or not signed:
        assert_nothing_stored(services, before)
    if signed and base and response.status_code == 200:
        assert response.mimetype == "text/xml"


def _json_values(depth: int = 3):
    leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | HOSTILE_TEXT
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4), max_leaves=12)


def _mutate(document, rng: random.Random, value):
    """Replace one randomly chosen node of a JSON document by `value`."""
    if isinstance(document, dict) and document and rng.random() < 0.7:
        key = rng.choice(sorted(document))
        return {**document, key: _mutate(document[key], rng, value)}
    if isinstance(document, list) and document and rng.random() < 0.7:
        index = rng.randrange(len(document))
        return [*document[:index], _mutate(document[index], rng, value), *document[index + 1:]]
    return value


@FUZZ
@given(value=_json_values(), seed=st.integers(0, 2**32 - 1), channel=st.sampled_from(["whatsapp", "telegram"]))
def test_signed_real_payloads_with_one_node_replaced_never_fail_the_server(hotline, value, seed, channel):
    """A real payload, correctly authenticated, with one field of any type anywhere: 2xx or 4xx, nothing half-stored."""
    services, client = hotline
    rng = random.Random(seed)
    if channel == "whatsapp":
        document = webhook([wa_text("hola, me deben el salario")])
        path = "/webhooks/whatsapp"
    else:
        document = text_update(900_000 + seed % 1000, 555000111, 7, "hello")
        path = "/webhooks/telegram"
    raw = json.dumps(_mutate(document, rng, value), ensure_ascii=False).encode("utf-8", "surrogatepass")
    before = counts(services)
    response = client.post(path, data=raw, headers={**_headers_for(path, raw, True), "Content-Type": "application/json"})
    assert_no_server_error(response)
    if response.status_code >= 400:
        assert_nothing_stored(services, before)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("size", [1024 * 1024 + 1, 20 * 1024 * 1024])
def test_huge_bodies_are_refused_with_413_before_anything_is_read_or_stored(hotline, path, size):
    services, client = hotline
    raw = b"A" * size
    before = counts(services)
    tracemalloc.start()
    try:
        response = client.post(path, data=raw, headers={**_headers_for(path, raw, True), "Content-Type": "application/json"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Twilio's route refuses a request without its signature header before reading the body (403).
    assert response.status_code == (403 if path.startswith("/webhooks/twilio") else 413)
    assert_nothing_stored(services, before)
    # The body is refused by its declared length: the server does not copy it (the test's own
    # `raw` was allocated before tracing started).
    assert peak < 4 * 1024 * 1024


def test_memory_stays_bounded_over_many_hostile_requests(hotline):
    """A thousand malformed requests do not grow the process: each is refused and forgotten."""
    services, client = hotline
    rng = random.Random(7)
    bodies = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 60_000))) for _ in range(20)]

    def burst(n: int) -> None:
        for index in range(n):
            path = PATHS[index % len(PATHS)]
            raw = bodies[index % len(bodies)]
            response = client.post(path, data=raw, headers={**_headers_for(path, raw, index % 3 == 0), "Content-Type": "application/json"})
            assert_no_server_error(response)

    burst(200)  # warm up caches, lazy imports and connection pools
    tracemalloc.start()
    try:
        burst(1000)
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current < 2 * 1024 * 1024, f"{current} bytes still held after 1000 refused requests"


# ---------------------------------------------------------------- replayed and reordered deliveries


@FUZZ
@given(order=st.permutations(list(range(6))), replays=st.lists(st.integers(0, 5), min_size=1, max_size=6))
def test_replayed_and_reordered_twilio_deliveries_are_each_handled_once(hotline, order, replays):
    """Six messages from one worker, delivered in any order with any of them again: six receipts, no 5xx."""
    services, client = hotline
    worker = f"+8801{next(_workers):08d}"  # a new worker each example: conversations don't carry over
    texts = ["hello", "1", "My supervisor has not paid us for two months", "1", "DONE", "STATUS"]
    forms = [sms_payload(worker, texts[i]) for i in range(6)]
    before = counts(services)
    for index in [*order, *replays]:
        form = forms[index]
        response = client.post("/webhooks/twilio", data=form,
                               headers={"X-Twilio-Signature": sign(PUBLIC_URL + "/webhooks/twilio", form)})
        assert_no_server_error(response)
        assert response.status_code == 200
    after = counts(services)
    assert after["inbound_receipts"] - before["inbound_receipts"] == 6
    assert after["cases"] == before["cases"]  # six out-of-order texts cannot confirm a case


@FUZZ
@given(order=st.permutations(list(range(5))), replays=st.lists(st.integers(0, 4), max_size=5))
def test_replayed_and_reordered_telegram_updates_are_each_handled_once(hotline, order, replays):
    services, client = hotline
    serial = next(_workers)
    base, chat = 800_000_000 + serial * 10, 600_000_000 + serial
    updates = [text_update(base + i, chat, 100 + i, t) for i, t in enumerate(["/start", "2", "no pay", "1", "HELP"])]
    before = counts(services)
    for index in [*order, *replays]:
        response = client.post("/webhooks/telegram", data=json.dumps(updates[index]),
                               headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"})
        assert_no_server_error(response)
        assert response.status_code == 200
    assert counts(services)["inbound_receipts"] - before["inbound_receipts"] == 5


# ---------------------------------------------------------------- the NLU


@pytest.fixture(scope="module")
def understander():
    from bot.config import Nlu
    from nlu.backends import make_understander

    return make_understander(Nlu())


@settings(max_examples=FUZZ_EXAMPLES * 5, deadline=None, derandomize=True)
@given(text=HOSTILE_TEXT | st.text(max_size=2000))
def test_the_nlu_answers_any_text_with_a_valid_result(understander, text):
    parsed = understander.understand(text)
    assert parsed.category is None or parsed.category in TAXONOMY
    assert 0.0 <= parsed.confidence <= 1.0
    assert isinstance(parsed.urgent, bool)
    detected = detect_language(text, LANGUAGES)
    assert detected is None or detected in LANGUAGES
