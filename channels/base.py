"""The contract every channel adapter implements, and what adapters share.

An adapter (1) verifies that a request really comes from its provider, before
parsing anything, and fails closed; (2) turns the provider's payload into
channel-neutral `InboundMessage`s; (3) hands each to `Intake.receive` and
answers in the provider's format; (4) sends messages that are not immediate
replies, raising `SendError` that says whether a retry can help. It also names
the secret values it holds, so tests can prove they never reach a log. It is built
from a `RunningBot`: the parts of the running bot an adapter may use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from flask import Flask

from bot.config import RateLimit, SecretSource, Settings
from bot.messages import ReplyAddress
from storage.keys import read_secret

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from bot.i18n import Catalogs
    from bot.intake import Intake
    from storage.crypto import ServerSecrets


# A WhatsApp user with a username may hide their number: Meta and Twilio then name them by a
# business-scoped user id (BSUID): a two-letter country code, a dot, up to 128 letters and digits
# ("US.13491208655302741918"; a parent BSUID has ".ENT." in it). It is an address like a phone
# number: blind-indexed and encrypted, never logged, and answered exactly as received.
_BSUID = re.compile(r"[A-Z]{2}(?:\.ENT)?\.[A-Za-z0-9]{1,128}")


def is_bsuid(value: str) -> bool:
    """True when `value` is shaped like a WhatsApp business-scoped user id."""
    return _BSUID.fullmatch(value) is not None


class SendError(Exception):
    """Sending failed; `retryable` tells the dispatcher whether to try again.

    The message must never contain the address or the text: it is stored (as the
    last error of the queued message) and logged. A provider's error code is fine.
    """

    def __init__(self, message: str, *, retryable: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code  # the provider's error code, when it gave one


class Kicks(Protocol):
    """What an adapter needs of the outbound dispatcher (`channels.dispatcher.Dispatcher` is one)."""

    def kick(self, ids: tuple[str, ...]) -> None:
        """Send these freshly queued messages soon, off the request thread."""


class RunningBot(Protocol):
    """What an adapter is built from (`from_services`): the parts of the running bot it may use.

    `bot.services.Services` is one. The contract names them here, so that channels/ depends on
    those parts (settings, intake, catalogs, database) and never on the module that assembles
    the bot, which itself builds the adapters. Read-only: an adapter keeps what it needs.
    """

    @property
    def settings(self) -> Settings: ...

    @property
    def secrets(self) -> ServerSecrets: ...

    @property
    def db(self) -> Engine: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def catalogs(self) -> Catalogs: ...

    @property
    def intake(self) -> Intake: ...

    @property
    def dispatcher(self) -> Kicks | None:
        """None until the bot has built its dispatcher (after the adapters)."""


class ChannelAdapter(Protocol):
    """One messaging channel (one provider), possibly serving several channel types."""

    type: str  # key in the `channels` config section and in `ReplyAddress.adapter`
    rate: RateLimit | None  # sending limits the dispatcher keeps to
    keeps_message_refs: bool  # True: ids of sent messages are remembered for DELETE

    @classmethod
    def from_services(cls, services: RunningBot) -> ChannelAdapter:
        """Build the adapter; raise `ConfigError` (one line naming the key) when a secret is missing."""

    def register(self, app: Flask) -> None:
        """Add the channel's webhook routes to the public app."""

    def send(self, address: ReplyAddress, text: str, choices: Sequence[tuple[str, str]] = ()) -> str | None:
        """Send a message that is not an immediate reply; return the provider's message id.

        `choices` are (answer, label) pairs of the question asked: a channel with buttons
        shows the labels, and a tap must come back as the answer text (e.g. "2")."""

    def erase(self, address: ReplyAddress, refs: Sequence[str]) -> None:
        """Delete these messages from the chat where the provider still allows it (best effort)."""

    def secret_values(self) -> tuple[str, ...]:
        """Secrets this adapter holds (tokens), for leak tests."""

    def close(self) -> None:
        """Release connections and threads."""


def channel_secret(services: RunningBot, source: SecretSource, key: str) -> str:
    """A channel secret, stripped; a missing one stops start-up with one line naming `key`."""
    return read_secret(services.settings, source, key).strip()
