"""What a worker's report is about: its category, how sure we are, and whether it is urgent.

`Understander` (defined with `Understanding` in `nlu.reading`) is the interface the
conversation codes against. The default built-in is the n-gram model of `nlu.statistical`;
the keyword parser here is kept as a transparent fallback and for comparison;
`nlu.rasa_backend` calls a Rasa server.
"""

from nlu.categories import TAXONOMY, category_scores, is_urgent, lexicon_languages
from nlu.reading import Understander, Understanding
from nlu.statistical import NgramUnderstander, category_model
from nlu.stems import FoldedText

# The value type and the interface live in nlu.reading (nlu.statistical builds on them too);
# they are named here as well, where callers have always imported them from.
__all__ = ["KeywordUnderstander", "Understander", "Understanding", "builtin_understander"]

# Added to the denominator of the confidence so that one short stem alone stays below
# 0.5 ("pay": 3 / (3 + 6)) while several matching stems approach 1.
_CONFIDENCE_DAMPING = 6


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
    """The default understander: the n-gram models of `nlu.statistical`. The category model is
    trained now (once per process) so that the first worker's message does not wait for it; the
    urgency model (~0.7 s more) at its first use, so that the processes that read no report (the
    forwarder, the operator API, most commands) never train it. `grievance serve` trains it before
    its workers fork (bot/cli_server.py), so they share it."""
    return NgramUnderstander(category_model())


def _best(scores: dict[str, int]) -> tuple[str | None, float]:
    if not scores:
        return None, 0.0
    # Ties go to the category listed first in the taxonomy, so results are repeatable.
    ranked = sorted(scores.items(), key=lambda item: (-item[1], TAXONOMY.index(item[0])))
    best = ranked[0][1]
    second = ranked[1][1] if len(ranked) > 1 else 0
    return ranked[0][0], round(best / (best + second + _CONFIDENCE_DAMPING), 3)
