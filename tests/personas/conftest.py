"""Fixtures of the persona suite: a live hotline with SMS and Telegram, and the operator's settings."""

from __future__ import annotations

import pytest

from fake_telegram import FakeTelegramServer
from fake_twilio import FakeTwilio
from personas.persona_support import TELEGRAM_TOKEN, WEBHOOK_SECRET, LiveHotline
from test_channel_twilio import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL

LANGUAGES = ["en", "bn", "vi", "es", "my", "id", "tl", "zh"]


@pytest.fixture
def providers(monkeypatch):
    """The fake Twilio and Telegram on loopback, and the secrets the hotline reads from its environment."""
    twilio_fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    with FakeTelegramServer(TELEGRAM_TOKEN) as telegram_fake:
        for name, value in (("TWILIO_ACCOUNT_SID", ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
                            ("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN), ("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)):
            monkeypatch.setenv(name, value)
        yield twilio_fake, telegram_fake
    twilio_fake.close()


@pytest.fixture
def make_settings(settings_with, providers):
    """make_settings(**sections) -> the settings of a deployment with SMS and Telegram against the fakes."""
    twilio_fake, telegram_fake = providers
    channels = {
        "twilio": {"enabled": True, "sms_from": "+15550100000", "api_base_url": twilio_fake.url,
                   "rate": {"messages_per_second": 1000}},
        "telegram": {"enabled": True, "base_url": telegram_fake.url + "/bot", "base_file_url": telegram_fake.url + "/file/bot",
                     "rate": {"messages_per_second": 1000, "per_address_interval_seconds": 0}},
    }

    def build(**overrides):
        deployment = {"languages": LANGUAGES, **overrides.pop("deployment", {})}
        return settings_with(channels=channels, server={"public_url": PUBLIC_URL}, deployment=deployment, **overrides)

    return build


@pytest.fixture
def hotline(make_settings, providers):
    live = LiveHotline(make_settings(), *providers)
    yield live
    live.close()
