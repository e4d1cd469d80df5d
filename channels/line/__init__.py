"""LINE, through the official Messaging API SDK (line-bot-sdk v3): where workers in Thailand and Japan write.

`POST /webhooks/line`: the SDK's `WebhookParser` checks `X-Line-Signature` (HMAC-SHA256 of
the raw body with the channel secret, base64) before anything is read; events from
groups and rooms are ignored; each worker message goes to the intake, deduplicated on its
`webhookEventId` (a redelivery is answered once). The answer is queued like every
channel's (in order behind what the chat is still owed) and the dispatcher sends it with the
event's reply token, which is free; if LINE refuses it (expired, or a redelivery), or another
process sends it (the token stays in the memory of the one that got it), it goes as a push.
Pushes (operator replies, notices) count against the monthly quota (channels/line/client.py)
and stop at it: the message stays readable by STATUS.
`unfollow` (the worker blocked the account) erases the conversation in progress and stops
pushes to that address. LINE lets a bot delete nothing in the worker's chat: DELETE
erases our side, and says so. Secrets: `LINE_CHANNEL_SECRET`, `LINE_CHANNEL_ACCESS_TOKEN`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from flask import Flask, Response, request
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhooks import (
    AudioMessageContent,
    FileMessageContent,
    FollowEvent,
    ImageMessageContent,
    MessageEvent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
    VideoMessageContent,
)

from bot.config import LineSettings
from bot.messages import InboundMessage, ReplyAddress
from channels.base import RunningBot, channel_secret
from channels.dispatcher import SENDING
from channels.media import MediaRejected, media_type
from channels.media_work import CleaningElsewhere, Fetched, MediaWork, MessageMedia
from channels.provider_http import MediaUnavailable, plain_response

from .client import LineClient

log = logging.getLogger(__name__)

ADAPTER = CHANNEL = "line"
SECTION = "channels.line"
PATH = "/webhooks/line"
MEDIA_TYPES = {"image": "image/jpeg", "audio": "audio/mp4"}


class LineAdapter:
    """The `line` channel: one LINE Official Account."""

    type = ADAPTER
    keeps_message_refs = False  # a bot cannot delete messages in a LINE chat

    def __init__(self, services: RunningBot, settings: LineSettings, *, channel_secret_value: str, access_token: str) -> None:
        self.services = services
        self.settings = settings
        self.rate = settings.rate
        self._secrets = (channel_secret_value, access_token)
        self.media_work = MediaWork(services.intake)
        self.parser = WebhookParser(channel_secret_value)
        self.client = LineClient(access_token, settings.api_base_url, settings.data_api_base_url,
                                 monthly_quota=settings.monthly_push_quota, warning_share=settings.quota_warning_share)

    @classmethod
    def from_services(cls, services: RunningBot) -> LineAdapter:
        section = services.settings.channels.line
        return cls(
            services, section,
            channel_secret_value=channel_secret(services, section.channel_secret, f"{SECTION}.channel_secret"),
            access_token=channel_secret(services, section.channel_access_token, f"{SECTION}.channel_access_token"),
        )

    def register(self, app: Flask) -> None:
        app.add_url_rule(PATH, "line_webhook", self.deliver, methods=["POST"])

    # ------------------------------------------------------------ inbound

    def deliver(self) -> Response:
        raw = request.get_data(cache=False, as_text=False)
        signature = request.headers.get("X-Line-Signature", "")
        try:
            events = self.parser.parse(raw.decode("utf-8"), signature)
        except InvalidSignatureError:
            log.warning("webhook refused: missing or wrong signature", extra={"channel": CHANNEL})
            return plain_response("forbidden", 403)
        except (UnicodeDecodeError, ValueError, TypeError, AttributeError, KeyError, RecursionError):
            log.warning("webhook refused: not a LINE payload", extra={"channel": CHANNEL})
            return plain_response("bad request", 400)
        retry = False
        for event in events:
            source = getattr(event, "source", None)
            if not isinstance(source, UserSource) or not source.user_id:
                log.info("event outside a one-to-one chat ignored", extra={"channel": CHANNEL})
                continue
            try:
                if isinstance(event, MessageEvent):
                    self._message(event, source.user_id)
                elif isinstance(event, UnfollowEvent):
                    self.services.intake.left_channel(CHANNEL, source.user_id)
                elif isinstance(event, FollowEvent):
                    self.services.intake.came_back(CHANNEL, source.user_id)
            except MediaUnavailable as error:
                log.warning("content fetch failed; LINE may redeliver", extra={"channel": CHANNEL, "reason": error.reason})
                retry = True
            except CleaningElsewhere:  # another delivery of this event is on it: the next one finds its receipt
                retry = True
            except Exception:
                log.exception("event not handled")
                retry = True
        return plain_response("temporarily unavailable", 503) if retry else plain_response("ok", 200)

    def _message(self, event: MessageEvent, user_id: str) -> None:
        content = event.message
        text, media, refused = "", (), ()
        if isinstance(content, TextMessageContent):
            text = content.text or ""
        elif isinstance(content, (ImageMessageContent, AudioMessageContent)):
            # Fetched and cleaned once, whatever LINE redelivers (`MediaWork`).
            media, refused = self.media_work.fetch_once(ADAPTER, event.webhook_event_id, lambda work: self._media(content, work))
        elif isinstance(content, (VideoMessageContent, FileMessageContent)):
            refused = ("type",)  # refused unfetched: they cannot be stripped of what names their author
        # Stickers and locations: nothing to read; the worker gets the current question again.
        message = InboundMessage(channel=CHANNEL, sender=user_id, text=text, adapter=ADAPTER,
                                 provider_id=event.webhook_event_id, media=media, refused_media=refused)
        # The answer is queued in the turn's transaction, behind anything this chat is still owed, and
        # sent by the dispatcher with the event's reply token (free) or, if that is refused, as a push.
        reply = self.services.intake.receive(message, queue_replies=True)
        if reply.duplicate or not reply.outbound_ids or self.services.dispatcher is None:
            return
        tokens = {reply.outbound_ids[0]: event.reply_token} if event.reply_token else {}
        self.services.dispatcher.kick(reply.outbound_ids, reply_tokens=tokens)

    def _media(self, content, work: MessageMedia) -> Fetched:
        """The photo or voice note fetched and cleaned, or why it was not (the worker is told)."""
        if self.settings.media_max_bytes == 0:
            return (), ("type",)
        kind = "image" if isinstance(content, ImageMessageContent) else "audio"
        try:
            content_type, data = self.client.content(content.id, self.settings.media_max_bytes)
            declared = media_type(content_type)
            if not declared.startswith(kind + "/"):
                declared = MEDIA_TYPES[kind]
            return (work.clean(declared, data, self.settings.media_max_bytes),), ()
        except MediaUnavailable as error:
            if error.retryable:
                raise
            log.warning("media not kept", extra={"channel": CHANNEL, "reason": error.reason})
            return (), ("too_large" if error.reason == "too_large" else "unreadable",)
        except MediaRejected as rejected:
            log.warning("media not kept", extra={"channel": CHANNEL, "reason": str(rejected)})
            return (), (rejected.reason,)

    # ------------------------------------------------------------ the adapter contract

    def send(self, address: ReplyAddress, text: str, choices: Sequence[tuple[str, str]] = ()) -> str | None:
        """With the worker's reply token when the webhook gave one (free), else a push (counted against the
        monthly quota; `QuotaReached` at it)."""
        item = SENDING.get()  # the queued message: its id keeps LINE from delivering a retried push twice
        if item is not None and item.reply_token and self.client.reply(item.reply_token, text, choices):
            return None
        self.client.push(address.address, text, choices, retry_key=item.id if item else uuid.uuid4().hex)
        return None

    def erase(self, address: ReplyAddress, refs: Sequence[str]) -> None:
        return None  # LINE lets a bot delete nothing in the worker's chat; the intake erased our side

    def secret_values(self) -> tuple[str, ...]:
        return self._secrets

    def close(self) -> None:
        self.client.close()
