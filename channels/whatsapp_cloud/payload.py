"""Decoding a Cloud API webhook into small channel-neutral pieces, before anything is handled.

Meta posts `{"object": "whatsapp_business_account", "entry": [{"changes": [{"field":
"messages", "value": {...}}]}]}`; one `value` carries the business number's
`metadata`, and `messages` from workers and/or `statuses` of what we sent. The
whole payload is validated first: one that is not a webhook, or a message
without an id or a usable sender, is refused as a whole (400), so nothing is
half-handled. Anything less is not malformed: an unreadable nested part (an
image without its id, a text body that is a number) or a message type we do
not read leaves the message with what remains, at worst empty (the worker is
told it was empty and asked again); an unreadable delivery status is skipped.
Validation errors are never shown or logged: they would quote the input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from channels.base import is_bsuid

MEDIA_TYPES = ("image", "audio", "voice", "video", "document")
# Not a message to answer. "edit" and "revoke" change or delete a message taken when it came (as
# Telegram edits, they are not taken again).
IGNORED_TYPES = frozenset({"reaction", "system", "request_welcome", "ephemeral", "edit", "revoke"})
_DIGITS = re.compile(r"\d{4,20}")


class MalformedPayload(Exception):
    """The body is not a Cloud API webhook we can read (answer 400)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Text(_Model):
    body: str = ""


class _ReplyPick(_Model):
    id: str
    title: str = ""


class _Interactive(_Model):
    type: str
    button_reply: _ReplyPick | None = None
    list_reply: _ReplyPick | None = None


class _Button(_Model):  # a tap on a template's quick-reply button
    payload: str = ""
    text: str = ""


class _Media(_Model):
    id: str
    mime_type: str = ""
    caption: str = ""


class _Location(_Model):
    latitude: float | None = None
    longitude: float | None = None
    name: str = ""
    address: str = ""


class _Message(_Model):
    # `from` is the number in digits; a worker with a username may have no number to show: then
    # `from` holds their business-scoped user id (BSUID), or is absent and only `from_user_id` has it.
    sender: str | None = Field(default=None, alias="from")
    user_id: str | None = Field(default=None, alias="from_user_id")
    id: str = Field(min_length=1, max_length=512)
    type: str
    text: _Text | None = None
    interactive: _Interactive | None = None
    button: _Button | None = None
    image: _Media | None = None
    audio: _Media | None = None
    voice: _Media | None = None
    video: _Media | None = None
    document: _Media | None = None
    location: _Location | None = None
    group_id: object = None  # set when the message was posted in a WhatsApp group

    @field_validator("text", "interactive", "button", *MEDIA_TYPES, "location", mode="wrap")
    @classmethod
    def _unreadable_part_is_dropped(cls, value, handler):
        # One odd nested object must not cost the worker their message (nor Meta's retries for
        # days): the part is dropped and the message handled with what remains, at worst as empty.
        try:
            return handler(value)
        except ValidationError:
            return None

    @model_validator(mode="after")
    def _one_usable_sender(self) -> _Message:
        if self.sender is not None:
            if not (_DIGITS.fullmatch(self.sender) or is_bsuid(self.sender)):
                raise ValueError("from is neither a number nor a BSUID")
        elif self.user_id is None or not is_bsuid(self.user_id):
            raise ValueError("no sender")
        return self

    @property
    def address(self) -> str:
        """The worker's address: "+" and the number when Meta shows it, else the BSUID as received."""
        if self.sender is not None and _DIGITS.fullmatch(self.sender):
            return "+" + self.sender
        return self.sender or self.user_id or ""


class _Error(_Model):
    code: int | None = None


class _Status(_Model):
    status: str
    errors: tuple[_Error, ...] = ()


class _Metadata(_Model):
    phone_number_id: str


class _Value(_Model):
    metadata: _Metadata
    messages: tuple[_Message, ...] = ()
    statuses: tuple[_Status, ...] = ()

    @field_validator("statuses", mode="before")
    @classmethod
    def _readable_statuses_only(cls, value):
        # A status only counts failures: an unreadable one is skipped, never the messages beside it.
        if not isinstance(value, list | tuple):
            return ()
        return tuple(status for status in (_status_or_none(item) for item in value) if status is not None)


_STATUS = TypeAdapter(_Status)


def _status_or_none(item: object) -> _Status | None:
    try:
        return _STATUS.validate_python(item)
    except ValidationError:
        return None


class _Change(_Model):
    field: str = "messages"
    value: dict


class _Entry(_Model):
    changes: tuple[_Change, ...] = ()


class _Payload(_Model):
    object: str
    entry: tuple[_Entry, ...]


@dataclass(frozen=True)
class IncomingMessage:
    """One worker message: the sender's E.164 number (or BSUID), its wamid, its text and any media to fetch."""

    phone_number_id: str
    sender: str
    wamid: str
    kind: str
    text: str
    media_id: str | None = None
    media_type: str = ""
    in_group: bool = False  # posted in a group: read by the group, so never answered nor kept

    def __repr__(self) -> str:
        return f"IncomingMessage(kind={self.kind!r}, sender=<redacted>, text=<{len(self.text)} chars>)"


@dataclass(frozen=True)
class DeliveryStatus:
    """What became of a message we sent: sent, delivered, read or failed (with Graph error codes)."""

    phone_number_id: str
    status: str
    error_codes: tuple[int, ...] = ()


def decode(raw: bytes) -> tuple[list[IncomingMessage], list[DeliveryStatus]]:
    """Every message and status in a webhook body; `MalformedPayload` if any part is unreadable."""
    try:
        payload = _Payload.model_validate_json(raw)
        if payload.object != "whatsapp_business_account":
            return [], []
        values = [_Value.model_validate(c.value) for e in payload.entry for c in e.changes if c.field == "messages"]
    except (ValidationError, ValueError):
        raise MalformedPayload("not a Cloud API webhook") from None
    messages, statuses = [], []
    for value in values:
        number = value.metadata.phone_number_id
        messages += [m for m in (_incoming(number, message) for message in value.messages) if m is not None]
        for status in value.statuses:
            codes = tuple(error.code for error in status.errors if error.code is not None)
            statuses.append(DeliveryStatus(number, status.status, codes))
    return messages, statuses


def _incoming(number: str, message: _Message) -> IncomingMessage | None:
    if message.type in IGNORED_TYPES:
        return None
    if message.group_id is not None:
        return IncomingMessage(number, message.address, message.id, message.type, "", in_group=True)
    base = {"phone_number_id": number, "sender": message.address, "wamid": message.id, "kind": message.type}
    if message.type == "text" and message.text is not None:
        return IncomingMessage(**base, text=message.text.body)
    if message.type == "interactive" and message.interactive is not None:
        # A tapped button or list row comes back as its id: the answer value we sent ("2").
        pick = message.interactive.button_reply or message.interactive.list_reply
        return IncomingMessage(**base, text=pick.id if pick else "")
    if message.type == "button" and message.button is not None:
        return IncomingMessage(**base, text=message.button.payload or message.button.text)
    if message.type in MEDIA_TYPES and getattr(message, message.type) is not None:
        media: _Media = getattr(message, message.type)
        return IncomingMessage(**base, text=media.caption, media_id=media.id, media_type=media.mime_type)
    if message.type == "location" and message.location is not None:
        return IncomingMessage(**base, text=_location_text(message.location))
    # Stickers, contact cards (other people's numbers: never kept), polls, "unsupported": no text.
    return IncomingMessage(**base, text="")


def _location_text(location: _Location) -> str:
    """A shared location, as the worker's answer (e.g. where the workplace is)."""
    parts = [part for part in (location.name, location.address) if part]
    if location.latitude is not None and location.longitude is not None:
        parts.append(f"{location.latitude:.5f}, {location.longitude:.5f}")
    return "\n".join(parts)
