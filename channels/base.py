"""The contract every channel adapter implements.

An adapter (1) verifies that a request really comes from its provider, before
parsing anything, and fails closed; (2) turns the provider's payload into
channel-neutral `InboundMessage`s; (3) hands each to `Intake.receive` and
answers in the provider's format; (4) sends messages that are not immediate
replies, raising `SendError` that says whether a retry can help. It also names
the secret values it holds, so tests can prove they never reach a log.
"""

from __future__ import annotations

from typing import Protocol

from flask import Flask

from bot.intake import Intake


class SendError(Exception):
    """Sending failed; `retryable` tells the outbound sender whether to try again."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class VerificationError(Exception):
    """The request is not from the provider (bad or missing signature or secret)."""


class ChannelAdapter(Protocol):
    """One messaging channel."""

    type: str  # the channel type in config and in `InboundMessage.channel`

    def register(self, app: Flask, intake: Intake) -> None:
        """Add the channel's webhook routes to the public app (none for the console)."""

    def send(self, address: str, text: str) -> None:
        """Send a message that is not an immediate reply; raise `SendError` on failure."""

    def secret_values(self) -> tuple[str, ...]:
        """Secrets this adapter holds (tokens), for leak tests."""
