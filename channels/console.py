"""The console channel: a worker conversation from a terminal or a pipe (`grievance chat`).

It runs the same intake, engine and storage as the webhooks, so a local trial
exercises the real path. The channel type can be set to sms, whatsapp or
telegram to try how a conversation on that channel is stored and sealed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from flask import Flask

from bot.intake import Intake
from bot.messages import InboundMessage, Reply

log = logging.getLogger(__name__)


class ConsoleChannel:
    """Reads worker messages from lines of text and writes the bot's replies."""

    type = "console"

    def __init__(self, intake: Intake, *, channel_type: str = "console", internal_error_text: str = "") -> None:
        self.intake = intake
        self.channel_type = channel_type
        self.internal_error_text = internal_error_text

    def register(self, app: Flask, intake: Intake) -> None:  # no webhook: the console is local
        return None

    def send(self, address: str, text: str) -> None:
        print(text)

    def secret_values(self) -> tuple[str, ...]:
        return ()

    def converse(
        self,
        sender: str,
        lines: Iterable[str],
        write: Callable[[str], None],
        after_each: Callable[[], None] | None = None,
    ) -> None:
        """One worker message per line in, the bot's replies out."""
        for line in lines:
            reply = self.receive(sender, line.rstrip("\r\n"))
            for text in reply.texts:
                write(text)
            if after_each:
                after_each()

    def receive(self, sender: str, text: str) -> Reply:
        try:
            return self.intake.receive(InboundMessage(channel=self.channel_type, sender=sender, text=text))
        except Exception:  # the worker gets a plain apology, never a stack trace
            log.exception("message not handled")
            return Reply((self.internal_error_text,))
