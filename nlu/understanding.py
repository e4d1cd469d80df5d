"""What a worker's report is about: its category, how sure we are, and whether it is urgent.

`Understander` is the interface the conversation codes against. The default built-in is
the n-gram model of `nlu.statistical`; the keyword parser here is kept as a transparent
fallback and for comparison; `nlu.rasa_backend` calls a Rasa server.
"""

from dataclasses import dataclass
from typing import Protocol

from nlu.categories import TAXONOMY, category_scores, is_urgent, lexicon_languages
from nlu.stems import FoldedText

# Added to the denominator of the confidence so that one short stem alone stays below
# 0.5 ("pay": 3 / (3 + 6)) while several matching stems approach 1.
_CONFIDENCE_DAMPING = 6


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


class KeywordUnderstander:
    """Reads reports with the keyword lexicon of `nlu/data/categories.yaml`.

    The worker's language and English are tried first (workers mix in English words);
    when they find nothing, every language is tried, since the chosen language is not
    always the one typed. Urgency is checked in every language regardless.
    """

    name = "builtin"

    def understand(self, text: str, language: str | None = None) -> Understanding:
        message = FoldedText.of(text)
        scores: dict[str, int] = {}
        if language is not None:
            scores = category_scores(message, dict.fromkeys([language, "en"]))
        if not scores:
            scores = category_scores(message, lexicon_languages())
        category, confidence = _best(scores)
        return Understanding(language, category, confidence, is_urgent(message))


def builtin_understander() -> Understander:
    """The default understander: the n-gram model of `nlu.statistical`, trained now (once
    per process) so that the first worker's message does not wait for it."""
    # Imported here because nlu.statistical builds on this module's Understanding.
    from nlu.statistical import NgramUnderstander, category_model

    return NgramUnderstander(category_model())


def _best(scores: dict[str, int]) -> tuple[str | None, float]:
    if not scores:
        return None, 0.0
    # Ties go to the category listed first in the taxonomy, so results are repeatable.
    ranked = sorted(scores.items(), key=lambda item: (-item[1], TAXONOMY.index(item[0])))
    best = ranked[0][1]
    second = ranked[1][1] if len(ranked) > 1 else 0
    return ranked[0][0], round(best / (best + second + _CONFIDENCE_DAMPING), 3)
