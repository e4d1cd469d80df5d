"""Telegram updates (webhook body or one item of getUpdates) into what the adapter acts on.

Read field by field from the JSON, one update at a time, taking only what the
hotline uses: the chat (its id and type), the message id, the text or caption,
photos, voice notes and images sent as files, and a button press. Whatever else
the update holds is never read, so an object the hotline does not use cannot
cost the worker their message: a sticker of an older shape, an empty thumbnail,
a poll without a newer field, a user without `is_bot` (python-telegram-bot's
`Update.de_json` refuses each of those whole). A part that is used but
unreadable is dropped alone (a photo size without a file id, a text that is not
a string); only an update that cannot be a message at all is refused: no
`update_id`, or a message without a readable chat or message id.

Only private chats are taken: a grievance written in a group would be read by
the group, so group updates are ignored (and nothing of them is kept).
Stickers, locations, contacts and other kinds are never read; the worker gets
the usual "your message was empty" answer with the question again. Photos,
voice notes, audio files and images sent as files are taken; videos and other
documents are refused unfetched (they cannot be stripped of what names their
author), and the worker is told.
"""

from __future__ import annotations

from dataclasses import dataclass

from .media import IMAGE_FORMATS

IMAGE_DOCUMENT_TYPES = frozenset(IMAGE_FORMATS)  # an image sent "as a file" keeps its EXIF: cleaned like a photo
PRIVATE = "private"


class MalformedUpdate(Exception):
    """Not an update that can be read (the reason is a fixed phrase, safe to log)."""


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


def _int(value: object) -> int | None:
    """An integer as JSON has it (a boolean is not one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def parse_update(data: object, max_bytes: int) -> Incoming:
    """Read one update; raise `MalformedUpdate` when it cannot be one."""
    if not isinstance(data, dict):
        raise MalformedUpdate("not an object")
    update_id = _int(data.get("update_id"))
    if update_id is None:
        raise MalformedUpdate("no update_id")
    if data.get("message") is not None:
        return _from_message(update_id, data["message"], max_bytes)
    if data.get("callback_query") is not None:
        return _from_press(update_id, data["callback_query"])
    return Incoming(update_id, ignored="unsupported")  # edits, channel posts, inline queries, member changes...


def _message_object(message: object) -> dict:
    if not isinstance(message, dict):
        raise MalformedUpdate("message is not an object")
    return message


def _chat(message: dict) -> tuple[int, str, int]:
    """(chat id, chat type, message id) of a message; `MalformedUpdate` when any is missing."""
    chat = _dict(message.get("chat"))
    chat_id, chat_type, message_id = _int(chat.get("id")), _str(chat.get("type")), _int(message.get("message_id"))
    if chat_id is None or chat_type is None or message_id is None:
        raise MalformedUpdate("message without a readable chat or id")
    return chat_id, chat_type, message_id


def _from_message(update_id: int, message: object, max_bytes: int) -> Incoming:
    message = _message_object(message)
    chat_id, chat_type, message_id = _chat(message)
    if chat_type != PRIVATE:
        return Incoming(update_id, ignored="group")
    text = _str(message.get("text")) or _str(message.get("caption")) or ""
    if text.startswith("/start"):
        # A deep link (t.me/bot?start=PAYLOAD) arrives as "/start PAYLOAD". The payload could tie the
        # worker to where they found the link; it is never kept. The engine knows "/start".
        text = text.split(maxsplit=1)[0]
    media, refused = _media(message, max_bytes)
    return Incoming(update_id, chat_id=chat_id, message_id=message_id, text=text, media=media, refused=refused)


def _from_press(update_id: int, query: object) -> Incoming:
    query = _dict(query)
    callback_id = _str(query.get("id"))
    if query.get("message") is None or callback_id is None:
        # A press on a message sent in inline mode has no chat: nothing to answer in a chat.
        return Incoming(update_id, ignored="unsupported")
    chat_id, chat_type, message_id = _chat(_message_object(query["message"]))
    if chat_type != PRIVATE:
        return Incoming(update_id, ignored="group")
    return Incoming(update_id, chat_id=chat_id, message_id=message_id, text=_str(query.get("data")) or "",
                    callback_id=callback_id)


def _file(item: object, content_type: str) -> MediaRef | None:
    """A file object's reference, or None when it has no usable file id."""
    item = _dict(item)
    file_id = _str(item.get("file_id"))
    return MediaRef(file_id, content_type, _int(item.get("file_size"))) if file_id else None


def _media(message: dict, max_bytes: int) -> tuple[tuple[MediaRef, ...], tuple[str, ...]]:
    """The file to fetch, or why the attachment is refused unfetched (the worker is told)."""
    photo = message.get("photo")
    if isinstance(photo, list) and photo:
        # Telegram sends each photo in several sizes: the largest readable one that fits the limit.
        sizes = []
        for item in photo:
            ref = _file(item, "image/jpeg")
            if ref is not None and (ref.size is None or ref.size <= max_bytes):
                area = (_int(item.get("width")) or 0) * (_int(item.get("height")) or 0)
                sizes.append((area, ref.size or 0, ref))
        if sizes:
            return (max(sizes, key=lambda size: size[:2])[2],), ()
        return (), (("too_large",) if any(_file(item, "image/jpeg") for item in photo) else ())
    for kind in ("voice", "audio"):  # a voice note, or a recorder app's file
        recording = _dict(message.get(kind))
        if recording:
            ref = _file(recording, (_str(recording.get("mime_type")) or "audio/ogg").lower())
            return ((ref,), ()) if ref else ((), ())
    document = _dict(message.get("document"))
    content_type = (_str(document.get("mime_type")) or "").lower()
    if content_type in IMAGE_DOCUMENT_TYPES:
        ref = _file(document, content_type)
        return ((ref,), ()) if ref else ((), ())
    if document or any(message.get(kind) is not None for kind in ("video", "video_note", "animation")):
        return (), ("type",)  # video and documents cannot be stripped of what names their author
    return (), ()
