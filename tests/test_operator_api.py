"""The operator API: deny by default, tokens kept only hashed, clear 4xx for bad input, delivery to the worker.

The app is the real one (bot/operator_api.py); outbound messages go through the real
adapters to fake providers on 127.0.0.1 (tests/fake_telegram.py, tests/fake_twilio.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.operator_api import create_operator_app
from desk.operator_client import OperatorApiError, push_status
from bot.messages import InboundMessage
from bot.services import build_services
from databases import ON_POSTGRES, needles_in_database
from dialogue_support import LiveOperatorApi, confirm_case, expire_reply_address, new_token, set_last_inbound
from fake_telegram import FakeTelegramServer
from fake_twilio import FakeTwilio
from leak_scan import needles_in_tree
from storage import crypto
from storage.api_tokens import ApiTokens
from storage.cases import CaseStore
from storage.db import utcnow
from storage.keys import init_keys
from storage.models import ApiToken, Case, CaseMessage, OutboundMessage

TELEGRAM_TOKEN = "4242000001:fake-token-QwErTy"
CHAT = 555000222
ACCOUNT_SID = "AC" + "3f9a1c0de2b44f6a8e7d5c1b0a9f8e7d"
AUTH_TOKEN = "7c2e9d4b1a8f6e3c5d0b9a7f2e4c6d81"
TEMPLATE_SID = "HX" + "0123456789abcdef0123456789abcdef"
WHATSAPP_WORKER = "+8801822000111"
OPERATOR_TEXT = "We spoke to the factory; please tell us if the wages arrive"


@pytest.fixture
def api(services):
    return create_operator_app(services).test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ours(captured_logs) -> str:
    """Everything the hotline's own loggers said (libraries' DEBUG records are the logging filter's business)."""
    return "\n".join(
        record.getMessage() + str(record.__dict__)
        for record in captured_logs.records
        if record.name.split(".")[0] in ("bot", "storage", "channels")
    )


def count(services, model) -> int:
    with services.sessions.begin() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# ---------------------------------------------------------------- deny by default


def _revoked(services) -> str:
    token = new_token(services, "gone")
    ApiTokens(services.sessions, services.secrets).revoke("gone")
    return token


def _expired(services) -> str:
    token = new_token(services, "old", timedelta(days=1))
    with services.sessions.begin() as session:
        session.execute(update(ApiToken).where(ApiToken.name == "old").values(expires_at=utcnow() - timedelta(minutes=1)))
    return token


def _wrong_secret(services) -> str:
    token = new_token(services, "real")
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


REFUSED = {
    "no header": lambda services: {},
    "empty bearer": lambda services: {"Authorization": "Bearer "},
    "wrong scheme": lambda services: {"Authorization": "Basic " + new_token(services, "basic")},
    "token without scheme": lambda services: {"Authorization": new_token(services, "bare")},
    "garbage token": lambda services: bearer("not-a-token"),
    "unknown token of the right shape": lambda services: bearer(crypto.new_api_token()[1]),
    "right id, wrong secret": lambda services: bearer(_wrong_secret(services)),
    "revoked": lambda services: bearer(_revoked(services)),
    "expired": lambda services: bearer(_expired(services)),
}
ROUTES = [
    ("post", "/v1/cases/00000000-0000-0000-0000-000000000000/messages", {"text": "hello"}),
    ("post", "/v1/cases/00000000-0000-0000-0000-000000000000/status", {"status": "closed"}),
    ("get", "/v1/replies", None),
    ("post", "/v1/replies/00000000-0000-0000-0000-000000000000/ack", None),
    ("get", "/no/such/route", None),
    ("get", "/health", None),
]


@pytest.mark.parametrize("case", list(REFUSED))
def test_every_route_refuses_a_request_without_a_valid_token(services, api, case):
    headers = REFUSED[case](services)
    for method, path, body in ROUTES:
        response = getattr(api, method)(path, json=body, headers=headers)
        assert response.status_code == 401, (case, path)
        assert response.get_json() == {"error": "unauthorized"}
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert count(services, CaseMessage) == 0


def test_a_valid_token_passes_and_unknown_routes_are_404_only_then(services, api):
    token = new_token(services)
    assert api.get("/v1/replies", headers=bearer(token)).get_json() == {"replies": []}
    assert api.get("/no/such/route", headers=bearer(token)).status_code == 404


def test_tokens_are_compared_in_constant_time(services, api, monkeypatch):
    calls = []
    real = crypto.constant_time_equal

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(crypto, "constant_time_equal", spy)
    token = new_token(services)
    assert api.get("/v1/replies", headers=bearer(token)).status_code == 200
    assert api.get("/v1/replies", headers=bearer(_wrong_secret(services))).status_code == 401
    assert api.get("/v1/replies", headers=bearer(crypto.new_api_token()[1])).status_code == 401  # unknown id: compared too
    assert calls == [(64, 64)] * 3


def test_a_token_is_never_stored_in_the_clear(services, settings):
    tokens = ApiTokens(services.sessions, services.secrets)
    token = tokens.create("desk")[1]
    secret_part = token.rsplit("_", 1)[1]
    with services.sessions.begin() as session:
        (row,) = session.execute(select(ApiToken)).scalars().all()
        assert row.token_hash == crypto.api_token_hash(services.secrets, token) and token not in row.token_hash
    tokens.revoke("desk")
    services.db.dispose()
    if ON_POSTGRES:
        assert needles_in_database(settings.database_url, [token, secret_part]) == []
    else:
        assert needles_in_tree(settings.data_dir, [token, secret_part]) == []


def test_token_names_are_unique_and_listing_never_shows_a_token(services):
    tokens = ApiTokens(services.sessions, services.secrets)
    token = tokens.create("desk", timedelta(days=30))[1]
    with pytest.raises(Exception, match="exists already"):
        tokens.create("desk")
    (info,) = tokens.list()
    assert info.name == "desk" and info.state(datetime.now(UTC)) == "active"
    assert token not in repr(info)


# ---------------------------------------------------------------- bad input: clear 4xx, never 500


BAD = [
    ("post", "/v1/cases/{case}/messages", {"data": b"not json", "content_type": "application/json"}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": ["text"]}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": {}}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": {"text": ""}}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": {"text": "   "}}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": {"text": 42}}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": {"text": "x" * 1001}}, 400),
    ("post", "/v1/cases/{case}/messages", {"data": "x" * 40_000, "content_type": "application/json"}, 413),
    ("post", "/v1/cases/{case}/messages", {"data": "text=hi"}, 400),
    # Control characters: \x0b made every STATUS reply over Twilio unparsable XML; ESC drives terminals.
    ("post", "/v1/cases/{case}/messages", {"json": {"text": "wages\x0barrived?"}}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": {"text": "wages \x1b[2J arrived?"}}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": {"text": "nul\x00"}}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": {"text": "c1 \x85 next line"}}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": {"text": "DEL \x7f"}}, 400),
    ("post", "/v1/cases/{case}/messages", {"data": '{"text": "lone \\ud800 surrogate"}', "content_type": "application/json"}, 400),
    ("post", "/v1/cases/{case}/messages", {"json": {"text": "not a character \uffff"}}, 400),
    ("post", "/v1/cases/00000000-0000-0000-0000-000000000000/messages", {"json": {"text": "hi"}}, 404),
    ("post", "/v1/cases/not-a-case/messages", {"json": {"text": "hi"}}, 404),
    ("post", "/v1/cases/{case}/status", {"json": {"status": "done"}}, 400),
    ("post", "/v1/cases/{case}/status", {"json": {"status": None}}, 400),
    ("post", "/v1/cases/{case}/status", {"json": {}}, 400),
    ("post", "/v1/cases/00000000-0000-0000-0000-000000000000/status", {"json": {"status": "closed"}}, 404),
    ("get", "/v1/replies?limit=0", {}, 400),
    ("get", "/v1/replies?limit=abc", {}, 400),
    ("get", "/v1/replies?limit=1000", {}, 400),
    ("post", "/v1/replies/00000000-0000-0000-0000-000000000000/ack", {}, 404),
    ("post", "/v1/replies/nope/ack", {}, 404),
    ("get", "/v1/cases/{case}/messages", {}, 405),
]


@pytest.mark.parametrize(("method", "path", "options", "status"), BAD)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(services, api, method, path, options, status):
    case_id, _ = confirm_case(services, "+8801711000123")
    response = getattr(api, method)(path.format(case=case_id), headers=bearer(new_token(services)), **options)
    assert response.status_code == status
    assert isinstance(response.get_json()["error"], str) and b"Traceback" not in response.data
    assert count(services, CaseMessage) == 0 and count(services, OutboundMessage) == 0
    with services.sessions.begin() as session:
        assert session.execute(select(Case.status)).scalar_one() == "received"


# ---------------------------------------------------------------- messages and status on a case


def test_a_message_is_kept_encrypted_and_the_worker_reads_it_on_status(services, api, send):
    case_id, code = confirm_case(services, "+8801711000124", contact="yes")
    expire_reply_address(services, case_id, utcnow())
    response = api.post(f"/v1/cases/{case_id}/messages", json={"text": OPERATOR_TEXT}, headers=bearer(new_token(services)))
    assert response.status_code == 201
    assert response.get_json() == {"case_id": case_id, "delivery": "kept_for_status", "why": "address_expired"}
    assert count(services, OutboundMessage) == 0  # the address is no longer held: nothing to send to
    with services.sessions.begin() as session:
        (row,) = session.execute(select(CaseMessage)).scalars().all()
        assert OPERATOR_TEXT.encode() not in row.body
    replies = send("someone-with-the-code", f"STATUS {code}", channel="telegram")
    assert OPERATOR_TEXT in replies[0]


def test_a_status_change_is_seen_on_status_and_the_worker_is_told(services, api, send):
    case_id, code = confirm_case(services, "+8801711000125", contact="yes")
    token = new_token(services)
    response = api.post(f"/v1/cases/{case_id}/status", json={"status": "in_review"}, headers=bearer(token))
    assert response.get_json() == {
        "case_id": case_id, "status": "in_review", "changed": True, "worker_notified": True, "delivery": "sent_to_channel",
        "why": "sent_to_channel",
    }
    again = api.post(f"/v1/cases/{case_id}/status", json={"status": "in_review"}, headers=bearer(token))
    assert again.get_json()["changed"] is False and again.get_json()["worker_notified"] is False
    t = services.catalogs.text
    replies = send("another-phone", f"STATUS {code}", channel="whatsapp")
    assert t("en", "case_status.in_review") in replies[0]


def test_push_status_goes_through_the_real_api_over_http(services, settings_with, monkeypatch):
    case_id, _ = confirm_case(services, "+8801711000126")
    server = LiveOperatorApi(services)
    try:
        monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", new_token(services))
        client_settings = settings_with(operator_client={"url": server.url})
        assert push_status(client_settings, case_id, "acknowledged")["changed"] is True
        with pytest.raises(OperatorApiError, match="HTTP 400"):
            push_status(client_settings, case_id, "archived")
        with pytest.raises(OperatorApiError, match="HTTP 404"):
            push_status(client_settings, "00000000-0000-0000-0000-000000000000", "closed")
        monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", "grv_000000000000_" + "x" * 43)
        with pytest.raises(OperatorApiError, match="HTTP 401"):
            push_status(client_settings, case_id, "closed")
    finally:
        server.close()
    with services.sessions.begin() as session:
        assert session.get(Case, case_id).status == "acknowledged"


# ---------------------------------------------------------------- delivery on the worker's own channel


@pytest.fixture
def telegram_services(settings_with, monkeypatch):
    with FakeTelegramServer(TELEGRAM_TOKEN) as fake:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
        monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "hook-secret-0123456789abcdefABCDEF")
        telegram = {"enabled": True, "base_url": fake.url + "/bot", "base_file_url": fake.url + "/file/bot",
                    "rate": {"messages_per_second": 1000, "per_address_interval_seconds": 0}}
        settings = settings_with(channels={"telegram": telegram})
        init_keys(settings, dev_operator_key=True)
        built = build_services(settings)
        yield built, fake
        built.close()


def test_a_message_reaches_the_worker_on_telegram_at_once(telegram_services, captured_logs):
    services, fake = telegram_services
    case_id, _ = confirm_case(services, str(CHAT), channel="telegram", adapter="telegram", contact="yes")
    services.dispatcher.run_once()  # the intake's own replies
    before = len(fake.sent(CHAT))
    token = new_token(services)
    api = create_operator_app(services).test_client()
    response = api.post(f"/v1/cases/{case_id}/messages", json={"text": OPERATOR_TEXT}, headers=bearer(token))
    assert response.get_json()["delivery"] == "sent_to_channel"
    fake.wait_for(lambda: len(fake.sent(CHAT)) > before, what="the operator's message")  # sent by the dispatcher's kick
    text = fake.sent(CHAT)[-1]["text"]
    # The team's words, and how to answer: on the same chat, no code needed (issue 19).
    assert text == services.catalogs.text("en", "dialogue.operator_message", message=OPERATOR_TEXT)
    logged = ours(captured_logs)
    assert OPERATOR_TEXT not in logged and token not in logged and str(CHAT) not in logged


@pytest.fixture
def twilio_services(settings_with, monkeypatch):
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    twilio = {"enabled": True, "sms_from": "+15550100000", "whatsapp_from": "whatsapp:+15550100001",
              "whatsapp_template_sid": TEMPLATE_SID, "api_base_url": fake.url, "rate": {"messages_per_second": 1000}}
    settings = settings_with(channels={"twilio": twilio}, server={"public_url": "https://hotline.example.org"})
    init_keys(settings, dev_operator_key=True)
    built = build_services(settings)
    yield built, fake
    built.close()
    fake.close()


@pytest.mark.parametrize(("last_wrote", "expect"), [(timedelta(hours=2), "text"), (timedelta(hours=30), "template")])
def test_whatsapp_gets_the_text_inside_24_hours_and_the_template_after(twilio_services, last_wrote, expect):
    services, fake = twilio_services
    case_id, _ = confirm_case(services, WHATSAPP_WORKER, channel="whatsapp", adapter="twilio", contact="yes")
    services.dispatcher.run_once()
    set_last_inbound(services, case_id, datetime.now(UTC) - last_wrote)
    before = len(fake.messages)
    api = create_operator_app(services).test_client()
    response = api.post(f"/v1/cases/{case_id}/messages", json={"text": OPERATOR_TEXT}, headers=bearer(new_token(services)))
    assert response.get_json()["delivery"] == "sent_to_channel"
    services.dispatcher.close()  # waits for the kick
    services.dispatcher.run_once()
    (form,) = fake.messages[before:]
    assert form["To"] == "whatsapp:" + WHATSAPP_WORKER
    if expect == "text":
        assert OPERATOR_TEXT in form["Body"] and "ContentSid" not in form
    else:
        assert form["ContentSid"] == TEMPLATE_SID and "Body" not in form  # never the text outside the window
    with services.sessions.begin() as session:  # kept for STATUS either way
        assert len(CaseStore(session, services.secrets).find_by_code(confirm_code_of(services, case_id))[1]) == 1


def confirm_code_of(services, case_id):  # the code is only a blind index on the server: find it from the sealed case
    from engine_support import sealed_cases

    return next(case["code"] for case in sealed_cases(services) if case["case_id"] == case_id)


def test_logs_of_the_api_hold_no_text_token_or_address(services, api, captured_logs):
    case_id, _ = confirm_case(services, "+8801711000127")
    token = new_token(services)
    api.post(f"/v1/cases/{case_id}/messages", json={"text": OPERATOR_TEXT}, headers=bearer(token))
    api.post(f"/v1/cases/{case_id}/messages", json={"text": OPERATOR_TEXT}, headers=bearer(token + "x"))
    logged = ours(captured_logs)
    assert OPERATOR_TEXT not in logged and token not in logged and "+8801711000127" not in logged
    assert any(record.getMessage() == "operator api: request refused (no valid token)" for record in captured_logs.records)


def test_api_token_commands_create_once_list_and_revoke(services, settings, api):
    from click.testing import CliRunner

    from bot.cli import cli

    def grievance(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), obj={"settings": settings}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    created = grievance("api-token", "create", "ngo-desk", "--expires-days", "90")
    token = created.strip().splitlines()[-1]
    assert crypto.api_token_id(token) is not None
    assert api.get("/v1/replies", headers=bearer(token)).status_code == 200
    listed = grievance("api-token", "list")
    assert "ngo-desk" in listed and "active" in listed and token not in listed
    assert "revoked" in grievance("api-token", "revoke", "ngo-desk")
    assert api.get("/v1/replies", headers=bearer(token)).status_code == 401
    assert "revoked" in grievance("api-token", "list")
    again = CliRunner().invoke(cli, ["api-token", "revoke", "nobody"], obj={"settings": settings})
    assert again.exit_code == 1 and "no token named 'nobody'" in again.output


def test_news_reaches_the_worker_in_the_language_of_the_case(telegram_services):
    from bot.messages import InboundMessage
    from worker_scripts import BENGALI_INTAKE

    services, fake = telegram_services
    for text in [*BENGALI_INTAKE[:-2], "হ্যাঁ", "না", "১"]:  # yes to contact, no to telling the company
        services.intake.receive(InboundMessage(channel="telegram", sender=str(CHAT), text=text, adapter="telegram"), queue_replies=True)
    services.dispatcher.run_once()
    with services.sessions.begin() as session:
        case_id = session.execute(select(Case.case_id)).scalar_one()
    api = create_operator_app(services).test_client()
    token = new_token(services)
    before = len(fake.sent(CHAT))
    assert api.post(f"/v1/cases/{case_id}/status", json={"status": "acknowledged"}, headers=bearer(token)).get_json()["worker_notified"]
    fake.wait_for(lambda: len(fake.sent(CHAT)) > before, what="the status notice")
    t = services.catalogs.text
    assert fake.sent(CHAT)[-1]["text"] == t("bn", "dialogue.status_changed", status=services.intake.conversation.word("status", "bn"))


@pytest.mark.parametrize("text", ["Line one\nline two\twith a tab", "Windows line\r\nends"])
def test_newlines_and_tabs_in_an_operator_message_are_kept(services, api, send, text):
    case_id, code = confirm_case(services, "+8801711000127")
    response = api.post(f"/v1/cases/{case_id}/messages", json={"text": text}, headers=bearer(new_token(services)))
    assert response.status_code == 201
    replies = send("someone-with-the-code", f"STATUS {code}", channel="telegram")
    assert text.replace("\r\n", "\n") in replies[0]


def test_status_over_twilio_stays_parsable_xml_when_a_stored_message_holds_forbidden_characters(twilio_services):
    """A message kept before the API refused control characters (or by another tool) never breaks TwiML."""
    from test_channel_twilio import PUBLIC_URL, messages_of, sign, sms_payload

    services, _ = twilio_services
    case_id, code = confirm_case(services, "+8801711000128")
    with services.sessions.begin() as session:
        CaseStore(session, services.secrets).add_message(case_id, "Did the wages\x0b arrive\x00?\ufffe", utcnow())
    client = services_app(services)
    form = sms_payload("+8801711000129", f"STATUS {code}")
    response = client.post("/webhooks/twilio", data=form, headers={"X-Twilio-Signature": sign(PUBLIC_URL + "/webhooks/twilio", form)})
    text = "\n".join(messages_of(response))  # parses as XML 1.0
    assert "Did the wages arrive?" in text


def services_app(services):
    from bot.app import create_app

    return create_app(services).test_client()


# ---------------------------------------------------------------- consent: NO to contact is honoured end to end


def _address_row(services, case_id):
    with services.sessions.begin() as session:
        case = session.get(Case, case_id)
        return case.contact_allowed, case.reply_address, case.reply_address_expires_at


@pytest.mark.parametrize(("contact", "allowed", "delivery", "why"), [
    ("no", False, "kept_for_status", "contact_declined"),
    ("yes", True, "sent_to_channel", "sent_to_channel"),
])
def test_only_a_yes_to_contact_lets_messages_and_notices_reach_the_phone(telegram_services, contact, allowed, delivery, why):
    services, fake = telegram_services
    case_id, code = confirm_case(services, str(CHAT), channel="telegram", adapter="telegram", contact=contact)
    services.dispatcher.run_once()  # the intake's own replies (the summary, the case code)
    stored_allowed, address, expires = _address_row(services, case_id)
    assert stored_allowed is allowed and (address is not None) is allowed and (expires is not None) is allowed
    before = len(fake.sent(CHAT))
    api = create_operator_app(services).test_client()
    token = new_token(services)
    message = api.post(f"/v1/cases/{case_id}/messages", json={"text": OPERATOR_TEXT}, headers=bearer(token)).get_json()
    status = api.post(f"/v1/cases/{case_id}/status", json={"status": "in_review"}, headers=bearer(token)).get_json()
    assert (message["delivery"], message["why"]) == (delivery, why)
    assert (status["delivery"], status["why"], status["worker_notified"]) == (delivery, why, allowed)
    services.dispatcher.close()  # waits for any kick
    services.dispatcher.run_once()
    pushed = fake.sent(CHAT)[before:]
    assert len(pushed) == (2 if allowed else 0)
    if not allowed:
        assert count(services, OutboundMessage) == 0
    # STATUS from the same chat: the message and the status are there, and no address is stored by it.
    replies = services.intake.receive(InboundMessage(channel="telegram", sender=str(CHAT), text=f"STATUS {code}", adapter="telegram")).texts
    assert OPERATOR_TEXT in replies[0] and services.catalogs.text("en", "case_status.in_review") in replies[0]
    assert (_address_row(services, case_id)[1] is not None) is allowed


def test_status_from_the_same_phone_never_stores_an_address_after_no(services, send):
    case_id, code = confirm_case(services, "+8801711000131", contact="no")
    for text in (f"STATUS {code}", "the wages came today", "STOP"):
        send("+8801711000131", text)
    assert _address_row(services, case_id) == (False, None, None)
    with services.sessions.begin() as session:  # the answer went to the operator all the same
        assert len(CaseStore(session, services.secrets).pending_answers(10)) == 1


def test_the_consent_question_says_when_the_hotline_may_write(services):
    for lang in services.settings.deployment.languages:
        ask = services.catalogs.text(lang, "ask.contact_consent")
        assert "STATUS" in ask.upper() or services.intake.conversation.word("status", lang) in ask, lang


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ({"delivery": "sent_to_channel", "why": "sent_to_channel"}, "sent to the worker of"),
        ({"delivery": "kept_for_status", "why": "contact_declined"}, "NOT sent to the worker of C1: the worker asked not to be contacted"),
        ({"delivery": "kept_for_status", "why": "address_expired"}, "no longer holds their reply address"),
        ({"delivery": "kept_for_status", "why": "opted_out"}, "opted out of messages from the hotline (STOP)"),
        ({"changed": False, "worker_notified": False, "why": "unchanged"}, "the status was already set"),
        ({"changed": True, "worker_notified": True}, "sent to the worker of"),  # a server from before `why`
        ({"delivery": "kept_for_status"}, "NOT sent"),
    ],
)
def test_the_cli_says_plainly_whether_the_worker_got_it(answer, says):
    from desk.operator_client import delivery_sentence

    sentence = delivery_sentence(answer, "C1")
    assert says in sentence and "\n" not in sentence
    if "NOT sent" in sentence:
        assert "STATUS and their case code" in sentence
