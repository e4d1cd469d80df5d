"""The console channel: a worker conversation from a terminal or a pipe (`grievance chat`).

It runs the same intake, engine and storage as the webhooks, so a local trial
exercises the real path. The channel type can be set to sms, whatsapp or
telegram to try how a conversation on that channel is stored and sealed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from flask import Flask

from bot.intake import Intake
from bot.messages import InboundMessage, Reply, ReplyAddress

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


class ConsoleChannel:
    """Reads worker messages from lines of text and writes the bot's replies."""

    type = "console"
    rate = None
    keeps_message_refs = False

    def __init__(self, intake: Intake, *, channel_type: str = "console", internal_error_text: str = "") -> None:
        self.intake = intake
        self.channel_type = channel_type
        self.internal_error_text = internal_error_text

    @classmethod
    def from_services(cls, services: Services) -> ConsoleChannel:
        default = services.settings.deployment.default_language
        return cls(services.intake, internal_error_text=services.catalogs.text(default, "error.internal"))

    def register(self, app: Flask) -> None:  # no webhook: the console is local
        return None

    def send(self, address: ReplyAddress, text: str, choices: Sequence[tuple[str, str]] = ()) -> str | None:
        # A terminal that has gone away cannot be reached later: say so, once, in the log.
        log.info("console message not delivered: the console has no later delivery")
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
        """One worker message per line in, the bot's replies out."""
        for line in lines:
            reply = self.receive(sender, line.rstrip("\r\n"))
            for text in reply.texts:
                write(text)
            if after_each:
                after_each()

    def receive(self, sender: str, text: str) -> Reply:
        message = InboundMessage(channel=self.channel_type, sender=sender, text=text, adapter=self.type)
        try:
            return self.intake.receive(message)
        except Exception:  # the worker gets a plain apology, never a stack trace
            log.exception("message not handled")
            return Reply((self.internal_error_text,))
