"""Decoding the Messenger Platform's webhook: a Page's inbox, one event at a time.

Meta batches events (`entry[].messaging[]`). Each event is read on its own, so one
odd event (a reaction, a read receipt, a shape this code has not seen) never drops the
others: what is not a worker's message is skipped, and only a body that is not a Page
webhook at all is refused. Echoes of the Page's own messages, deliveries, reads,
reactions and referrals are ignored. The sender is a page-scoped id (PSID): an address
like a phone number, which the intake keeps only blind-indexed and encrypted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, ValidationError

MEDIA_TYPES = ("image", "audio")  # what the hotline takes from Messenger (photos, voice notes)
REFUSED_TYPES = ("video", "file")  # refused unfetched: they cannot be stripped of what names their author


class MalformedPayload(Exception):
    """The body is not a Messenger webhook (fixed message, no content)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Party(_Model):
    id: str


class _QuickReply(_Model):
    payload: str


class _AttachmentPayload(_Model):
    url: str | None = None


class _Attachment(_Model):
    type: str
    payload: _AttachmentPayload | None = None


class _Message(_Model):
    mid: str
    text: str | None = None
    is_echo: bool = False
    quick_reply: _QuickReply | None = None
    attachments: list[_Attachment] = []


class _Postback(_Model):
    payload: str | None = None
    mid: str | None = None


class _Event(_Model):
    sender: _Party
    recipient: _Party
    timestamp: int | None = None
    message: _Message | None = None
    postback: _Postback | None = None


@dataclass(frozen=True)
class IncomingMessage:
    """A worker's message to the Page: who (PSID), which Page, the message id, text, media URLs."""

    page_id: str
    sender: str
    mid: str
    text: str
    media: tuple[tuple[str, str], ...]  # (kind, url)
    refused: tuple[str, ...] = ()  # attachments not even fetched, by reason ("type")

    def __repr__(self) -> str:  # never the sender or the text
        return f"IncomingMessage(page={self.page_id!r}, mid=…, media={len(self.media)})"


def decode(raw: bytes) -> list[IncomingMessage]:
    """The workers' messages in a webhook body; raises `MalformedPayload` only for a body that is not a Page webhook."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedPayload("not JSON") from None
    if not isinstance(document, dict) or document.get("object") != "page" or not isinstance(document.get("entry"), list):
        raise MalformedPayload("not a Page webhook")
    found = []
    for entry in document["entry"]:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        if not isinstance(events, list):
            continue
        for raw_event in events:
            incoming = _incoming(raw_event)
            if incoming is not None:
                found.append(incoming)
    return found


def _incoming(raw_event: object) -> IncomingMessage | None:
    try:
        event = _Event.model_validate(raw_event)
    except ValidationError:
        return None  # not a message event this adapter knows: skipped, the others go on
    if event.postback is not None and event.postback.payload:  # a tap on a button of ours
        mid = event.postback.mid or f"postback-{event.timestamp}-{event.sender.id}"
        return IncomingMessage(event.recipient.id, event.sender.id, mid, event.postback.payload, ())
    message = event.message
    if message is None or message.is_echo:
        return None
    text = message.quick_reply.payload if message.quick_reply else (message.text or "")
    media = tuple((a.type, a.payload.url) for a in message.attachments
                  if a.type in MEDIA_TYPES and a.payload is not None and a.payload.url)
    refused = tuple("type" for a in message.attachments if a.type in REFUSED_TYPES)
    if not text and not media and not refused:
        return None  # a sticker, a location, a reaction: nothing the hotline reads
    return IncomingMessage(event.recipient.id, event.sender.id, message.mid, text, media, refused)
