"""Telegram, through python-telegram-bot: webhook (`POST /webhooks/telegram`) or polling.

Inbound, one handler for both modes (`handle_update`): the webhook checks
`X-Telegram-Bot-Api-Secret-Token` in constant time before reading the body,
then every update goes the same way: read alone, field by field (`telegram_updates`), only
private chats, media fetched and cleaned once per update (`media_work`: a redelivery while
they are cleaned gets 503), `Intake.receive` with the replies
queued in the same transaction, the queue kicked, and on DELETE the chat's
messages deleted where Telegram still allows it. Deduplication is the
intake's receipt on the `update_id` (for a button press: on the keyboard's
message, so a keyboard answers once). Replies and later messages go out
through the dispatcher (`send`), with buttons for menus. Calls to Telegram
run on the adapter's own event loop (`telegram_api`). A file that cannot be
kept costs only itself (the worker is told); an update that fails `MAX_TRIES`
times while the database answers is given up (poison), in webhook mode here
and in polling mode by the poller.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from collections.abc import Sequence
from concurrent.futures import Future

from flask import Flask, jsonify, request
from sqlalchemy import text

from bot.config import ConfigError, Settings
from bot.messages import InboundMessage, MediaItem, ReplyAddress
from storage.chat_refs import ChatRefStore
from storage.db import utcnow
from storage.keys import read_secret
from storage.outbound import enqueue

from .base import RunningBot, SendError, channel_secret
from .media import MediaRejected, check_type
from .media_work import CleaningElsewhere, Fetched, MediaWork, MessageMedia
from .telegram_api import TelegramApi, TelegramCallError
from .telegram_format import keyboard, split_text
from .telegram_updates import Incoming, MalformedUpdate, parse_update

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105  the header's name, not a secret
ALLOWED_UPDATES = ("message", "callback_query")
# Telegram allows 1-256 of these characters; fewer than 16 would be guessable.
_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")

HANDLED, MALFORMED, RETRY_LATER = 200, 400, 503  # outcomes of one update, as HTTP statuses
# An update that fails this often while the database answers is poison (a crafted file, a bug):
# it is given up, so the updates behind it are answered. Counted per update_id, no content.
MAX_TRIES = 8
_MAX_COUNTED = 1000  # update ids whose failures are remembered at once
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

    def __init__(self, services: RunningBot, token: str, webhook_secret: str | None) -> None:
        self.services = services
        self.settings = services.settings.channels.telegram
        self.rate = self.settings.rate
        self._token = token
        self._webhook_secret = webhook_secret
        self.api = api_for(services.settings, token)
        self.media_work = MediaWork(services.intake)
        self.failures: dict[int, int] = {}  # webhook mode: update_id -> failed tries (the poller keeps its own)
        self.skipped = 0

    @classmethod
    def from_services(cls, services: RunningBot) -> TelegramAdapter:
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
        update_id = data.get("update_id") if isinstance(data, dict) else None
        tries = self.failures.get(update_id, 0) if isinstance(update_id, int) else 0
        status = self.handle_update(data, last_try=tries + 1 >= MAX_TRIES)
        if status == RETRY_LATER and isinstance(update_id, int):
            status = self._count_failure(update_id)
        elif isinstance(update_id, int):
            self.failures.pop(update_id, None)
        if status == HANDLED:
            return "", 200
        if status == MALFORMED:
            return jsonify(error="Bad Request"), 400
        return jsonify(error="temporarily unavailable, please retry"), 503

    def handle_update(self, data: object, *, last_try: bool = False) -> int:
        """Handle one update (webhook or polling); returns HANDLED, MALFORMED or RETRY_LATER.

        `last_try` (the poller, after several failures): a file Telegram still cannot give is
        refused rather than waited for, so the worker's text goes through.
        """
        try:
            incoming = parse_update(data, self.settings.media_max_bytes)
        except MalformedUpdate:
            log.warning("telegram update refused: not readable")
            return MALFORMED
        if incoming.ignored:
            # A group chat is never answered: a grievance there would be read by the group.
            log.info("telegram update ignored", extra={"reason": incoming.ignored})
            return HANDLED
        try:
            media, refused = self._media_once(incoming, last_try=last_try)
        except TelegramCallError:
            log.warning("telegram media not fetched; Telegram will deliver the update again", extra={"channel": "telegram"})
            return RETRY_LATER
        except CleaningElsewhere:  # another delivery of this update is on it: answered once, by that one
            return RETRY_LATER
        except Exception:  # the claim could not be taken (the database): nothing was stored
            log.exception("telegram media not claimed")
            return RETRY_LATER
        message = InboundMessage(
            channel="telegram", sender=str(incoming.chat_id), text=incoming.text, adapter=self.type,
            provider_id=incoming.provider_id,
            provider_ref=None if incoming.callback_id else str(incoming.message_id),
            media=media, refused_media=(*incoming.refused, *refused),
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
                text = self.services.intake.conversation.t(reply.language, "erase.too_old", count=count)
                notes = (enqueue(session, self.services.secrets, address, text),)
            # The bot's answers to DELETE go out after this: they are not kept (nothing of the chat stays).
            store.pass_next(self.type, str(chat_id), now, len(reply.outbound_ids) + len(notes))
        ids = message_ids([*reply.erase_refs, *recent])
        if ids:
            self._erase_soon(chat_id, [str(i) for i in ids])
        log.info("telegram chat erase", extra={"count": len(ids), "status": f"{len(too_old)} too old"})
        return notes

    def _count_failure(self, update_id: int) -> int:
        """RETRY_LATER, unless this update failed MAX_TRIES times with the database up: then HANDLED (skipped)."""
        tries = self.failures.pop(update_id, 0) + 1
        if tries >= MAX_TRIES and self.database_answers():
            self.skipped += 1
            log.error("telegram update skipped: it failed every try", extra={"count": tries})
            return HANDLED
        self.failures[update_id] = tries
        while len(self.failures) > _MAX_COUNTED:
            self.failures.pop(next(iter(self.failures)))
        return RETRY_LATER

    def database_answers(self) -> bool:
        """Whether the database is up: if not, a failure says nothing about the update itself."""
        try:
            with self.services.db.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def _media_once(self, incoming: Incoming, *, last_try: bool = False) -> Fetched:
        """The update's media, fetched and cleaned once whatever Telegram redelivers (`MediaWork`)."""
        if not incoming.media:
            return (), ()
        return self.media_work.fetch_once(self.type, incoming.provider_id,
                                          lambda work: self._fetch_media(incoming, work, last_try=last_try))

    def _fetch_media(self, incoming: Incoming, work: MessageMedia, *, last_try: bool = False) -> Fetched:
        """The update's media, fetched and cleaned, and the reasons of those not kept.

        Only a retryable Telegram error escapes (the update is tried again); anything
        else about a file costs that file, never the worker's text.
        """
        items: list[MediaItem] = []
        refused: list[str] = []
        for ref in incoming.media:
            try:
                check_type(ref.content_type)
                data = self.api.download(ref.file_id, self.settings.media_max_bytes)
                if data is None:
                    raise MediaRejected("too large", "too_large")
                items.append(work.clean(ref.content_type, data, self.settings.media_max_bytes))
            except TelegramCallError as error:
                if error.retryable and not last_try:  # the whole update is tried again later
                    raise
                log.info("telegram media not taken", extra={"reason": error.kind})  # e.g. too big for getFile
                # Refused by the Bot API (mostly "file is too big": over 20 MB), or still failing at the last try.
                refused.append("unreadable" if error.retryable else "too_large")
            except MediaRejected as error:  # the text (caption) still counts
                log.info("telegram media not taken", extra={"reason": str(error)})
                refused.append(error.reason)
            except Exception as error:  # a bug about one file must not stop the chat
                log.warning("telegram media not taken", extra={"reason": type(error).__name__})
                refused.append("unreadable")
        return tuple(items), tuple(refused)

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
