"""Checks across the config and the catalogs, once at start-up: what pydantic cannot see alone."""

from __future__ import annotations

import re
from typing import Protocol

from .base import ConfigError
from .loading import Settings

# Channels that reach real workers; with any of them enabled the emergency contacts must be real.
REAL_CHANNELS = ("twilio", "whatsapp_cloud", "telegram", "voice")
# A placeholder number: six or more digits that are all zeros, however spaced ("+000 0000 0000").
_PLACEHOLDER_NUMBER = re.compile(r"(?<![0-9])0(?:[ .-]*0){5,}(?![0-9])")


class _HasTexts(Protocol):
    def has(self, language: str, key: str) -> bool: ...


def _placeholder_contact(contact: str) -> bool:
    return not contact.strip() or bool(_PLACEHOLDER_NUMBER.search(contact))


def check_deployment(settings: Settings, catalogs: _HasTexts) -> list[str]:
    """What pydantic cannot see alone, checked once at start-up: raise `ConfigError` or return warnings.

    - every configured question has its texts (`ask.<id>`, `label.<id>`) in every offered
      language: otherwise the first worker to reach it would get an error, or another language;
    - the emergency contacts are there and none is a placeholder ("+000 0000 0000") once a
      channel that reaches real workers is enabled; with the console alone, a warning;
    - a warning when no question grants contact (the hotline could then never write first).
    """
    for index, question in enumerate(settings.flow.questions):
        for kind in ("ask", "label"):
            for language in settings.deployment.languages:
                if not catalogs.has(language, f"{kind}.{question.id}"):
                    raise ConfigError(
                        f'config error: flow.questions[{index}] ({question.id}): no text "{kind}.{question.id}" in catalog "{language}"'
                        f" (add it to bot/locales/{language}/LC_MESSAGES/messages.po)"
                    )
    warnings = []
    if not any(question.grants_contact for question in settings.flow.questions):
        warnings.append(
            "config warning: flow.questions: no question has grants_contact, so no worker can agree to be"
            " contacted: nothing is ever sent to a worker first (they read news with STATUS and their code)"
        )
    contacts = settings.deployment.emergency_contacts
    placeholders = [index for index, contact in enumerate(contacts) if _placeholder_contact(contact)]
    problem = None
    if not contacts:
        problem = "deployment.emergency_contacts: empty; a worker in danger would get no number to call"
    elif placeholders:
        problem = (
            f"deployment.emergency_contacts[{placeholders[0]}]: a placeholder or empty entry;"
            " put the deployment's own numbers there"
        )
    if problem is None:
        return warnings
    enabled = [name for name in REAL_CHANNELS if getattr(settings.channels, name).enabled]
    if enabled:
        raise ConfigError(f"config error: {problem} (required with channels.{enabled[0]} enabled)")
    return [*warnings, f"config warning: {problem} (fine for trying it locally, not for workers)"]
