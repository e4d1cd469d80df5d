"""The stage for the persona suite: a live hotline on loopback, workers who text it, an operator who pulls.

The public app is served by a real HTTP server (werkzeug, in a thread) on 127.0.0.1,
with Twilio SMS and Telegram (webhook) enabled against the fake providers of
tests/fake_twilio.py and tests/fake_telegram.py. A worker's message is a real HTTP
request, signed as the provider signs it; what the worker reads is what the provider
would deliver: the TwiML answer for SMS, the Bot API calls for Telegram. The operator
pulls sealed cases with the private key and answers through the operator API, served
over HTTP too, with the `grievance` commands an operator types.
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from itertools import count

import httpx
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from bot.app import create_app
from bot.cli import cli
from bot.services import build_services
from channel_support import pulled
from dialogue_support import LiveOperatorApi, new_token
from fake_telegram import text_update
from storage import crypto
from storage.keys import init_keys
from storage.db import utcnow as _real_utcnow
from storage.models import Case
from test_channel_twilio import PUBLIC_URL, new_sid, sign, sms_payload

TELEGRAM_TOKEN = "4242000001:fake-token-QwErTy"
WEBHOOK_SECRET = "hook-secret-0123456789abcdefABCDEF"
HOTLINE_SMS = "+15550100000"
CODE_SHOWN = re.compile(r"\d{4} \d{3} \d{3} \d{4}")
# The words Twilio (and carriers) treat as an opt-out when a message is only that word.
SMS_OPT_OUT_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
# The words Twilio answers itself with its own help text (which tells the worker to reply STOP).
SMS_HELP_WORDS = ("HELP", "INFO")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # one line per request would drown the test's own log
        pass


class LiveHotline:
    """One deployment: services, the public app on a loopback port, the operator API, the fakes."""

    def __init__(self, settings, twilio_fake, telegram_fake) -> None:
        init_keys(settings, dev_operator_key=True)  # the test plays the operator too
        self.settings = settings
        self.twilio, self.telegram = twilio_fake, telegram_fake
        self.services = build_services(settings)
        self.server = make_server("127.0.0.1", 0, create_app(self.services), threaded=True, request_handler=_QuietHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.server.server_port}", timeout=30)
        self.operator_api: LiveOperatorApi | None = None
        self.update_ids = count(800_000_000)
        self.clock_offset = timedelta(0)

    def close(self) -> None:
        self.http.close()
        self.server.shutdown()
        self.thread.join(timeout=5)
        if self.operator_api is not None:
            self.operator_api.close()
        self.services.close()

    # ------------------------------------------------------------ workers

    def sms_worker(self, number: str) -> SmsWorker:
        return SmsWorker(self, number)

    def telegram_worker(self, chat_id: int) -> TelegramWorker:
        return TelegramWorker(self, chat_id)

    # ------------------------------------------------------------ the operator's side

    def pull(self) -> list[dict]:
        """Forward the outbox and pull every case the operator key opens; the records, urgent first."""
        return pulled(self.services)

    def operator(self, make_operator_settings, monkeypatch):
        """Settings of the operator's machine, talking to this hotline's operator API over HTTP."""
        if self.operator_api is None:
            self.operator_api = LiveOperatorApi(self.services)
            monkeypatch.setenv("GRIEVANCE_OPERATOR_API_TOKEN", new_token(self.services, "persona-desk"))
        return make_operator_settings(operator_client={"url": self.operator_api.url})

    def case_row(self, code: str) -> Case:
        with self.services.sessions.begin() as session:
            case = session.execute(
                select(Case).where(Case.code_lookup == crypto.case_code_lookup(self.services.secrets, code))
            ).scalar_one()
            session.expunge(case)
            return case

    def time_passes(self, monkeypatch, minutes: float) -> None:
        """The hotline's clock moves `minutes` ahead (for pauses and idle answer-backs): the intake
        reads the time from `bot.intake.utcnow` on every message."""
        import bot.intake

        self.clock_offset += timedelta(minutes=minutes)
        offset = self.clock_offset
        monkeypatch.setattr(bot.intake, "utcnow", lambda: _real_utcnow() + offset)

    def sms_sent(self) -> int:
        """Messages the hotline sent through Twilio's API (not TwiML answers), once every queued one went out."""
        self.settle()
        return len(self.twilio.requests)

    def settle(self) -> None:
        """Wait until every queued reply went out and its message id was recorded (as the next
        message of a real worker, seconds later, would find it)."""
        self.services.dispatcher.close()


def grievance(settings, *args: str) -> str:
    """A `grievance` command as the operator types it; its output (the command must succeed)."""
    result = CliRunner().invoke(cli, list(args), obj={"settings": settings}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


class SmsWorker:
    """A worker on a basic phone: each message a signed Twilio webhook, each answer the TwiML it gets back."""

    def __init__(self, hotline: LiveHotline, number: str) -> None:
        self.hotline, self.number = hotline, number
        self.read: list[str] = []  # every message the worker received, in order

    def say(self, text: str, **extra: str) -> str:
        form = {**sms_payload(self.number, text, sid=new_sid()), **extra}
        signature = sign(PUBLIC_URL + "/webhooks/twilio", form)
        response = self.hotline.http.post("/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, (response.status_code, response.text)
        root = ET.fromstring(response.content)  # noqa: S314  our own app's TwiML
        messages = [element.text or "" for element in root.iter("Message")]
        self.read += messages
        return "\n".join(messages)

    def script(self, *texts: str) -> list[str]:
        return [self.say(text) for text in texts]


class TelegramWorker:
    """A worker in a private Telegram chat: each message a webhook update, each answer what the Bot API was asked to send."""

    def __init__(self, hotline: LiveHotline, chat_id: int) -> None:
        self.hotline, self.chat_id = hotline, chat_id
        self.fake = hotline.telegram
        self.read: list[str] = []  # every answer the worker received, in order (one per message sent)

    def sent_to_me(self) -> list[dict]:
        return self.fake.sent(self.chat_id)

    def say(self, text: str) -> str:
        before = len(self.sent_to_me())
        update = text_update(next(self.hotline.update_ids), self.chat_id, self.fake.next_id(self.chat_id), text)
        response = self.hotline.http.post(
            "/webhooks/telegram", content=json.dumps(update),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )
        assert response.status_code == 200, (response.status_code, response.text)
        self.fake.wait_for(lambda: len(self.sent_to_me()) > before, what="the bot's answer on Telegram")
        answer = "\n".join(message["text"] for message in self.sent_to_me()[before:])
        self.read.append(answer)
        return answer

    def script(self, *texts: str) -> list[str]:
        return [self.say(text) for text in texts]


def case_code_in(text: str) -> str:
    """The digits of the case code shown in a reply."""
    (shown,) = CODE_SHOWN.findall(text)
    return shown.replace(" ", "")
