"""SMS and WhatsApp through Twilio, on one webhook: `TwilioAdapter`.

Routes (on the public app):

- `POST /webhooks/twilio`: an inbound message. The signature is checked first
  (403 and nothing stored when it fails), then the form is decoded (400 when it
  is not a message), media fetched, the message handed to the intake (which
  deduplicates on MessageSid), and the replies returned as TwiML in the same
  response. An intake failure is a plain 503, so Twilio may retry.
- `POST /webhooks/twilio/status`: delivery status callbacks of messages sent
  through the REST API (`channels.twilio_delivery`), answered 204.

The pieces live in `twilio_inbound` (signature, form, media, TwiML),
`twilio_outbound` (REST API, segments, the WhatsApp window, errors) and
`twilio_delivery` (status callbacks and retries).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

from bot.config import TwilioSettings
from bot.intake import Intake
from bot.messages import InboundMessage, Reply, ReplyAddress
from storage.db import utcnow
from storage.opt_outs import OptOuts

from .base import RunningBot, channel_secret
from .media_work import CleaningElsewhere, MediaWork
from .twilio_delivery import STATUSES, DeliveryWatch, error_code
from .twilio_inbound import MalformedWebhook, MediaFetcher, parse_inbound, twiml_reply, verify_signature
from .twilio_outbound import TwilioSender

log = logging.getLogger(__name__)


PLAIN_OPT_IN = frozenset({"START", "UNSTOP"})
# What the engine is given when Twilio signals a help keyword: the English help word, which the
# engine understands in every language (see `TwilioAdapter.inbound`).
HELP_COMMAND = "HELP"


def _plain(status: int, body: str = "") -> Response:
    return Response(body, status=status, mimetype="text/plain")


class TwilioAdapter:
    """Twilio Programmable Messaging: the "sms" and "whatsapp" channel types."""

    type = "twilio"
    keeps_message_refs = False  # an SMS cannot be unsent; WhatsApp messages sent via Twilio neither

    def __init__(
        self,
        settings: TwilioSettings,
        public_url: str,
        account_sid: str,
        auth_token: str,
        intake: Intake,
        watch: DeliveryWatch,
    ) -> None:
        self.settings = settings
        self.rate = settings.rate
        self.public_url = public_url
        self.intake = intake
        self.watch = watch
        self._auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self.media = MediaFetcher(account_sid, auth_token, settings.api_base_url, settings.media_max_bytes)
        self.media_work = MediaWork(intake)
        self.sender = TwilioSender(settings, account_sid, auth_token, watch)

    @classmethod
    def from_services(cls, services: RunningBot) -> TwilioAdapter:
        settings = services.settings.channels.twilio
        auth_token = channel_secret(services, settings.auth_token, "channels.twilio.auth_token")
        account_sid = channel_secret(services, settings.account_sid, "channels.twilio.account_sid")
        public_url = services.settings.server.public_url or ""  # required by the config when Twilio is enabled
        watch = DeliveryWatch(services.sessions, services.secrets, public_url)
        return cls(settings, public_url, account_sid, auth_token, services.intake, watch)

    # ------------------------------------------------------------ webhooks

    def register(self, app: Flask) -> None:
        app.add_url_rule("/webhooks/twilio", "twilio_inbound", self.inbound, methods=["POST"])
        app.add_url_rule("/webhooks/twilio/status", "twilio_status", self.status, methods=["POST"])

    def inbound(self) -> Response:
        if not verify_signature(self.validator, self.public_url, request):
            log.warning("twilio webhook refused: bad or missing signature")
            return _plain(403, "forbidden")
        try:
            fields = parse_inbound(request.form)
        except MalformedWebhook as error:  # fixed phrases, no content
            log.warning("twilio webhook refused: malformed", extra={"reason": str(error)})
            return _plain(400, "malformed request")
        if fields.opt_out in ("STOP", "START"):
            try:
                handled = self._opt_out_handled(fields)
            except Exception:  # nothing was recorded: Twilio may retry
                log.exception("twilio opt-out not recorded", extra={"channel": fields.channel})
                return _plain(503, "temporarily unavailable, please retry")
            if handled:
                return Response(twiml_reply(Reply(()), fields.channel, 1), status=200, mimetype="text/xml")
        text = fields.text
        if fields.opt_out == "HELP":
            # Twilio has answered HELP/INFO (or a help word the NGO added) with its own help text:
            # English, about the number not the hotline, and it tells the worker to reply STOP,
            # the one word that would cut them off. So the bot's own help is still given, in the
            # worker's language and naming EXIT, not STOP (one more message, as a help costs
            # anywhere). It is given once: the keyword is the HELP command whatever its wording,
            # so a help word the bot does not know never becomes an answer or part of a report.
            text = HELP_COMMAND
        try:
            media, refused = self._media_once(fields)
        except CleaningElsewhere:  # another delivery of this MessageSid is on it: answered once, by that one
            return _plain(503, "temporarily unavailable, please retry")
        except Exception:  # the claim could not be taken (the database): nothing was stored
            log.exception("twilio media not claimed", extra={"channel": fields.channel})
            return _plain(503, "temporarily unavailable, please retry")
        message = InboundMessage(
            channel=fields.channel,
            sender=fields.sender,
            text=text,
            adapter=self.type,
            provider_id=fields.message_sid,
            media=media,
            refused_media=refused,
        )
        try:
            reply = self.intake.receive(message)
        except Exception:  # Twilio may retry; the worker's message was not stored (the transaction rolled back)
            log.exception("twilio message not handled", extra={"channel": fields.channel})
            return _plain(503, "temporarily unavailable, please retry")
        body = twiml_reply(reply, fields.channel, self.settings.max_segments_per_message, self.settings.gsm7_fold)
        return Response(body, status=200, mimetype="text/xml")

    def _media_once(self, fields) -> tuple:
        """The message's media, fetched and cleaned once whatever Twilio redelivers (`MediaWork`)."""
        if not fields.media:
            return (), ()
        return self.media_work.fetch_once(self.type, fields.message_sid,
                                          lambda work: self.media.fetch_all(fields.media, fields.channel, work))

    def _opt_out_handled(self, fields) -> bool:
        """Record an opt-out (STOP) or its end (START); True when the message needs nothing more.

        Twilio has opted the number out (or in) and answered it itself: after STOP nothing
        more is sent to it (its cases stay readable with STATUS), so neither the engine nor a
        reply runs. A START from a number that had not opted out is an ordinary message, and so is
        an opt-in word that may answer the bot ("YES").
        """
        with self.intake.sessions.begin() as session:
            opt_outs = OptOuts(session, self.intake.secrets)
            if fields.opt_out == "STOP":
                opt_outs.opt_out(fields.channel, fields.sender, utcnow())
                handled = True
            else:
                # Opted back in. START or UNSTOP answers nothing of ours; any other opt-in word
                # ("YES", or one the NGO added) may be an answer in the conversation: it goes on.
                handled = opt_outs.opt_in(fields.channel, fields.sender) and fields.text.strip().upper() in PLAIN_OPT_IN
        if handled:
            log.info("twilio opt-out keyword", extra={"channel": fields.channel, "reason": fields.opt_out})
        return handled

    def status(self) -> Response:
        if not verify_signature(self.validator, self.public_url, request):
            log.warning("twilio status callback refused: bad or missing signature")
            return _plain(403, "forbidden")
        status = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").strip().lower()
        status = status if status in STATUSES else "other"
        code = error_code(request.form.get("ErrorCode"))
        try:
            outcome = self.watch.settle(request.args.get("ob"), status, code)
        except Exception:
            log.exception("twilio status callback not handled")
            return _plain(503, "temporarily unavailable, please retry")
        if outcome != "progress":
            level = logging.WARNING if outcome in ("retry", "dead") else logging.INFO
            extra = {"status": status, "reason": f"{outcome} error {code}" if code else outcome}
            log.log(level, "twilio delivery status", extra=extra)
        return Response(status=204)

    # ------------------------------------------------------------ the adapter contract

    def send(self, address: ReplyAddress, text: str, choices: Sequence[tuple[str, str]] = ()) -> str | None:
        # SMS and Twilio WhatsApp (without Content templates) have no buttons: the menus are in the text.
        return self.sender.send(address, text)

    def erase(self, address: ReplyAddress, refs: Sequence[str]) -> None:
        # An SMS cannot be unsent; the intake has already erased our side of the conversation.
        return None

    def secret_values(self) -> tuple[str, ...]:
        return (self._auth_token,)

    def close(self) -> None:
        self.media.close()
        self.sender.close()
