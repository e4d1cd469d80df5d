"""Channel-neutral messages: what every channel adapter turns a provider request into.

`bot/` works only with these; it never sees a Twilio or Telegram object. Their
`repr` hides addresses, text and media, so a message that ends up in a log line
or an exception by mistake still leaks nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True)
class ReplyAddress:
    """Where and how to reach a worker: kept only encrypted, and only while replies need it."""

    adapter: str  # the adapter that received the message ("twilio", "telegram", ...) and sends replies
    channel: str  # "console", "sms", "whatsapp", "telegram", "messenger", "line"
    address: str  # phone number (E.164) or chat id: never logged
    last_inbound_at: datetime | None = None  # WhatsApp's 24-hour window opens at the worker's last message
    # The language the worker reads, where a message is queued for them (an SMS is folded to GSM-7 by it).
    language: str | None = None

    def to_json(self) -> bytes:
        fields = {
            "adapter": self.adapter,
            "channel": self.channel,
            "address": self.address,
            "last_inbound_at": self.last_inbound_at.isoformat() if self.last_inbound_at else None,
        }
        if self.language:
            fields["language"] = self.language
        return json.dumps(fields).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ReplyAddress:
        fields = json.loads(data)
        seen = fields.get("last_inbound_at")
        return cls(
            adapter=fields.get("adapter", fields["channel"]),
            channel=fields["channel"],
            address=fields["address"],
            last_inbound_at=datetime.fromisoformat(seen) if seen else None,
            language=fields.get("language"),
        )

    def __repr__(self) -> str:
        return f"ReplyAddress(adapter={self.adapter!r}, channel={self.channel!r}, address=<redacted>)"


@dataclass(frozen=True)
class MediaItem:
    """A photo or voice note the worker sent, already fetched (and stripped of metadata).

    A recording says how long it is (`seconds`) and which voice it carries (`voice`): "disguised"
    (what the team hears) or "original" (kept only where the deployment turns that on). A
    disguised recording may carry its `original` along until the report keeps both.
    """

    content_type: str
    data: bytes
    seconds: float | None = None
    voice: str | None = None  # "disguised" or "original", for recordings
    original: bytes | None = None  # the undisguised recording, where the deployment keeps it

    @property
    def is_voice(self) -> bool:
        return self.content_type.startswith("audio/")

    def __repr__(self) -> str:
        return f"MediaItem({self.content_type!r}, <{len(self.data)} bytes>, voice={self.voice!r})"


@dataclass(frozen=True)
class InboundMessage:
    """One message from a worker, as the channel received it."""

    channel: str  # "console", "sms", "whatsapp", "telegram", "messenger", "line"
    sender: str  # the address on that channel: phone number (E.164), chat id (never logged)
    text: str
    adapter: str = "console"  # which adapter received it (and will send replies)
    provider_id: str | None = None  # the provider's id of this delivery, for deduplication
    provider_ref: str | None = None  # the provider's id of the message, e.g. to delete it later
    media: tuple[MediaItem, ...] = field(default=())
    # Attachments the channel could not keep, by reason ("type", "too_large", "unreadable"): the
    # worker is told, in their language, what was not kept and why.
    refused_media: tuple[str, ...] = field(default=())

    @property
    def reply_address(self) -> ReplyAddress:
        return ReplyAddress(adapter=self.adapter, channel=self.channel, address=self.sender)

    @property
    def reserves_opt_out_words(self) -> bool:
        """The channel itself acts on whole-message opt-out words: on SMS, STOP, CANCEL, END,
        QUIT... opt the number out (carriers, Twilio), so the bot must never ask for them."""
        return self.channel == "sms"

    @property
    def chat_stays_on_phone(self) -> bool:
        """After DELETE the chat's messages stay on the worker's phone, and the worker is told so:
        SMS, WhatsApp, Messenger and LINE let no bot delete them. (Telegram deletes what it allows
        and says what it could not; the console has no phone.)"""
        return self.channel not in ("telegram", "console")

    def with_text(self, text: str) -> InboundMessage:
        return replace(self, text=text)

    def __repr__(self) -> str:
        return (
            f"InboundMessage(adapter={self.adapter!r}, channel={self.channel!r}, sender=<redacted>, "
            f"text=<{len(self.text)} chars>, media={len(self.media)}, refused={len(self.refused_media)})"
        )


@dataclass(frozen=True)
class Reply:
    """What the bot answers to one inbound message."""

    texts: tuple[str, ...]
    case_code: str | None = None
    erase_messages: bool = False  # DELETE: remove the chat's messages where the channel allows
    erase_refs: tuple[str, ...] = ()  # provider message ids of this conversation, for erase_messages
    duplicate: bool = False  # the provider delivered this message before: answer nothing
    queued: bool = False  # the replies went to the outbound queue (not to be sent inline)
    outbound_ids: tuple[str, ...] = ()  # their ids in the outbound queue, to send them at once
    language: str | None = None  # the conversation's language, for wording the channel adds
    choices: tuple[tuple[str, str], ...] = ()  # (answer, label) of the question asked, for buttons

    def __repr__(self) -> str:
        return f"Reply(texts=<{len(self.texts)}>, case_code={'<set>' if self.case_code else None}, duplicate={self.duplicate})"
