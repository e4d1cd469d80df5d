"""Choose the understander a deployment configured (`nlu:` in config.yaml)."""

from __future__ import annotations

from typing import Protocol

from nlu.e5_backend import E5Understander
from nlu.rasa_backend import RasaUnderstander
from nlu.statistical import NgramUnderstander, category_model
from nlu.understanding import Understander, builtin_understander

BACKENDS = ("builtin", "rasa", "e5")


class NluSettings(Protocol):
    """The `nlu` section of the configuration (`bot.config.Nlu`), as far as it matters here."""

    backend: str
    rasa_url: str
    rasa_timeout_seconds: float
    e5_url: str
    e5_timeout_seconds: float


def make_understander(nlu_settings: NluSettings, rasa_token: str | None = None, e5_token: str | None = None) -> Understander:
    """The built-in n-gram model, or Rasa (asked with `rasa_token`) or the e5 worker (asked with
    `e5_token`), each with the built-in model as its fallback."""
    if nlu_settings.backend == "builtin":
        return builtin_understander()
    if nlu_settings.backend == "rasa":
        return RasaUnderstander(nlu_settings.rasa_url, nlu_settings.rasa_timeout_seconds, fallback=builtin_understander(),
                                token=rasa_token)
    if nlu_settings.backend == "e5":
        if not e5_token:
            raise ValueError("the e5 backend needs its token (nlu.e5_token)")
        return E5Understander(nlu_settings.e5_url, nlu_settings.e5_timeout_seconds,
                              fallback=NgramUnderstander(category_model()), token=e5_token)  # urgency at first use
    raise ValueError(f"unknown nlu backend {nlu_settings.backend!r}; expected one of {BACKENDS}")
