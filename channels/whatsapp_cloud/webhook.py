"""The Cloud API webhook: Meta's verification handshake, then signed deliveries of messages and statuses.

`GET /webhooks/whatsapp` answers Meta's subscription check when the verify
token matches. `POST /webhooks/whatsapp` checks `X-Hub-Signature-256` (HMAC-SHA256
of the raw body with the app secret) before reading anything, then decodes the
whole payload, fetches any media (once per message: `channels/media_work.py`), and hands each
worker message to the intake
in its own transaction; a message posted in a group is ignored. Answers: 403
unsigned, 400 unreadable, 503 when a message could not be stored (the others of
the batch are still handled; Meta retries, and the wamid receipt makes a retry
harmless), else 200 (Meta retries anything else for days).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

from flask import Blueprint, Response, request

from bot.intake import Intake
from bot.messages import InboundMessage
from channels.media import MediaRejected, check_type
from channels.media_work import CleaningElsewhere, Fetched, MediaWork, MessageMedia

from channels.provider_http import MediaUnavailable, hub_signature_ok, meta_handshake, plain_response

from .graph import GraphClient
from .payload import DeliveryStatus, IncomingMessage, MalformedPayload, decode

log = logging.getLogger(__name__)

ADAPTER = "whatsapp_cloud"
CHANNEL = "whatsapp"


class Webhook:
    """Verifies and handles Cloud API webhook requests for one business phone number."""

    def __init__(
        self,
        *,
        app_secret: str,
        verify_token: str,
        phone_number_id: str,
        intake: Intake,
        graph: GraphClient,
        media_max_bytes: int,
        kick: Callable[[tuple[str, ...]], None],
    ) -> None:
        self._app_secret = app_secret.encode()
        self._verify_token = verify_token.encode()
        self.phone_number_id = phone_number_id
        self.intake = intake
        self.graph = graph
        self.media_max_bytes = media_max_bytes
        self.media_work = MediaWork(intake)
        self.kick = kick
        self.failures_by_code: Counter[str] = Counter()  # delivery failures Meta reported, by Graph error code
        self._lock = threading.Lock()

    def blueprint(self) -> Blueprint:
        routes = Blueprint("whatsapp_cloud", __name__)
        routes.add_url_rule("/webhooks/whatsapp", "handshake", self.handshake, methods=["GET"])
        routes.add_url_rule("/webhooks/whatsapp", "deliver", self.deliver, methods=["POST"])
        return routes

    def handshake(self) -> Response:
        """Meta's subscription check: echo `hub.challenge` when mode and verify token are right."""
        return meta_handshake(request.args, self._verify_token, log, CHANNEL)

    def deliver(self) -> Response:
        """A signed webhook: statuses counted, each worker message handled in its own transaction."""
        raw = request.get_data(cache=False)
        if not hub_signature_ok(self._app_secret, raw, request.headers.get("X-Hub-Signature-256", "")):
            log.warning("webhook refused: missing or wrong signature", extra={"channel": CHANNEL})
            return plain_response("forbidden", 403)
        try:
            messages, statuses = decode(raw)
        except MalformedPayload:
            log.warning("webhook refused: not a Cloud API payload", extra={"channel": CHANNEL})
            return plain_response("bad request", 400)
        for status in statuses:
            if status.phone_number_id == self.phone_number_id:
                self._status(status)
        failed = 0
        for incoming in messages:
            if incoming.phone_number_id != self.phone_number_id:
                log.info("message for another business number ignored", extra={"channel": CHANNEL})
                continue
            if incoming.in_group:
                # A grievance written in a group is read by the group: no case, no answer, nothing kept
                # (as for Telegram groups).
                log.info("message ignored", extra={"channel": CHANNEL, "reason": "group"})
                continue
            # One message that fails never stops the others of the batch: each is handled, and a
            # 503 at the end has Meta redeliver the batch (the receipts skip what was handled).
            try:
                reply = self.intake.receive(self._inbound(incoming), queue_replies=True)
            except MediaUnavailable as error:  # only the retryable kind gets here
                log.warning("media fetch failed; Meta will redeliver", extra={"channel": CHANNEL, "reason": error.reason})
                failed += 1
                continue
            except CleaningElsewhere:  # another delivery of this message is on it: the next one finds its receipt
                failed += 1
                continue
            except Exception:  # the worker's message is not stored: Meta redelivers it
                log.exception("message not handled")
                failed += 1
                continue
            self.kick(reply.outbound_ids)
        if failed:
            return plain_response("temporarily unavailable", 503)
        return plain_response("ok", 200)

    def _inbound(self, incoming: IncomingMessage) -> InboundMessage:
        media, refused = (), ()
        if incoming.media_id:  # fetched and cleaned once, whatever Meta redelivers (`MediaWork`)
            media, refused = self.media_work.fetch_once(ADAPTER, incoming.wamid, lambda work: self._media(incoming, work))
        return InboundMessage(
            channel=CHANNEL,
            sender=incoming.sender,
            text=incoming.text,
            adapter=ADAPTER,
            provider_id=incoming.wamid,
            media=media,
            refused_media=refused,
        )

    def _media(self, incoming: IncomingMessage, work: MessageMedia) -> Fetched:
        """The message's photo or recording, fetched and cleaned, or why it is not kept (the worker is told).

        Only a retryable fetch failure escapes (Meta redelivers); anything else costs the file only.
        """
        if not incoming.media_id:
            return (), ()
        if self.media_max_bytes == 0:
            log.info("media not kept", extra={"channel": CHANNEL, "reason": "media disabled"})
            return (), ()
        try:
            check_type(incoming.media_type)  # a video or a document is not even downloaded
            content_type, data = self.graph.fetch_media(incoming.media_id, self.media_max_bytes)
            # The type Meta declared when it announced the file: what the bytes must be opened as.
            return (work.clean(incoming.media_type or content_type, data, self.media_max_bytes),), ()
        except MediaUnavailable as error:
            if error.retryable:
                raise
            log.warning("media not kept", extra={"channel": CHANNEL, "reason": error.reason})
            return (), ("too_large" if error.reason == "too_large" else "unreadable",)
        except MediaRejected as error:
            log.warning("media not kept", extra={"channel": CHANNEL, "reason": str(error)})
            return (), (error.reason,)
        except Exception as error:  # a bug about one file must not cost the worker their text
            log.warning("media not kept", extra={"channel": CHANNEL, "reason": type(error).__name__})
            return (), ("unreadable",)

    def _status(self, status: DeliveryStatus) -> None:
        # The status names its recipient; only the outcome and Graph's error codes are kept.
        if status.status != "failed":
            log.debug("delivery status", extra={"channel": CHANNEL, "status": status.status})
            return
        codes = [str(code) for code in status.error_codes] or ["unknown"]
        with self._lock:
            self.failures_by_code.update(codes)
        log.warning("delivery failed", extra={"channel": CHANNEL, "status": "failed", "reason": ",".join(codes)})
