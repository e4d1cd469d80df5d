"""Facebook Messenger: a Page's inbox, for workers who live on Wi-Fi and Facebook (Graph API, with httpx).

There is no maintained official Python SDK, so this is the Platform's own HTTP contract:
`GET /webhooks/messenger` answers Meta's subscription check (`hub.verify_token`);
`POST /webhooks/messenger` checks `X-Hub-Signature-256` over the raw body before reading
anything, then hands each worker message to the intake (deduplicated on its `mid`), with
the replies queued and sent by the dispatcher through the Send API (`send`). Quick
replies carry menu answers (up to 13). Photos and voice notes are downloaded, stripped
and sealed like every other channel's. The bot never calls the User Profile API: the
page-scoped id is an address like any other, blind-indexed and encrypted. Meta does not
let a Page delete messages in the worker's inbox: DELETE erases our side and says so.
Secrets: `MESSENGER_APP_SECRET`, `MESSENGER_VERIFY_TOKEN`, `MESSENGER_PAGE_ACCESS_TOKEN`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import httpx
from flask import Blueprint, Flask, Response, request

from bot.config import ConfigError, MessengerSettings
from bot.intake import Intake
from bot.messages import InboundMessage, MediaItem, ReplyAddress
from channels.base import RunningBot, channel_secret
from channels.media import MediaRejected, media_type
from channels.media_work import CleaningElsewhere, Fetched, MediaWork, MessageMedia
from channels.provider_http import MediaUnavailable, hub_signature_ok, meta_handshake, plain_response

from .payload import IncomingMessage, MalformedPayload, decode
from .send import SendApi, message_bodies, messaging_type

log = logging.getLogger(__name__)

ADAPTER = CHANNEL = "messenger"
SECTION = "channels.messenger"
PATH = "/webhooks/messenger"
# What Messenger's attachment types are taken as, before the bytes are checked (channels/media.py).
MEDIA_TYPES = {"image": "image/jpeg", "audio": "audio/mp4"}


class MessengerAdapter:
    """The `messenger` channel: one Facebook Page."""

    type = ADAPTER
    keeps_message_refs = False  # a Page cannot delete messages in the worker's inbox

    def __init__(
        self,
        settings: MessengerSettings,
        *,
        app_secret: str,
        verify_token: str,
        page_access_token: str,
        intake: Intake,
        kick: Callable[[tuple[str, ...]], None],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not settings.page_id:
            raise ConfigError(f"config error: {SECTION}.page_id: required when the channel is enabled")
        self.settings = settings
        self.rate = settings.rate
        self.intake = intake
        self.media_work = MediaWork(intake)
        self.kick = kick
        self._app_secret = app_secret.encode()
        self._verify_token = verify_token.encode()
        self._secrets = (app_secret, verify_token, page_access_token)
        self.api = SendApi(settings.graph_base_url, page_access_token, transport=transport)

    @classmethod
    def from_services(cls, services: RunningBot) -> MessengerAdapter:
        section = services.settings.channels.messenger
        if not section.page_id:
            raise ConfigError(f"config error: {SECTION}.page_id: required when the channel is enabled")

        def kick(ids: tuple[str, ...]) -> None:
            if services.dispatcher is not None:
                services.dispatcher.kick(ids)

        return cls(
            section,
            app_secret=channel_secret(services, section.app_secret, f"{SECTION}.app_secret"),
            verify_token=channel_secret(services, section.verify_token, f"{SECTION}.verify_token"),
            page_access_token=channel_secret(services, section.page_access_token, f"{SECTION}.page_access_token"),
            intake=services.intake,
            kick=kick,
        )

    # ------------------------------------------------------------ webhooks

    def register(self, app: Flask) -> None:
        routes = Blueprint("messenger", __name__)
        routes.add_url_rule(PATH, "handshake", self.handshake, methods=["GET"])
        routes.add_url_rule(PATH, "deliver", self.deliver, methods=["POST"])
        app.register_blueprint(routes)

    def handshake(self) -> Response:
        """Meta's subscription check: echo `hub.challenge` when mode and verify token are right."""
        return meta_handshake(request.args, self._verify_token, log, CHANNEL)

    def deliver(self) -> Response:
        """A signed webhook: each worker message handled in its own transaction; 503 lets Meta redeliver."""
        raw = request.get_data(cache=False)
        if not hub_signature_ok(self._app_secret, raw, request.headers.get("X-Hub-Signature-256", "")):
            log.warning("webhook refused: missing or wrong signature", extra={"channel": CHANNEL})
            return plain_response("forbidden", 403)
        try:
            messages = decode(raw)
        except MalformedPayload:
            log.warning("webhook refused: not a Messenger payload", extra={"channel": CHANNEL})
            return plain_response("bad request", 400)
        retry = False
        for incoming in messages:
            if incoming.page_id != self.settings.page_id:
                log.info("message for another Page ignored", extra={"channel": CHANNEL})
                continue
            try:
                reply = self.intake.receive(self._inbound(incoming), queue_replies=True)
            except MediaUnavailable as error:  # only the retryable kind gets here
                log.warning("media fetch failed; Meta will redeliver", extra={"channel": CHANNEL, "reason": error.reason})
                retry = True
                continue
            except CleaningElsewhere:  # another delivery of this message is on it: the next one finds its receipt
                retry = True
                continue
            except Exception:  # this message is not stored: Meta redelivers the batch, the others are receipts
                log.exception("message not handled")
                retry = True
                continue
            self.kick(reply.outbound_ids)
        return plain_response("temporarily unavailable", 503) if retry else plain_response("ok", 200)

    def _inbound(self, incoming: IncomingMessage) -> InboundMessage:
        media, refused = (), ()
        if incoming.media:  # fetched and cleaned once, whatever Meta redelivers (`MediaWork`)
            media, refused = self.media_work.fetch_once(ADAPTER, incoming.mid, lambda work: self._media(incoming, work))
        return InboundMessage(
            channel=CHANNEL, sender=incoming.sender, text=incoming.text, adapter=ADAPTER, provider_id=incoming.mid,
            media=media, refused_media=(*incoming.refused, *refused),
        )

    def _media(self, incoming: IncomingMessage, work: MessageMedia) -> Fetched:
        """The photos and voice notes fetched and cleaned, and why each other one was not (the worker is told)."""
        kept: list[MediaItem] = []
        refused: list[str] = []
        for kind, url in incoming.media:
            if self.settings.media_max_bytes == 0:
                refused.append("type")
                continue
            try:
                content_type, data = self.api.fetch_media(url, self.settings.media_max_bytes)
                declared = media_type(content_type)
                if not declared.startswith(kind + "/"):
                    declared = MEDIA_TYPES[kind]
                kept.append(work.clean(declared, data, self.settings.media_max_bytes))
            except MediaUnavailable as error:
                if error.retryable:
                    raise
                log.warning("media not kept", extra={"channel": CHANNEL, "reason": error.reason})
                refused.append("too_large" if error.reason == "too_large" else "unreadable")
            except MediaRejected as rejected:
                log.warning("media not kept", extra={"channel": CHANNEL, "reason": str(rejected)})
                refused.append(rejected.reason)
        return tuple(kept), tuple(refused)

    # ------------------------------------------------------------ the adapter contract

    def send(self, address: ReplyAddress, text: str, choices: Sequence[tuple[str, str]] = ()) -> str | None:
        """Send inside the window Meta allows now (RESPONSE, or HUMAN_AGENT up to 7 days); else `OutsideWindow`."""
        window = messaging_type(address.last_inbound_at, self.settings.human_agent_tag)
        mid = None
        for message in message_bodies(text, choices):
            mid = self.api.send(address.address, message, window)
        return mid

    def erase(self, address: ReplyAddress, refs: Sequence[str]) -> None:
        # Messenger lets a Page delete nothing in the worker's inbox; the intake erased our side.
        return None

    def secret_values(self) -> tuple[str, ...]:
        return self._secrets

    def close(self) -> None:
        self.api.close()
