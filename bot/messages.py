"""Channel-neutral messages: what every channel adapter turns a provider request into.

`bot/` works only with these; it never sees a Twilio or Telegram object. Their
`repr` hides the address and the text, so a message that ends up in a log line
or an exception by mistake still leaks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class InboundMessage:
    """One message from a worker, as the channel received it."""

    channel: str  # "console", "sms", "whatsapp", "telegram"
    sender: str  # the address on that channel: phone number, chat id (never logged)
    text: str
    provider_id: str | None = None  # the provider's message id, for deduplication
    media: tuple[bytes, ...] = field(default=())

    def __repr__(self) -> str:
        return f"InboundMessage(channel={self.channel!r}, sender=<redacted>, text=<{len(self.text)} chars>)"


@dataclass(frozen=True)
class Reply:
    """What the bot answers to one inbound message."""

    texts: tuple[str, ...]
    case_code: str | None = None
    erase_messages: bool = False

    def __repr__(self) -> str:
        return f"Reply(texts=<{len(self.texts)}>, case_code={'<set>' if self.case_code else None})"
