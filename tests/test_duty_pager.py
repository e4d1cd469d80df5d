"""Paging the person on duty: queued with the alert, sent by SMS, Telegram and e-mail, escalated, acknowledged.

The hotline's real intake, database and pager, against the fake Twilio, the fake Telegram and a
fake mail server on loopback; the pager's clock is driven by the test (`run_once(now)`), so ten
minutes of escalation take no time. tests/test_duty_live.py does the same through a running
`grievance serve` and a real browser.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import yaml

from bot.config import ConfigError
from bot.services import build_services
from duty_support import (FIRE_WORDS, SECOND_EMAIL_ACCOUNT, STAFF_EMAIL_ACCOUNT, STAFF_SMS_PHONE, STAFF_TELEGRAM_CHAT,
                          STAFF_WHATSAPP_PHONE, WORKER_PHONE, events, pages, send_alert, write_roster)
from fake_smtp import FakeSmtp
from fake_telegram import FakeTelegramServer
from fake_twilio import FakeTwilio
from storage.duty import PageStore, exact_now, page_duty, parse_ref, shown_ref
from storage.keys import init_keys
from test_channel_twilio import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL

TELEGRAM_TOKEN = "4242000002:fake-duty-token-AsDfGh"
WEBHOOK_SECRET = "duty-hook-secret-0123456789abcdef"
SHOWN_REF = re.compile(r"\b[A-Z0-9]{3}-[A-Z0-9]{3}\b")

ANA = {"name": "Ana (first on call)", "language": "es", "sms": STAFF_SMS_PHONE, "email": STAFF_EMAIL_ACCOUNT}
TEAM = {"name": "Team chat", "telegram": STAFF_TELEGRAM_CHAT}
BO = {"name": "Bo", "language": "en", "email": SECOND_EMAIL_ACCOUNT}


@pytest.fixture
def fakes(monkeypatch):
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    smtp = FakeSmtp()
    with FakeTelegramServer(TELEGRAM_TOKEN) as telegram:
        for name, value in (("TWILIO_ACCOUNT_SID", ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
                            ("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN), ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)):
            monkeypatch.setenv(name, value)
        yield twilio, telegram, smtp
    twilio.close()
    smtp.close()


@pytest.fixture
def hotline(settings_with, fakes, deployment_dir):
    """hotline(people, **duty) -> services of a deployment with SMS, Telegram and e-mail pages against the fakes."""
    twilio, telegram, smtp = fakes
    built = []

    def build(people: list[dict], **duty):
        write_roster(deployment_dir, people)
        settings = settings_with(
            channels={"twilio": {"enabled": True, "sms_from": "+15550100000", "whatsapp_from": "whatsapp:+15550100001",
                                 "api_base_url": twilio.url, "rate": {"messages_per_second": 1000}},
                      "telegram": {"enabled": True, "base_url": telegram.url + "/bot", "base_file_url": telegram.url + "/file/bot"}},
            server={"public_url": PUBLIC_URL},
            duty={"enabled": True, "roster": {"file": "keys/duty-roster.yaml"}, "escalate_after_minutes": 10,
                  "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "from_address": "pager@ngo.example.org"},
                  **duty},
        )
        init_keys(settings, dev_operator_key=True)
        services = build_services(settings)
        built.append(services)
        return services

    yield build
    for services in built:
        services.close()


def ours(captured_logs, level: int = logging.DEBUG) -> str:
    """What the hotline's own code logged (libraries' records are dropped by its privacy filter: bot/logs.py)."""
    return "\n".join(r.getMessage() for r in captured_logs.records if r.name.startswith(("bot", "channels", "storage")) and r.levelno >= level)


def staff_sms(twilio: FakeTwilio, number: str = STAFF_SMS_PHONE) -> list[dict]:
    return [form for form in twilio.messages if form.get("To") == number]


def assert_says_nothing_of_the_case(text: str, ref: str) -> None:
    assert shown_ref(ref) in text
    for word in FIRE_WORDS:
        assert word not in text, word
    assert WORKER_PHONE.lstrip("+") not in text
    assert not re.search(r"\d{4} ?\d{3} ?\d{3} ?\d{4}", text), "no case code"


def test_an_alert_queues_its_page_in_the_same_transaction_and_once_per_case(hotline):
    services = hotline([ANA])
    from bot.messages import InboundMessage

    def send(sender, text, channel):
        return list(services.intake.receive(InboundMessage(channel=channel, sender=sender, text=text)).texts)

    send_alert(send)
    (page,) = pages(services)
    assert page.state == "open" and page.reason == "alert" and page.step == 0 and page.case_id
    assert [e.kind for e in events(services, page.ref)] == ["queued"]
    assert parse_ref(shown_ref(page.ref)) == page.ref and parse_ref(shown_ref(page.ref).lower()) == page.ref
    # Danger again on the same case while nobody acknowledged: the same page, nobody paged twice.
    with services.sessions.begin() as session:
        assert page_duty(session, services.settings.duty, case_id=page.case_id, reason="answer") == page.ref
    # Once acknowledged, a new alert on the case pages again.
    with services.sessions.begin() as session:
        PageStore(session).acknowledge(page.ref, "cai")
    with services.sessions.begin() as session:
        assert page_duty(session, services.settings.duty, case_id=page.case_id, reason="answer") not in (None, page.ref)


def test_paging_off_queues_nothing(services, send):
    send_alert(send)
    assert pages(services) == []


def test_the_page_reaches_sms_and_mail_then_telegram_after_the_escalation_time(hotline, fakes, captured_logs):
    twilio, telegram, smtp = fakes
    services = hotline([ANA, TEAM], after_last="stop")
    from bot.messages import InboundMessage

    def send(sender, text, channel):
        return list(services.intake.receive(InboundMessage(channel=channel, sender=sender, text=text)).texts)

    send_alert(send)
    (page,) = pages(services)
    start = exact_now()
    assert services.pager.run_once(start).sent == 1
    (sms,) = staff_sms(twilio)
    assert sms["From"] == "+15550100000"
    assert sms["Body"].startswith("Línea de denuncias: hay un caso urgente")  # Ana's language
    assert_says_nothing_of_the_case(sms["Body"], page.ref)
    (mail,) = smtp.to(STAFF_EMAIL_ACCOUNT)
    assert mail.sender == "pager@ngo.example.org"
    assert_says_nothing_of_the_case(mail.text, page.ref)
    assert telegram.sent(STAFF_TELEGRAM_CHAT) == []

    # Nine minutes: still waiting for Ana. Ten: the team chat is paged.
    assert services.pager.run_once(start + timedelta(minutes=9)) == type(services.pager.run_once(start))()
    assert telegram.sent(STAFF_TELEGRAM_CHAT) == []
    result = services.pager.run_once(start + timedelta(minutes=10, seconds=1))
    assert (result.sent, result.escalated) == (1, 1)
    (chat,) = telegram.sent(STAFF_TELEGRAM_CHAT)
    assert chat["text"].startswith("Hotline: an urgent case is waiting")
    assert_says_nothing_of_the_case(chat["text"], page.ref)
    assert len(staff_sms(twilio)) == 1, "Ana is not paged again"

    # Nobody after the team chat (after_last: stop): the page ends unanswered, and the log says so.
    assert services.pager.run_once(start + timedelta(minutes=21)).ended == 1
    (ended,) = pages(services)
    assert ended.state == "unanswered"
    kinds = [(e.kind, e.person, e.way) for e in events(services, page.ref)]
    assert kinds == [("queued", None, None), ("sent", "Ana (first on call)", "sms"), ("sent", "Ana (first on call)", "email"),
                     ("escalated", "Team chat", None), ("sent", "Team chat", "telegram"), ("unanswered", None, None)]
    logged = ours(captured_logs)
    assert f"duty page {page.ref} UNANSWERED" in logged
    for secret in (STAFF_SMS_PHONE, STAFF_EMAIL_ACCOUNT, str(STAFF_TELEGRAM_CHAT), *FIRE_WORDS[2:]):
        assert secret not in logged
    # Someone sees it at last: an unanswered page can still be acknowledged.
    with services.sessions.begin() as session:
        assert PageStore(session).acknowledge(page.ref, "cai")[1] is True


def test_an_acknowledgement_stops_the_escalation(hotline, fakes):
    twilio, telegram, smtp = fakes
    services = hotline([ANA, TEAM])
    with services.sessions.begin() as session:
        ref = page_duty(session, services.settings.duty, case_id="0b7d3c1e-2f4a-4b5c-9d6e-7f8a9b0c1d2e", reason="alert")
    start = exact_now()
    services.pager.run_once(start)
    with services.sessions.begin() as session:
        view, done = PageStore(session).acknowledge(ref, "cai")
    assert done and view.state == "acknowledged" and view.acknowledged_by == "cai"
    for minutes in (11, 22, 60):
        services.pager.run_once(start + timedelta(minutes=minutes))
    assert telegram.sent(STAFF_TELEGRAM_CHAT) == [] and len(staff_sms(twilio)) == 1
    with services.sessions.begin() as session:
        assert PageStore(session).acknowledge(ref, "ada")[1] is False  # ended already: said, not redone
    assert [e.kind for e in events(services, ref)][-1] == "acknowledged"


@pytest.mark.parametrize(("after_last", "rounds", "people", "pages_sent"), [
    ("stop", 3, 2, 2),     # each person once
    ("repeat", 3, 2, 6),   # three times through the roster
    ("repeat", 2, 1, 2),   # one person, paged again after the escalation time
])
def test_after_the_last_person(hotline, fakes, after_last, rounds, people, pages_sent):
    twilio, _telegram, smtp = fakes
    roster = [{"name": f"P{i}", "sms": f"+1555777{i:04d}"} for i in range(people)]
    services = hotline(roster, after_last=after_last, rounds=rounds)
    with services.sessions.begin() as session:
        ref = page_duty(session, services.settings.duty, case_id=None, reason="alert")
    start = exact_now()
    for minute in range(0, 100, 5):
        services.pager.run_once(start + timedelta(minutes=minute, seconds=1))
    assert len(twilio.messages) == pages_sent
    assert [p.state for p in pages(services)] == ["unanswered"]
    assert [e.kind for e in events(services, ref)].count("escalated") == pages_sent - 1


def test_a_provider_down_is_retried_then_the_next_person_is_paged(hotline, fakes, captured_logs):
    twilio, telegram, _smtp = fakes
    services = hotline([{"name": "Ana", "sms": STAFF_SMS_PHONE}, TEAM], send_attempts=3, retry_seconds=30)
    with services.sessions.begin() as session:
        ref = page_duty(session, services.settings.duty, case_id=None, reason="alert")
    for _ in range(3):
        twilio.fail_next(503, 20500, "Service unavailable")
    start = exact_now()
    assert services.pager.run_once(start).retried == 1
    assert services.pager.run_once(start + timedelta(seconds=10)).retried == 0, "not before retry_seconds"
    assert services.pager.run_once(start + timedelta(seconds=31)).retried == 1
    result = services.pager.run_once(start + timedelta(seconds=62))
    assert (result.sent, result.escalated) == (1, 1), "third failure: the next person at once, not after 10 minutes"
    assert len(telegram.sent(STAFF_TELEGRAM_CHAT)) == 1
    kinds = [(e.kind, e.detail) for e in events(services, ref)]
    assert kinds[1:] == [("failed", "twilio HTTP 503 error 20500"), ("retrying", "attempt 2 of 3"),
                         ("failed", "twilio HTTP 503 error 20500"), ("retrying", "attempt 3 of 3"),
                         ("failed", "twilio HTTP 503 error 20500"), ("escalated", "not_delivered"), ("sent", None)]
    logged = ours(captured_logs, logging.ERROR)
    assert f"duty page {ref} could not be sent to roster position 1; will retry" in logged
    assert f"duty page {ref} could not be sent to roster position 1; paging the next person" in logged
    assert STAFF_SMS_PHONE not in logged and STAFF_SMS_PHONE.lstrip("+") not in logged


def test_a_refused_address_goes_to_the_next_person_at_once(hotline, fakes):
    twilio, _telegram, smtp = fakes
    services = hotline([{"name": "Ana", "sms": STAFF_SMS_PHONE}, BO])
    with services.sessions.begin() as session:
        page_duty(session, services.settings.duty, case_id=None, reason="alert")
    twilio.fail_next(400, 21211, "Invalid 'To' Phone Number")  # retrying cannot help
    result = services.pager.run_once(exact_now())
    assert (result.sent, result.escalated, result.retried) == (1, 1, 0)
    assert len(smtp.to(SECOND_EMAIL_ACCOUNT)) == 1


def test_whatsapp_pages_use_the_approved_template(hotline, fakes):
    twilio, _telegram, _smtp = fakes
    services = hotline([{"name": "Ana", "whatsapp": STAFF_WHATSAPP_PHONE}], whatsapp_template_sid="HX" + "ab" * 16)
    with services.sessions.begin() as session:
        ref = page_duty(session, services.settings.duty, case_id=None, reason="alert")
    services.pager.run_once(exact_now())
    (form,) = twilio.messages
    assert form["To"] == "whatsapp:" + STAFF_WHATSAPP_PHONE and form["From"] == "whatsapp:+15550100001"
    assert form["ContentSid"] == "HX" + "ab" * 16 and yaml.safe_load(form["ContentVariables"]) == {"1": shown_ref(ref)}
    assert "Body" not in form


def test_a_test_page_goes_to_one_person_and_is_never_escalated(hotline, fakes):
    twilio, telegram, smtp = fakes
    services = hotline([ANA, TEAM])
    with services.sessions.begin() as session:
        ref = page_duty(session, services.settings.duty, case_id=None, reason="test", step=1)
    start = exact_now()
    services.pager.run_once(start)
    services.pager.run_once(start + timedelta(minutes=30))
    (chat,) = telegram.sent(STAFF_TELEGRAM_CHAT)
    assert chat["text"].startswith("[TEST, no case] Hotline:") and shown_ref(ref) in chat["text"]
    assert twilio.messages == [] and smtp.messages == []
    assert [p.state for p in pages(services)] == ["sent"]


def test_a_changed_roster_file_is_read_again_and_a_broken_one_keeps_the_last(hotline, fakes, deployment_dir):
    twilio, telegram, smtp = fakes
    services = hotline([ANA])
    write_roster(deployment_dir, [TEAM, ANA])  # a new week: the team chat first
    with services.sessions.begin() as session:
        page_duty(session, services.settings.duty, case_id=None, reason="alert")
    services.pager.run_once(exact_now())
    assert len(telegram.sent(STAFF_TELEGRAM_CHAT)) == 1 and twilio.messages == []
    (deployment_dir / "keys" / "duty-roster.yaml").write_text("- {name: nobody}\n")  # no way to reach them: refused
    assert [p.name for p in services.pager.roster()] == ["Team chat", "Ana (first on call)"]


@pytest.mark.parametrize(("people", "duty", "error"), [
    ([{"name": "Ana"}], {}, "config error: duty.roster: [0]: no way to reach them: give at least one of sms, whatsapp, telegram, email"),
    ([{"name": "Ana", "sms": "0170-555-0101"}], {},
     "config error: duty.roster: [0.sms]: String should match pattern '^\\+[1-9]\\d{6,14}$'"),
    ([{"name": "Ana", "email": "not-an-address"}], {}, "config error: duty.roster: [0.email]: not an e-mail address"),
    ([ANA, {**TEAM, "name": ANA["name"]}], {}, "config error: duty.roster: two people have the same name"),
    ([], {}, "config error: duty.roster: expected a list of people (name, language, sms/whatsapp/telegram/email)"),
    ([BO], {"smtp": None}, "config error: duty.roster: [0.email]: paging by email needs duty.smtp"),
])
def test_a_bad_roster_stops_start_up_with_one_line_and_no_address(hotline, people, duty, error):
    with pytest.raises(ConfigError) as raised:
        hotline(people, **duty)
    assert str(raised.value) == error
    assert "0170-555-0101" not in str(raised.value)


def test_a_missing_roster_stops_start_up(settings_with, deployment_dir):
    settings = settings_with(duty={"enabled": True, "roster": {"file": "keys/missing-roster.yaml"}})
    init_keys(settings, dev_operator_key=True)
    with pytest.raises(ConfigError, match=r"^config error: duty.roster: .*missing-roster.yaml not found"):
        build_services(settings)


@pytest.mark.parametrize(("smtp", "error"), [
    ({"host": "smtp.example.org", "security": "none", "from_address": "p@example.org"},
     "duty.smtp: Value error, security none (no TLS) is allowed only to a mail relay on this machine (127.0.0.1)"),
    ({"host": "smtp.example.org", "username": "u", "from_address": "p@example.org"},
     "duty.smtp: Value error, give both username and password, or neither"),
])
def test_the_mail_server_settings(settings_with, smtp, error):
    with pytest.raises(ConfigError) as raised:
        settings_with(duty={"smtp": smtp})
    assert error.replace("Value error, ", "") in str(raised.value)


def test_page_texts_from_the_config_must_name_the_reference(settings_with):
    with pytest.raises(ConfigError, match="holds {ref}"):
        settings_with(duty={"texts": {"en": "Urgent case waiting, open the desk"}})
    assert settings_with(duty={"texts": {"en": "Urgent, desk now: {ref}"}}).duty.texts == {"en": "Urgent, desk now: {ref}"}


def test_the_pager_thread_sends_by_itself_and_stops_when_asked(hotline, fakes):
    import threading
    import time

    twilio, _telegram, _smtp = fakes
    services = hotline([{"name": "Ana", "sms": STAFF_SMS_PHONE}])
    stop = threading.Event()
    thread = services.pager.run_in_background(stop, 0.1)
    with services.sessions.begin() as session:
        page_duty(session, services.settings.duty, case_id=None, reason="alert")
    deadline = time.monotonic() + 10
    while not staff_sms(twilio) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(staff_sms(twilio)) == 1
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


SMTP_PASSWORD = "mail-relay-password-0427"


@pytest.mark.parametrize(("trusted", "password", "delivered", "kinds"), [
    (True, SMTP_PASSWORD, True, ["sent"]),
    (False, SMTP_PASSWORD, False, ["failed", "retrying"]),  # a certificate nobody vouches for: nothing sent in the clear
    (True, "wrong-password-000", False, ["failed", "escalated"]),  # retrying cannot fix it: the next person at once
])
def test_mail_goes_over_starttls_with_the_relay_password(settings_with, deployment_dir, tmp_path, monkeypatch, trusted, password,
                                                         delivered, kinds):
    import ssl

    from sink_servers import make_self_signed_cert

    cert, key = make_self_signed_cert(tmp_path / "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    smtp = FakeSmtp("hotline-pager", SMTP_PASSWORD, tls=context)
    monkeypatch.setenv("GRIEVANCE_SMTP_PASSWORD", password)
    write_roster(deployment_dir, [BO, {"name": "Cy", "email": STAFF_EMAIL_ACCOUNT}])
    settings = settings_with(duty={"enabled": True, "roster": {"file": "keys/duty-roster.yaml"}, "smtp": {
        "host": "127.0.0.1", "port": smtp.port, "security": "starttls", "username": "hotline-pager",
        "password": {"env": "GRIEVANCE_SMTP_PASSWORD"}, "from_address": "pager@ngo.example.org",
        **({"ca_file": str(cert)} if trusted else {})}})
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    try:
        with services.sessions.begin() as session:
            ref = page_duty(session, services.settings.duty, case_id=None, reason="alert")
        services.pager.run_once(exact_now())
        assert bool(smtp.to(SECOND_EMAIL_ACCOUNT)) is delivered
        assert (smtp.tls_sessions > 0) is trusted
        assert [e.kind for e in events(services, ref)][1:len(kinds) + 1] == kinds
    finally:
        services.close()
        smtp.close()


def test_an_answer_that_speaks_of_danger_pages_the_person_on_duty_like_an_alert(hotline, fakes):
    """Issue 19: "When an urgent alert or a danger answer arrives, the on-duty case worker is notified."
    The worker answers the team directly (an answer window) with danger words: one page, reason
    "answer", with nothing of the case in it; a second danger answer while it is open pages no one again."""
    from bot.messages import InboundMessage
    from bot.operator_api import create_operator_app
    from dialogue_support import confirm_case, new_token

    twilio, _telegram, _smtp = fakes
    services = hotline([ANA])
    case_id, code = confirm_case(services, WORKER_PHONE, channel="sms", adapter="twilio", contact="yes")
    token = new_token(services)
    answer = create_operator_app(services).test_client().post(
        f"/v1/cases/{case_id}/messages", json={"text": "Did the wages arrive?"}, headers={"Authorization": f"Bearer {token}"})
    assert answer.get_json()["delivery"] == "sent_to_channel"
    assert pages(services) == []
    danger = "fire in the factory, the doors are locked and we are trapped"
    for words in (danger, danger + " again"):
        services.intake.receive(InboundMessage(channel="sms", sender=WORKER_PHONE, text=words, adapter="twilio"))
    (page,) = pages(services)
    assert page.reason == "answer" and page.case_id == case_id
    services.pager.run_once()
    sent = [form for form in twilio.messages if form.get("To") == STAFF_SMS_PHONE]
    assert len(sent) == 1
    assert not any(word in sent[0]["Body"] for word in FIRE_WORDS)  # nothing of what the worker wrote
    assert code not in sent[0]["Body"] and WORKER_PHONE not in sent[0]["Body"]
