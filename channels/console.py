"""The console channel: a worker conversation from a terminal or a pipe (`grievance chat`).

It runs the same intake, conversation and storage as the webhooks, so a local trial
exercises the real path. The channel type can be set to sms, whatsapp or
telegram to try how a conversation on that channel is stored and sealed.

What the hotline sends later (the team's messages, "did it help?") waits in the outbound
queue like any other channel's, in the chat's order; no dispatcher sends it
(`reader_delivered`): `grievance chat` reads its own chat's messages as they come, so the
person playing the worker sees the whole dialogue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from flask import Flask

from bot.intake import Intake
from bot.messages import InboundMessage, Reply, ReplyAddress
from storage.outbound import OutboundQueue, chat_of

from .base import RunningBot

log = logging.getLogger(__name__)


class ConsoleChannel:
    """Reads worker messages from lines of text and writes the bot's replies."""

    type = "console"
    rate = None
    keeps_message_refs = False
    reader_delivered = True  # no dispatcher sends its messages: `grievance chat` reads them (`delivered`)

    def __init__(self, intake: Intake, *, channel_type: str = "console", internal_error_text: str = "",
                 queue: OutboundQueue | None = None) -> None:
        self.intake = intake
        self.channel_type = channel_type
        self.internal_error_text = internal_error_text
        self.queue = queue

    @classmethod
    def from_services(cls, services: RunningBot) -> ConsoleChannel:
        default = services.settings.deployment.default_language
        return cls(services.intake, internal_error_text=services.catalogs.text(default, "error.internal"))

    def register(self, app: Flask) -> None:  # no webhook: the console is local
        return None

    def send(self, address: ReplyAddress, text: str, choices: Sequence[tuple[str, str]] = ()) -> str | None:
        # No dispatcher is given this adapter (`reader_delivered`): `grievance chat` reads the queue.
        log.info("console message left to the chat: the console has no other delivery")
        return None

    def erase(self, address: ReplyAddress, refs: Sequence[str]) -> None:
        return None

    def secret_values(self) -> tuple[str, ...]:
        return ()

    def close(self) -> None:
        return None

    def converse(
        self,
        sender: str,
        lines: Iterable[str],
        write: Callable[[str], None],
        after_each: Callable[[], None] | None = None,
    ) -> None:
        """One worker message per line in, the bot's replies out; what the hotline sent meanwhile is
        written before the next reply, in the order it was sent."""
        for line in lines:
            for text in self.delivered(sender):
                write(text)
            reply = self.receive(sender, line.rstrip("\r\n"))
            for text in reply.texts:
                write(text)
            if after_each:
                after_each()
            for text in self.delivered(sender):
                write(text)

    def delivered(self, sender: str) -> list[str]:
        """What the hotline queued for this chat since it last looked (the team's messages), in order;
        each is taken off the queue as it is read, as a provider would take it."""
        if self.queue is None:
            return []
        chat = chat_of(self.queue.secrets, ReplyAddress(self.type, self.channel_type, sender))
        texts = []
        item = self.queue.claim_next(chat, {self.type})
        while item is not None:
            texts.append(item.text)
            item = self.queue.sent(item.id, chat=chat, then={self.type}).next
        return texts

    def receive(self, sender: str, text: str) -> Reply:
        message = InboundMessage(channel=self.channel_type, sender=sender, text=text, adapter=self.type)
        try:
            return self.intake.receive(message)
        except Exception:  # the worker gets a plain apology, never a stack trace
            log.exception("message not handled")
            return Reply((self.internal_error_text,))
