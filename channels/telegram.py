"""Telegram, through python-telegram-bot: webhook (`POST /webhooks/telegram`) or polling.

Inbound, one handler for both modes (`handle_update`): the webhook checks
`X-Telegram-Bot-Api-Secret-Token` in constant time before reading the body,
then every update goes the same way: parsed alone (`telegram_updates`), only
private chats, media fetched and cleaned, `Intake.receive` with the replies
queued in the same transaction, the queue kicked, and on DELETE the chat's
messages deleted where Telegram still allows it. Deduplication is the
intake's receipt on the `update_id` (for a button press: on the keyboard's
message, so a keyboard answers once). Replies and later messages go out
through the dispatcher (`send`), with buttons for menus. Calls to Telegram
run on the adapter's own event loop (`telegram_api`).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING

from flask import Flask, jsonify, request

from bot.config import ConfigError, Settings
from bot.messages import InboundMessage, MediaItem, ReplyAddress
from storage.chat_refs import ChatRefStore
from storage.db import utcnow
from storage.keys import read_secret
from storage.outbound import enqueue

from .base import SendError, channel_secret
from .media import MediaRejected, clean_media
from .telegram_api import TelegramApi, TelegramCallError
from .telegram_format import keyboard, split_text
from .telegram_updates import Incoming, MalformedUpdate, parse_update

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  the header's name, not a secret
ALLOWED_UPDATES = ("message", "callback_query")
# Telegram allows 1-256 of these characters; fewer than 16 would be guessable.
_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")

HANDLED, MALFORMED, RETRY_LATER = 200, 400, 503  # outcomes of one update, as HTTP statuses
# A bot may delete messages of a private chat for 48 hours. Ids are stamped to the minute: one
# sent 47 hours ago or more may be gone by the time Telegram is asked, so the worker is told of it too.
DELETABLE_FOR = timedelta(hours=48)
AGE_MARGIN = timedelta(hours=1)


def read_credentials(settings: Settings, *, webhook: bool) -> tuple[str, str | None]:
    """The bot token, and the webhook secret when `webhook`; a missing one is a one-line ConfigError."""
    section = settings.channels.telegram
    token = read_secret(settings, section.bot_token, "channels.telegram.bot_token").strip()
    secret = read_secret(settings, section.webhook_secret, "channels.telegram.webhook_secret").strip() if webhook else None
    return token, _checked_secret(secret)


def _checked_secret(secret: str | None) -> str | None:
    if secret is not None and not _SECRET_SHAPE.match(secret):
        raise ConfigError(
            "config error: channels.telegram.webhook_secret: must be 16 to 256 characters of A-Z, a-z, 0-9, _ or - "
            "(e.g. `openssl rand -hex 32`)"
        )
    return secret


def api_for(settings: Settings, token: str) -> TelegramApi:
    section = settings.channels.telegram
    return TelegramApi(token, section.base_url, section.base_file_url)


class TelegramAdapter:
    """The Telegram channel (see the module docstring)."""

    type = "telegram"
    keeps_message_refs = True  # the bot's message ids are kept (encrypted, in the draft) for DELETE

    def __init__(self, services: Services, token: str, webhook_secret: str | None) -> None:
        self.services = services
        self.settings = services.settings.channels.telegram
        self.rate = self.settings.rate
        self._token = token
        self._webhook_secret = webhook_secret
        self.api = api_for(services.settings, token)

    @classmethod
    def from_services(cls, services: Services) -> TelegramAdapter:
        section = services.settings.channels.telegram
        token = channel_secret(services, section.bot_token, "channels.telegram.bot_token")
        secret = None
        if section.mode == "webhook":  # polling needs no secret: nobody calls us
            secret = _checked_secret(channel_secret(services, section.webhook_secret, "channels.telegram.webhook_secret"))
        return cls(services, token, secret)

    def register(self, app: Flask) -> None:
        if self._webhook_secret is not None:  # no route at all in polling mode
            app.add_url_rule(WEBHOOK_PATH, "telegram_webhook", self._webhook, methods=["POST"])

    def secret_values(self) -> tuple[str, ...]:
        return tuple(value for value in (self._token, self._webhook_secret) if value)

    def close(self) -> None:
        self.api.close()

    # ------------------------------------------------------------ inbound

    def _webhook(self):
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, (self._webhook_secret or "").encode()):
            log.warning("telegram webhook refused: missing or wrong secret token")
            return jsonify(error="Forbidden"), 403
        try:
            data = json.loads(request.get_data())
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
            return jsonify(error="Bad Request"), 400
        status = self.handle_update(data)
        if status == HANDLED:
            return "", 200
        if status == MALFORMED:
            return jsonify(error="Bad Request"), 400
        return jsonify(error="temporarily unavailable, please retry"), 503

    def handle_update(self, data: object) -> int:
        """Handle one update (webhook or polling); returns HANDLED, MALFORMED or RETRY_LATER."""
        try:
            incoming = parse_update(data, self.api.bot, self.settings.media_max_bytes)
        except MalformedUpdate:
            log.warning("telegram update refused: not readable")
            return MALFORMED
        if incoming.ignored:
            # A group chat is never answered: a grievance there would be read by the group.
            log.info("telegram update ignored", extra={"reason": incoming.ignored})
            return HANDLED
        try:
            media = self._fetch_media(incoming)
        except TelegramCallError:
            log.warning("telegram media not fetched; Telegram will deliver the update again", extra={"channel": "telegram"})
            return RETRY_LATER
        message = InboundMessage(
            channel="telegram", sender=str(incoming.chat_id), text=incoming.text, adapter=self.type,
            provider_id=incoming.provider_id,
            provider_ref=None if incoming.callback_id else str(incoming.message_id),
            media=media,
        )
        try:
            reply = self.services.intake.receive(message, queue_replies=True)
        except Exception:  # nothing was stored (one transaction): Telegram delivers it again
            log.exception("telegram update not handled")
            return RETRY_LATER
        if incoming.callback_id is not None:
            self._settle_press(incoming, answered=not reply.duplicate)
        if reply.duplicate:
            return HANDLED
        outbound_ids = reply.outbound_ids
        try:
            if reply.erase_messages:
                outbound_ids += self._erase_chat(incoming.chat_id, reply)
            elif message.provider_ref:
                self._keep_ref(incoming.chat_id, message.provider_ref)
        except Exception:  # the message itself is handled and answered; only the bookkeeping failed
            log.exception("telegram message ids not kept or taken")
            if reply.erase_messages and reply.erase_refs:  # at least the conversation's own messages go
                self._erase_soon(incoming.chat_id, reply.erase_refs)
        if self.services.dispatcher is not None:
            self.services.dispatcher.kick(outbound_ids)
        return HANDLED

    # ------------------------------------------------------------ DELETE: every message of the chat we still may

    def _ref_store(self, session):
        keep = timedelta(days=self.services.settings.retention.chat_message_refs_days)
        return ChatRefStore(session, self.services.secrets, keep)

    def _keep_ref(self, chat_id: int, ref: str) -> None:
        """The worker's message id, for a later DELETE (the bot's own are kept as they are sent)."""
        with self.services.sessions.begin() as session:
            self._ref_store(session).add(self.type, str(chat_id), ref, utcnow(), sent_by_bot=False)

    def _erase_chat(self, chat_id: int, reply) -> tuple[str, ...]:
        """DELETE: delete every message of the chat Telegram still allows (48 hours), soon; returns
        the id of a queued note telling the worker how many older ones they must delete themselves."""
        now = datetime.now(UTC)
        address = ReplyAddress(self.type, self.type, str(chat_id))
        with self.services.sessions.begin() as session:
            store = self._ref_store(session)
            refs = store.take(self.type, str(chat_id))
            too_old = [r for r in refs if r.sent_at is not None and now - r.sent_at >= DELETABLE_FOR - AGE_MARGIN]
            recent = [r.ref for r in refs if r.sent_at is None or now - r.sent_at < DELETABLE_FOR]
            notes: tuple[str, ...] = ()
            if too_old:
                count = len(message_ids([r.ref for r in too_old]))
                text = self.services.intake.engine.t(reply.language, "erase.too_old", count=count)
                notes = (enqueue(session, self.services.secrets, address, text),)
            # The bot's answers to DELETE go out after this: they are not kept (nothing of the chat stays).
            store.pass_next(self.type, str(chat_id), now, len(reply.outbound_ids) + len(notes))
        ids = message_ids([*reply.erase_refs, *recent])
        if ids:
            self._erase_soon(chat_id, [str(i) for i in ids])
        log.info("telegram chat erase", extra={"count": len(ids), "status": f"{len(too_old)} too old"})
        return notes

    def _fetch_media(self, incoming: Incoming) -> tuple[MediaItem, ...]:
        items = []
        for ref in incoming.media:
            try:
                data = self.api.download(ref.file_id, self.settings.media_max_bytes)
                if data is None:
                    raise MediaRejected("too large")
                items.append(clean_media(ref.content_type, data, self.settings.media_max_bytes))
            except TelegramCallError as error:
                if error.retryable:  # the whole update is tried again later
                    raise
                log.info("telegram media not taken", extra={"reason": error.kind})  # e.g. too big for getFile
            except MediaRejected as error:  # the text (caption) still counts
                log.info("telegram media not taken", extra={"reason": str(error)})
        return tuple(items)

    def _settle_press(self, incoming: Incoming, *, answered: bool) -> None:
        """Stop the button's spinner; once answered, take the keyboard off that message."""
        self.api.answer_callback_soon(incoming.callback_id or "")
        if answered and incoming.message_id is not None:
            self.api.remove_keyboard_soon(incoming.chat_id, incoming.message_id)

    # ------------------------------------------------------------ outbound

    def send(self, address: ReplyAddress, text: str, choices: Sequence[tuple[str, str]] = ()) -> str | None:
        """sendMessage (in parts over 4096 characters, buttons on the last); the message ids as the ref."""
        chat_id = _chat_id(address)
        parts = split_text(text)
        if not parts:
            return None
        markup = keyboard(choices)
        ids = []
        try:
            for index, part in enumerate(parts):
                ids.append(self.api.send_message(chat_id, part, markup if index == len(parts) - 1 else None))
        except TelegramCallError as error:
            raise SendError(str(error), retryable=error.retryable) from None
        return ",".join(str(message_id) for message_id in ids)

    def erase(self, address: ReplyAddress, refs: Sequence[str]) -> None:
        """Delete these messages (the worker's and the bot's) where Telegram still allows it."""
        ids = message_ids(refs)
        if ids and address.address.isdigit():
            try:
                _log_erased(len(ids), self.api.delete_messages(int(address.address), ids))
            except TelegramCallError:
                _log_erased(len(ids), len(ids))

    def _erase_soon(self, chat_id: int, refs: Sequence[str]) -> None:
        """The same, without holding the webhook's answer: it runs on the adapter's loop."""
        ids = message_ids(refs)
        if not ids:
            return

        def done(future: Future) -> None:
            failed = len(ids) if future.cancelled() or future.exception() is not None else future.result()
            _log_erased(len(ids), failed)

        self.api.delete_messages_soon(chat_id, ids).add_done_callback(done)


def _log_erased(requested: int, failed: int) -> None:
    # Counts only: which messages could not go would say nothing useful and something about the chat.
    log.info("telegram chat erased", extra={"count": requested, "status": f"{failed} not deletable"})


def _chat_id(address: ReplyAddress) -> int:
    try:
        return int(address.address)
    except ValueError:
        raise SendError("telegram address is not a chat id", retryable=False) from None


def message_ids(refs: Sequence[str]) -> list[int]:
    """Message ids from refs ("17", or "17,18" for a text sent in parts), unique and in order."""
    ids = {int(part) for ref in refs for part in ref.split(",") if part.strip().isdigit()}
    return sorted(ids)
