"""Telegram updates (webhook body or one item of getUpdates) into what the adapter acts on.

Parsed with python-telegram-bot's `Update.de_json`, one update at a time, so
one update the library cannot read is refused alone. Only private chats are
taken: a grievance written in a group would be read by the group, so group
updates are ignored (and nothing of them is kept). Of a message, the text (or
caption), and photos, voice notes, audio files and images sent as files are
taken; videos and other documents are refused unfetched (the worker is told);
stickers, locations, contacts and other kinds are never read, and the worker
gets the usual "your message was empty" answer with the question again.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot, Message, Update
from telegram.constants import ChatType

from .media import IMAGE_FORMATS

IMAGE_DOCUMENT_TYPES = frozenset(IMAGE_FORMATS)  # an image sent "as a file" keeps its EXIF: cleaned like a photo


class MalformedUpdate(Exception):
    """Not an update python-telegram-bot can read."""


@dataclass(frozen=True)
class MediaRef:
    """A file to fetch with getFile: its id, its type, and its size if Telegram said."""

    file_id: str  # with the bot token, enough to download the file: never logged
    content_type: str
    size: int | None

    def __repr__(self) -> str:
        return f"MediaRef({self.content_type!r}, file_id=<redacted>, size={self.size})"


@dataclass(frozen=True)
class Incoming:
    """One update, reduced to what the adapter needs; `ignored` names why nothing is done."""

    update_id: int
    ignored: str | None = None  # "group", "unsupported": answered 200, nothing stored
    chat_id: int = 0
    message_id: int | None = None  # the worker's message, or the bot's message whose button was pressed
    text: str = ""
    media: tuple[MediaRef, ...] = ()
    callback_id: str | None = None  # set for a button press
    refused: tuple[str, ...] = ()  # attachments not even fetched, by reason ("type", "too_large")

    @property
    def provider_id(self) -> str:
        """The receipt key: the update, or for a press the keyboard's message (one answer per keyboard)."""
        if self.callback_id is not None:
            return f"press:{self.chat_id}:{self.message_id}"
        return str(self.update_id)

    def __repr__(self) -> str:
        return f"Incoming(ignored={self.ignored!r}, chat=<redacted>, text=<{len(self.text)} chars>, media={len(self.media)})"


def parse_update(data: object, bot: Bot, max_bytes: int) -> Incoming:
    """Read one update; raise `MalformedUpdate` when it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise MalformedUpdate("no update_id")
    try:
        update = Update.de_json(data, bot)
        return _well_typed(_read(update, max_bytes))
    except MalformedUpdate:
        raise
    except Exception:  # the library's message could quote the payload: drop it
        raise MalformedUpdate("unreadable update") from None


def _well_typed(incoming: Incoming) -> Incoming:
    """The library builds objects from JSON without checking types: a text that is a list, a chat
    id that is a string... Refuse such an update here rather than fail somewhere deeper."""
    if incoming.ignored is not None:
        return incoming
    checks = (
        isinstance(incoming.chat_id, int) and not isinstance(incoming.chat_id, bool),
        incoming.message_id is None or (isinstance(incoming.message_id, int) and not isinstance(incoming.message_id, bool)),
        isinstance(incoming.text, str),
        incoming.callback_id is None or isinstance(incoming.callback_id, str),
        all(isinstance(ref.file_id, str) and (ref.size is None or isinstance(ref.size, int)) for ref in incoming.media),
    )
    if not all(checks):
        raise MalformedUpdate("wrongly typed field")
    return incoming


def _read(update: Update, max_bytes: int) -> Incoming:
    if update.message is not None:
        return _from_message(update.update_id, update.message, max_bytes)
    query = update.callback_query
    if query is not None and query.message is not None:
        if query.message.chat.type != ChatType.PRIVATE:
            return Incoming(update.update_id, ignored="group")
        return Incoming(
            update.update_id, chat_id=query.message.chat.id, message_id=query.message.message_id,
            text=query.data or "", callback_id=query.id,
        )
    return Incoming(update.update_id, ignored="unsupported")  # edits, channel posts, inline queries...


def _from_message(update_id: int, message: Message, max_bytes: int) -> Incoming:
    if message.chat.type != ChatType.PRIVATE:
        return Incoming(update_id, ignored="group")
    text = message.text or message.caption or ""
    if text.startswith("/start"):
        # A deep link (t.me/bot?start=PAYLOAD) arrives as "/start PAYLOAD". The payload could tie the
        # worker to where they found the link; it is never kept. The engine knows "/start".
        text = text.split(maxsplit=1)[0]
    media, refused = _media(message, max_bytes)
    return Incoming(update_id, chat_id=message.chat.id, message_id=message.message_id, text=text, media=media, refused=refused)


def _media(message: Message, max_bytes: int) -> tuple[tuple[MediaRef, ...], tuple[str, ...]]:
    """The file to fetch, or why the attachment is refused unfetched (the worker is told)."""
    if message.photo:
        # Telegram sends each photo in several sizes: the largest that fits the limit.
        fitting = [p for p in message.photo if p.file_size is None or p.file_size <= max_bytes]
        if not fitting:
            return (), ("too_large",)
        largest = max(fitting, key=lambda p: (p.width * p.height, p.file_size or 0))
        return (MediaRef(largest.file_id, "image/jpeg", largest.file_size),), ()
    for recording in (message.voice, message.audio):  # a voice note, or a recorder app's file
        if recording:
            return (MediaRef(recording.file_id, recording.mime_type or "audio/ogg", recording.file_size),), ()
    document = message.document
    if document and (document.mime_type or "").lower() in IMAGE_DOCUMENT_TYPES:
        return (MediaRef(document.file_id, document.mime_type.lower(), document.file_size),), ()
    if document or message.video or message.video_note or message.animation:
        return (), ("type",)  # video and documents cannot be stripped of what names their author
    return (), ()
