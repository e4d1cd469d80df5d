"""The built-in understander: a character n-gram naive Bayes model of the case taxonomy.

Trained at first use, in well under a second, from what the package ships:

- the labelled messages of `nlu/data/training/*.yaml` (13 languages, romanized Bengali
  and Hindi, and "none" messages that name no problem), and
- the stems of the keyword lexicon `nlu/data/categories.yaml`, each as a short example
  of its category, so a word an NGO adds there counts at once.

Urgency stays with the lexicon (`nlu.categories.is_urgent`): danger words must be
found whatever the model thinks, and a reviewer can read why a case was flagged.
Entities come from `nlu.entities`. No server, no model file, no network.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

from nlu.categories import TAXONOMY, is_urgent, lexicon
from nlu.entities import PLACE, WORKPLACE, Entity, extract_entities
from nlu.language import detect_language
from nlu.ngram import NaiveBayes, Prediction
from nlu.normalize import normalize
from nlu.stems import FoldedText
from nlu.training_data import examples
from nlu.understanding import Understanding

# The languages of the first release; a message read without a known language is
# detected among these.
SUPPORTED_LANGUAGES = ("en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es")
# Softens naive Bayes' near-certain posteriors so that a weak cue stays nearer the
# engine's suggestion threshold (nlu.suggestion_min_confidence) while a clear report
# stays well above it. It never changes which category wins, only how sure it looks.
TEMPERATURE = 3.0


def training_pairs() -> Iterator[tuple[str, str]]:
    """(text, label) pairs the model learns from: training messages, then lexicon stems."""
    for example in examples("training"):
        yield example.text, example.category
    for language_lexicon in lexicon().values():
        for category, stems in language_lexicon.categories.items():
            for stem in stems:
                yield stem.text, category


@functools.cache
def category_model() -> NaiveBayes:
    """The trained model, built once per process."""
    return NaiveBayes(training_pairs(), temperature=TEMPERATURE)


class NgramUnderstander:
    """Reads a report with the n-gram model; the default built-in understander.

    `category` is None when the message names no problem ("hello", "something bad
    happened"): the model's "none" label won, or it knew none of the message's n-grams.
    """

    name = "builtin"

    def __init__(self, model: NaiveBayes | None = None, languages: Sequence[str] = SUPPORTED_LANGUAGES) -> None:
        self._model = model
        self.languages = tuple(languages)

    @property
    def model(self) -> NaiveBayes:
        if self._model is None:
            self._model = category_model()
        return self._model

    def understand(self, text: str, language: str | None = None) -> Understanding:
        found_language = language or detect_language(text, self.languages)
        urgent = is_urgent(FoldedText.of(text))
        entities = extract_entities(text)
        category, confidence = self.categorize(_without_names(text, entities))
        return Understanding(found_language, category, confidence, urgent, entities)

    def categorize(self, text: str) -> tuple[str | None, float]:
        """The taxonomy code and its probability, or (None, 0.0) when nothing points to one.

        A description often comes in several messages (one per line here): "they have
        not paid us for two months", then "he also shouts at the women". Naive Bayes on
        the whole text would let the longer or later detail outvote the complaint the
        worker led with, so each line is read alone and the lines' probabilities are
        mixed, the first line weighing most (weights 1, 1/2, 1/3...). Lines that name no
        problem ("it happened again yesterday") are left out of the mix."""
        mixed: dict[str, float] = {}
        total_weight = 0.0
        informative_lines = 0
        for line in text.splitlines():
            prediction = self._informative_prediction(line)
            if prediction is None:
                continue
            informative_lines += 1
            weight = 1 / informative_lines
            total_weight += weight
            for label, probability in prediction.ranked:
                if label in TAXONOMY:  # "none" (NO_CATEGORY) is never a case's category
                    mixed[label] = mixed.get(label, 0.0) + weight * probability
        if not mixed:
            return None, 0.0
        # Ties go to the category listed first in the taxonomy, so results are repeatable.
        best = max(mixed, key=lambda label: (mixed[label], -TAXONOMY.index(label)))
        return best, round(mixed[best] / total_weight, 3)

    def _informative_prediction(self, line: str) -> Prediction | None:
        """The model's reading of one line, or None when the line names no problem."""
        if not any(char.isalpha() for char in line):
            return None
        prediction = self.model.predict(line)
        if prediction.known_features == 0 or prediction.best not in TAXONOMY:
            return None
        return prediction


def _without_names(text: str, entities: tuple[Entity, ...]) -> str:
    """`text` without the workplace and place names found in it: "Rahman Garments,
    Gazipur" says nothing about the category, and n-grams the model never learnt from
    names only add noise to a short message."""
    clean = normalize(text)
    for entity in entities:
        if entity.type in (WORKPLACE, PLACE):
            clean = clean.replace(entity.text, " ")
    return clean
