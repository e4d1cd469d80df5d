"""The two-way dialogue, end to end: an operator's reply reaches the worker on another channel, and their answer comes back.

The case is confirmed over Twilio SMS (signed webhooks, a fake Twilio on 127.0.0.1);
the operator replies with `grievance reply` through the real operator API app served
over HTTP on loopback; the worker's reply address is purged; the worker then sends
STATUS <code> from Telegram (webhook, a fake Bot API on 127.0.0.1), reads the reply and
answers; the operator fetches the answer with `grievance cases replies`, opened only
with the private key, and reads the thread.
"""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import count as numbers

import pytest
from click.testing import CliRunner

from bot.app import create_app
from bot.cli import cli
from bot.messages import InboundMessage
from bot.services import build_services
from databases import ON_POSTGRES, needles_in_database
from dialogue_support import CODE_SHOWN, LiveOperatorApi, confirm_case, new_token
from fake_telegram import FakeTelegramServer, text_update
from fake_twilio import FakeTwilio
from leak_scan import needles_in_tree
from channel_support import pulled
from storage.keys import init_keys
from storage.models import WorkerAnswer
from storage.retention import purge_expired
from dialogue_support import expire_reply_address
from storage.db import utcnow
from test_channel_twilio import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, messages_of, sign, sms_payload
from worker_scripts import ENGLISH_INTAKE, ENGLISH_INTAKE_CONTACT_YES

TELEGRAM_TOKEN = "4242000001:fake-token-QwErTy"
WEBHOOK_SECRET = "hook-secret-0123456789abcdefABCDEF"
SMS_WORKER = "+8801711000999"
CHAT = 555000333
OPERATOR_TEXT = "We visited Sunrise and the owner promised to pay; did the wages arrive"
WORKER_ANSWER = "Half of the wages came on Friday, the rest is still missing"


class Hotline:
    """Twilio SMS and Telegram on one public app, with both fake providers."""

    def __init__(self, services, twilio: FakeTwilio, telegram) -> None:
        self.services, self.twilio, self.telegram = services, twilio, telegram
        self.client = create_app(services).test_client()
        self.update_ids = numbers(900_000_000)

    def sms(self, text: str) -> list[str]:
        form = sms_payload(SMS_WORKER, text)
        signature = sign(PUBLIC_URL + "/webhooks/twilio", form)
        return messages_of(self.client.post("/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature}))

    def telegram_says(self, text: str) -> str:
        before = len(self.telegram.sent(CHAT))
        update = text_update(next(self.update_ids), CHAT, self.telegram.next_id(CHAT), text)
        response = self.client.post("/webhooks/telegram", data=json.dumps(update), content_type="application/json",
                                    headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
        assert response.status_code == 200
        self.telegram.wait_for(lambda: len(self.telegram.sent(CHAT)) > before, what="the bot's answer on Telegram")
        return "\n".join(message["text"] for message in self.telegram.sent(CHAT)[before:])


@pytest.fixture
def make_settings(settings_with, monkeypatch):
    twilio_fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    with FakeTelegramServer(TELEGRAM_TOKEN) as telegram_fake:
        for name, value in (("TWILIO_ACCOUNT_SID", ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
                            ("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN), ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)):
            monkeypatch.setenv(name, value)
        channels = {
            "twilio": {"enabled": True, "sms_from": "+15550100000", "api_base_url": twilio_fake.url, "rate": {"messages_per_second": 1000}},
            "telegram": {"enabled": True, "base_url": telegram_fake.url + "/bot", "base_file_url": telegram_fake.url + "/file/bot",
                         "rate": {"messages_per_second": 1000, "per_address_interval_seconds": 0}},
        }

        def build(**overrides):
            return settings_with(channels=channels, server={"public_url": PUBLIC_URL}, **overrides)

        yield build, twilio_fake, telegram_fake
    twilio_fake.close()


@pytest.fixture
def hotline(make_settings):
    build, twilio_fake, telegram_fake = make_settings
    settings = build()
    init_keys(settings, dev_operator_key=True)
    services = build_services(settings)
    yield Hotline(services, twilio_fake, telegram_fake)
    services.close()


def grievance(settings, *args: str) -> str:
    """Run a `grievance` command with these settings, as the operator would; its output."""
    result = CliRunner().invoke(cli, list(args), obj={"settings": settings}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def pull_into_operator_store(services) -> str:
    """Pull the one case waiting into the operator store; its id."""
    (record,) = pulled(services)
    return record["case_id"]


def ours(captured_logs) -> str:
    return "\n".join(
        record.getMessage() + str(record.__dict__)
        for record in captured_logs.records
        if record.name.split(".")[0] in ("bot", "storage", "channels")
    )


def test_an_operator_reply_reaches_the_worker_through_status_from_another_channel(hotline, make_settings, monkeypatch, captured_logs):
    services = hotline.services
    # 1. The worker reports over SMS.
    replies = [hotline.sms(text) for text in [*ENGLISH_INTAKE_CONTACT_YES, "1"]]
    (shown_code,) = CODE_SHOWN.findall(replies[-1][-1])
    code = shown_code.replace(" ", "")
    case_id = pull_into_operator_store(services)
    # 2. Months later the case no longer holds the SMS number.
    expire_reply_address(services, case_id, utcnow())
    assert purge_expired(services.sessions).reply_addresses == 1
    # 3. The operator replies from their machine, through the operator API over HTTP.
    server = LiveOperatorApi(services)
    token = new_token(services, "ngo-desk")
    try:
        monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", token)
        operator = make_settings[0](operator_client={"url": server.url})
        sms_before = len(hotline.twilio.messages)
        output = grievance(operator, "reply", case_id[:8], OPERATOR_TEXT)
        assert "NOT sent" in output and "no longer holds their reply address" in output and "Kept for STATUS" in output and case_id in output
        services.dispatcher.run_once()
        assert len(hotline.twilio.messages) == sms_before  # nowhere to send it: it waits for STATUS
        # 4. The worker asks from Telegram, with only the code, and reads the reply.
        answer = hotline.telegram_says(f"STATUS {shown_code}")
        assert f"Case {shown_code}: received, waiting for the team." in answer
        assert f"Message from the hotline: {OPERATOR_TEXT}" in answer
        assert "To answer the hotline, write your message now" in answer
        # 5. ...and answers back into the case.
        assert "Your answer was added to your report" in hotline.telegram_says(WORKER_ANSWER)
        assert "Done." in hotline.telegram_says("STOP")
        # 6. The operator fetches the answer, opened only with the private key, and reads the thread.
        assert "kept 1 new answers" in grievance(operator, "cases", "replies")
        thread = grievance(operator, "cases", "thread", case_id[:8])
        assert thread.index(OPERATOR_TEXT) < thread.index(WORKER_ANSWER)
        assert "kept 0 new answers" in grievance(operator, "cases", "replies")  # acknowledged: gone from the server
    finally:
        server.close()
    assert code not in ours(captured_logs)
    logged = ours(captured_logs)
    for secret in (OPERATOR_TEXT, WORKER_ANSWER, token, SMS_WORKER, str(CHAT)):
        assert secret not in logged
    services.db.dispose()
    needles = [OPERATOR_TEXT, WORKER_ANSWER, token, SMS_WORKER]
    if ON_POSTGRES:
        assert needles_in_database(services.settings.database_url, needles) == []
    else:
        assert needles_in_tree(services.settings.data_dir, needles) == []
    assert needles_in_tree(services.settings.path("operator"), needles) == []  # the operator's store is encrypted too


def test_the_answer_is_sealed_at_once_and_the_server_cannot_read_it(services, send):
    case_id, code = confirm_case(services, "+8801711000555")
    replies = send("a-shared-phone", f"STATUS {code}", channel="telegram")
    assert replies[-1] == services.catalogs.text("en", "dialogue.prompt", cancel="STOP")
    assert send("a-shared-phone", WORKER_ANSWER, channel="telegram") == [
        services.catalogs.text("en", "dialogue.added", cancel="STOP")
    ]
    with services.sessions.begin() as session:
        (row,) = session.query(WorkerAnswer).all()
        assert row.case_id == case_id and WORKER_ANSWER.encode() not in row.sealed and row.sealed.startswith(b"GANSW1\n")


def test_dialogue_commands_keep_their_meaning(services, send):
    _, code = confirm_case(services, "+8801711000556")
    t = services.catalogs.text
    prompt = t("en", "dialogue.prompt", cancel="EXIT")  # on SMS never STOP: it opts the number out
    assert send("w", f"STATUS {code}", channel="sms")[-1] == prompt
    assert send("w", "status 1234", channel="sms") == [t("en", "status.bad_code"), prompt]  # a typo keeps the dialogue
    help_reply = send("w", "HELP", channel="sms")
    assert help_reply[-1] == prompt  # the dialogue goes on after HELP
    assert send("w", "🙂", channel="sms")[0] == t("en", "error.need_words")  # no words: nothing added
    assert send("w", "STOP", channel="sms") == [t("en", "dialogue.ended", status="STATUS")]
    assert send("w", "hi", channel="sms")[0].startswith(t("en", "welcome", name="Test hotline")[:10])  # a new report can start


def test_status_in_the_middle_of_a_report_does_not_take_it_over(services, send):
    _, code = confirm_case(services, "+8801711000557")
    for text in ENGLISH_INTAKE[:4]:
        send("reporter", text)
    replies = send("reporter", f"STATUS {code}")
    assert replies[-1] != services.catalogs.text("en", "dialogue.prompt", cancel="STOP")  # the report's question again
    later = send("reporter", "He also took our passports")
    assert "Your answer was added" not in " ".join(later)
    with services.sessions.begin() as session:
        assert session.query(WorkerAnswer).count() == 0


def test_the_worker_reads_the_answer_in_the_language_of_the_case(services, send):
    case_id, code = confirm_case(services, "+8801711000558")
    replies = services.intake.receive(InboundMessage(channel="telegram", sender="x", text=f"অবস্থা {code}")).texts
    assert replies[0].startswith("Case ")  # the case was reported in English: English it stays


def test_a_status_change_on_the_operators_desk_reaches_the_workers_status_and_waits_when_the_api_is_down(
        services, send, settings_with, monkeypatch):
    """`grievance cases status` records the change locally (reason kept there) and sends only the status."""
    case_id, code = confirm_case(services, "+8801711000555")
    assert pull_into_operator_store(services) == case_id
    token = new_token(services, "desk")
    monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", token)
    reason = "Called the factory's compliance officer about Line 4"
    down = settings_with(operator_client={"url": "http://127.0.0.1:9"})  # nothing listens there
    result = CliRunner().invoke(cli, ["cases", "status", case_id[:8], "acknowledged", "--reason", reason], obj={"settings": down})
    assert result.exit_code == 1
    assert f"grievance cases push-status {case_id}" in result.output
    said = services.catalogs.text
    assert said("en", "case_status.received") in "\n".join(send("+8801999000111", f"STATUS {code}"))  # not changed

    server = LiveOperatorApi(services)
    try:
        up = settings_with(operator_client={"url": server.url})
        pushed = CliRunner().invoke(cli, ["cases", "push-status", case_id], obj={"settings": up}, catch_exceptions=False)
        assert pushed.exit_code == 0, pushed.output
        assert said("en", "case_status.acknowledged") in "\n".join(send("+8801999000222", f"STATUS {code}"))
        moved = grievance(up, "cases", "status", case_id, "in_review", "--reason", reason)
        assert "sent to the intake server" in moved
        assert "status notice NOT sent" in moved and "asked not to be contacted" in moved  # this worker said NO
        assert said("en", "case_status.in_review") in "\n".join(send("+8801999000333", f"STATUS {code}"))
    finally:
        server.close()
    services.db.dispose()
    # The reason stayed on the operator's machine: the intake server never saw it.
    if ON_POSTGRES:
        assert needles_in_database(services.settings.database_url, [reason]) == []
    else:
        assert needles_in_tree(services.settings.data_dir, [reason]) == []


def test_an_answer_back_left_idle_expires_without_telling_of_an_unfinished_report(services, send):
    from sqlalchemy import update

    from storage.models import Conversation

    _, code = confirm_case(services, "+8801711000777")
    assert "To answer the hotline" in "\n".join(send("+8801999000444", f"STATUS {code}"))
    with services.sessions.begin() as session:  # three days later
        session.execute(update(Conversation).values(expires_at=utcnow() - timedelta(minutes=1)))
    replies = "\n".join(send("+8801999000444", "hello"))
    assert "unfinished report" not in replies
    # ...while an unfinished report that expires is still announced.
    send("+8801999000555", "hello")
    with services.sessions.begin() as session:
        session.execute(update(Conversation).values(expires_at=utcnow() - timedelta(minutes=1)))
    assert "unfinished report was erased" in "\n".join(send("+8801999000555", "hello"))
