"""The reading of one message (`Understanding`) and the interface every understander offers.

A value type of its own, so that each understander (the keyword parser and
`builtin_understander` in `nlu.understanding`, the n-gram model in `nlu.statistical`,
the Rasa client in `nlu.rasa_backend`) builds on it without importing another.
"""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Understanding:
    """The reading of one message. `category` is a taxonomy code or None when nothing
    matched; `confidence` is in 0..1; `entities` are `nlu.entities.Entity` values
    (people, time, workplace, place) in the order they appear."""

    language: str | None
    category: str | None
    confidence: float
    urgent: bool
    entities: tuple = ()
    # Set only when another understander stood in for the configured one (the built-in model
    # when a worker or server was down): its name, which the case records.
    backend: str | None = None

    def as_dict(self) -> dict:
        """The JSON form printed by `grievance nlu parse`."""
        return {
            "language": self.language,
            "category": self.category,
            "confidence": self.confidence,
            "urgent": self.urgent,
            "entities": [entity.as_dict() for entity in self.entities],
        }


class Understander(Protocol):
    """Anything that can read a report; `name` is recorded with each result."""

    name: str

    def understand(self, text: str, language: str | None = None) -> Understanding: ...
