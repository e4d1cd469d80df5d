"""The explicit list of channel adapters, keyed by their `channels` config section.

Listed here by import path and imported only when enabled, so a deployment
that does not use a channel needs none of its provider's libraries loaded.
Nothing is discovered from the file system.
"""

from __future__ import annotations

from importlib import import_module

from .base import ChannelAdapter, RunningBot

ADAPTERS: dict[str, str] = {
    "console": "channels.console:ConsoleChannel",
    "twilio": "channels.twilio:TwilioAdapter",
    "whatsapp_cloud": "channels.whatsapp_cloud:WhatsAppCloudAdapter",
    "telegram": "channels.telegram:TelegramAdapter",
    "messenger": "channels.messenger:MessengerAdapter",
    "line": "channels.line:LineAdapter",
    "voice": "channels.voice:VoiceAdapter",
}


def adapter_class(kind: str) -> type:
    module, _, name = ADAPTERS[kind].partition(":")
    return getattr(import_module(module), name)


def enabled_kinds(services: RunningBot) -> list[str]:
    return [kind for kind, section in services.settings.channels if section.enabled and kind in ADAPTERS]


def build_adapters(services: RunningBot) -> dict[str, ChannelAdapter]:
    """Every enabled adapter, built (which checks its secrets)."""
    return {kind: adapter_class(kind).from_services(services) for kind in enabled_kinds(services)}
