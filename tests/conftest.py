"""Shared fixtures: a temporary deployment with real keys, a real database, and a network guard.

Every test gets its own folder with a config, freshly generated keys and a
SQLite database, so tests never share state and never touch ./var.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.config import Settings, settings_from_mapping
from bot.messages import InboundMessage
from bot.services import Services, build_services
from storage.keys import init_keys

_real_connect = socket.socket.connect


def _is_local(address) -> bool:
    if isinstance(address, str):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach beyond this machine."""

    def guarded(self, address):
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return _real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def make_config(root: Path, **overrides) -> dict:
    """A config mapping for a deployment living in `root`."""
    config = {
        "deployment": {
            "name": "Test hotline",
            "languages": ["en", "bn", "vi", "es"],
            "emergency_contacts": ["Emergency services: 999", "Duty officer: 0100 200 300"],
        },
        "paths": {"data_dir": "data"},
        "secrets": {"pepper": {"file": "keys/pepper"}, "data_keys": {"file": "keys/data-keys.json"}},
        "operator": {
            "recipients_file": "keys/operator-recipients.txt",
            "identity_file": "operator/operator-identity.txt",
            "store": "operator/cases.db",
        },
        "logging": {"level": "INFO", "file": "data/logs/grievance.log"},
    }
    for section, values in overrides.items():
        config[section] = {**config.get(section, {}), **values}
    return config


@pytest.fixture
def deployment_dir(tmp_path: Path) -> Path:
    return tmp_path / "deployment"


@pytest.fixture
def settings(deployment_dir: Path) -> Settings:
    deployment_dir.mkdir(parents=True, exist_ok=True)
    settings = settings_from_mapping(make_config(deployment_dir), base_dir=deployment_dir)
    init_keys(settings)
    return settings


@pytest.fixture
def settings_with(deployment_dir: Path) -> Callable[..., Settings]:
    """settings_with(section={...}, ...) -> Settings of the test deployment with those overrides."""

    def build(**overrides) -> Settings:
        deployment_dir.mkdir(parents=True, exist_ok=True)
        return settings_from_mapping(make_config(deployment_dir, **overrides), base_dir=deployment_dir)

    return build


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    yield built
    built.close()


@pytest.fixture
def send(services: Services) -> Callable[..., list[str]]:
    """send(sender, text, channel="sms") -> the bot's reply texts."""

    def _send(sender: str, text: str, channel: str = "sms") -> list[str]:
        return list(services.intake.receive(InboundMessage(channel=channel, sender=sender, text=text)).texts)

    return _send


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog
