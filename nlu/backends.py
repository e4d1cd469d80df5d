"""Choose the understander a deployment configured (`nlu:` in config.yaml)."""

from __future__ import annotations

from typing import Protocol

from nlu.rasa_backend import RasaUnderstander
from nlu.understanding import Understander, builtin_understander

BACKENDS = ("builtin", "rasa")


class NluSettings(Protocol):
    """The `nlu` section of the configuration (`bot.config.Nlu`), as far as it matters here."""

    backend: str
    rasa_url: str
    rasa_timeout_seconds: float


def make_understander(nlu_settings: NluSettings, rasa_token: str | None = None) -> Understander:
    """The built-in n-gram model, or Rasa (asked with `rasa_token`) with the built-in model as its fallback."""
    if nlu_settings.backend == "builtin":
        return builtin_understander()
    if nlu_settings.backend == "rasa":
        return RasaUnderstander(nlu_settings.rasa_url, nlu_settings.rasa_timeout_seconds, fallback=builtin_understander(),
                                token=rasa_token)
    raise ValueError(f"unknown nlu backend {nlu_settings.backend!r}; expected one of {BACKENDS}")
