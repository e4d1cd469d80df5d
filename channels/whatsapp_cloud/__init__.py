"""WhatsApp through Meta's Cloud API: the adapter, for NGOs that connect their number directly.

The pieces: `webhook` (handshake, signature, inbound messages and statuses),
`payload` (decoding Meta's webhook format), `compose` (message bodies, the
24-hour window, the template), `graph` (the Graph API calls and their errors).
Secrets come from `WHATSAPP_APP_SECRET`, `WHATSAPP_VERIFY_TOKEN` and
`WHATSAPP_ACCESS_TOKEN` (or the files/variables named in
`channels.whatsapp_cloud`); none of them, no number and no text is ever logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import httpx
from flask import Flask

from bot.config import ConfigError, WhatsAppCloudSettings
from bot.intake import Intake
from bot.messages import ReplyAddress
from channels.base import RunningBot, channel_secret

from .compose import addressed, reply_bodies, template_body, within_window
from .graph import GraphClient
from .webhook import ADAPTER, CHANNEL, Webhook

log = logging.getLogger(__name__)

SECTION = "channels.whatsapp_cloud"


class WhatsAppCloudAdapter:
    """The `whatsapp_cloud` channel: webhook in, Graph API out, one business phone number."""

    type = ADAPTER
    keeps_message_refs = False  # a business cannot delete WhatsApp messages: no ids worth keeping

    def __init__(
        self,
        settings: WhatsAppCloudSettings,
        *,
        app_secret: str,
        verify_token: str,
        access_token: str,
        intake: Intake,
        kick: Callable[[tuple[str, ...]], None],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not settings.phone_number_id:
            raise ConfigError(f"config error: {SECTION}.phone_number_id: required when the channel is enabled")
        self.settings = settings
        self.rate = settings.rate
        self._secrets = (app_secret, verify_token, access_token)
        self.graph = GraphClient(settings.graph_base_url, access_token, settings.phone_number_id, transport=transport)
        self.webhook = Webhook(
            app_secret=app_secret,
            verify_token=verify_token,
            phone_number_id=settings.phone_number_id,
            intake=intake,
            graph=self.graph,
            media_max_bytes=settings.media_max_bytes,
            kick=kick,
        )

    @classmethod
    def from_services(cls, services: RunningBot) -> WhatsAppCloudAdapter:
        section = services.settings.channels.whatsapp_cloud
        if not section.phone_number_id:  # before the secrets: the config itself is incomplete
            raise ConfigError(f"config error: {SECTION}.phone_number_id: required when the channel is enabled")

        def kick(ids: tuple[str, ...]) -> None:
            if services.dispatcher is not None:
                services.dispatcher.kick(ids)

        return cls(
            section,
            app_secret=channel_secret(services, section.app_secret, f"{SECTION}.app_secret"),
            verify_token=channel_secret(services, section.verify_token, f"{SECTION}.verify_token"),
            access_token=channel_secret(services, section.access_token, f"{SECTION}.access_token"),
            intake=services.intake,
            kick=kick,
        )

    def register(self, app: Flask) -> None:
        app.register_blueprint(self.webhook.blueprint())

    def send(self, address: ReplyAddress, text: str, choices: Sequence[tuple[str, str]] = ()) -> str | None:
        """Send within the 24-hour window as text/buttons/list, else the template; return the last wamid."""
        if within_window(address.last_inbound_at):
            bodies = reply_bodies(text, choices)
        else:
            # Meta refuses free-form text now; the template only says "reply to see an update".
            log.info("outside the 24-hour window: template sent", extra={"channel": CHANNEL})
            bodies = [template_body(self.settings.template_name, self.settings.template_language)]
        wamid = None
        for body in bodies:
            wamid = self.graph.post_message(addressed(body, address.address))
        return wamid

    def erase(self, address: ReplyAddress, refs: Sequence[str]) -> None:
        # WhatsApp lets a business delete nothing in the worker's chat; the intake erased our side.
        return None

    @property
    def failures_by_code(self) -> dict[str, int]:
        """Delivery failures Meta reported in status webhooks, by Graph error code."""
        return dict(self.webhook.failures_by_code)

    def secret_values(self) -> tuple[str, ...]:
        return self._secrets

    def close(self) -> None:
        self.graph.close()
