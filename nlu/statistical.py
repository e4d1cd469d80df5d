"""The built-in understander: a character n-gram naive Bayes model of the case taxonomy.

Trained at first use, in well under a second, from what the package ships:

- the labelled messages of `nlu/data/training/*.yaml` (13 languages, romanized Bengali
  and Hindi, and "none" messages that name no problem), and
- the stems of the keyword lexicon `nlu/data/categories.yaml`, each as a short example
  of its category, so a word an NGO adds there counts at once.

Urgency: the danger lexicon (`nlu.categories.is_urgent`) is the floor, so danger words are
found whatever a model thinks and a reviewer can read why a case was flagged; the urgency
model of `nlu.urgency`, learnt from the training files' `urgent:` sections, flags what the
words miss. Entities come from `nlu.entities`. No server, no model file, no network.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence

from nlu.categories import TAXONOMY, is_urgent, lexicon
from nlu.entities import PLACE, WORKPLACE, Entity, extract_entities
from nlu.language import detect_language
from nlu.lookalikes import lookalike_words
from nlu.ngram import NaiveBayes, Prediction, features, words
from nlu.normalize import normalize
from nlu.outranking import outranking_clauses
from nlu.stems import FoldedText
from nlu.training_data import examples
from nlu.reading import Understanding
from nlu.urgency import UrgencyModel, train_urgency, translation_folds

# The languages of the first release; a message read without a known language is
# detected among these.
SUPPORTED_LANGUAGES = ("en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es")
# Softens naive Bayes' near-certain posteriors so that a weak cue stays nearer the
# engine's suggestion threshold (nlu.suggestion_min_confidence) while a clear report
# stays well above it. It never changes which category wins, only how sure it looks.
TEMPERATURE = 3.0
# The clause naming an outranking sign must read as its category this surely to outrank the rest.
OUTRANKING_MIN_CONFIDENCE = 0.8


def training_pairs() -> Iterator[tuple[str, str]]:
    """(text, label) pairs the model learns from: training messages, then lexicon stems."""
    for example in examples("training"):
        yield example.text, example.category
    lookalikes = lookalike_words()
    for language_lexicon in lexicon().values():
        for category, stems in language_lexicon.categories.items():
            for stem in stems:
                # "fire us", "fire people" (dismissal) tell the verb from the flames to the keyword
                # reader; to this model they would only teach that "people" means dismissal.
                if len(stem.text.split()) > 1 and lookalikes.intersection(stem.text.split()):
                    continue
                yield stem.text, category


@functools.cache
def category_model() -> NaiveBayes:
    """The trained model, built once per process."""
    return NaiveBayes(training_pairs(), temperature=TEMPERATURE, whole_words=lookalike_words())


@functools.cache
def urgency_model() -> UrgencyModel:
    """The trained urgency model (`nlu.urgency`), built once per process from the training
    messages alone: the lexicon's danger stems are the rules' part, read beside it."""
    training = examples("training")
    return train_urgency([(example.text, example.urgent) for example in training], whole_words=lookalike_words(),
                         rules=lambda text: is_urgent(FoldedText.of(text)), folds=translation_folds(training))


class NgramUnderstander:
    """Reads a report with the n-gram model; the default built-in understander.

    `category` is None when the message names no problem ("hello", "something bad
    happened"): the model's "none" label won, or it knew none of the message's n-grams.
    """

    name = "builtin"

    def __init__(self, model: NaiveBayes | None = None, languages: Sequence[str] = SUPPORTED_LANGUAGES,
                 urgency: UrgencyModel | None = None) -> None:
        self._model = model
        self._urgency = urgency
        self.languages = tuple(languages)

    @property
    def model(self) -> NaiveBayes:
        if self._model is None:
            self._model = category_model()
        return self._model

    @property
    def urgency(self) -> UrgencyModel:
        if self._urgency is None:
            self._urgency = urgency_model()
        return self._urgency

    def understand(self, text: str, language: str | None = None) -> Understanding:
        found_language = language or detect_language(text, self.languages)
        entities = extract_entities(text)
        clean = _without_names(text, entities)
        # Both models read each line by the same features: computed once a line, for this call only.
        features_of = functools.cache(functools.partial(features, whole_words=self.model.whole_words))
        category, confidence = self.categorize(clean, features_of)
        # The rules first: when they flag, the model need not be asked.
        urgent = is_urgent(FoldedText.of(text)) or self._model_urgent(clean, features_of)
        return Understanding(found_language, category, confidence, urgent, entities)

    def _model_urgent(self, clean: str, features_of: Callable[[str], list[str]]) -> bool:
        """The urgency model's reading, with the category model's features when both read words alike."""
        same_features = self.urgency.whole_words == self.model.whole_words
        return self.urgency.is_urgent(clean, features_of if same_features else None)

    def categorize(self, text: str, features_of: Callable[[str], list[str]] | None = None) -> tuple[str | None, float]:
        """The taxonomy code and its probability, or (None, 0.0) when nothing points to one.

        A description often comes in several messages (one per line here): "they have
        not paid us for two months", then "he also shouts at the women". Naive Bayes on
        the whole text would let the longer or later detail outvote the complaint the
        worker led with, so each line is read alone and the lines' probabilities are
        mixed, the first line weighing most (weights 1, 1/2, 1/3...). Lines that name no
        problem ("it happened again yesterday") are left out of the mix."""
        mixed = {label: value for label, value in self.distribution(text, features_of).items() if label in TAXONOMY}
        if not mixed:
            return None, 0.0
        # Ties go to the category listed first in the taxonomy, so results are repeatable.
        best = max(mixed, key=lambda label: (mixed[label], -TAXONOMY.index(label)))
        outranking = self._outranking(text)
        if outranking is not None and outranking[0] != best:
            return outranking
        return best, round(mixed[best], 3)

    def distribution(self, text: str, features_of: Callable[[str], list[str]] | None = None) -> dict[str, float]:
        """The mixed probability of every label ("none" included) over the informative
        lines of `text` (see `categorize`); empty when no line is informative. `features_of`
        gives a line's n-gram features when the caller computes them once for several models."""
        mixed: dict[str, float] = {}
        total_weight = 0.0
        informative_lines = 0
        for line in text.splitlines():
            prediction = self._informative_prediction(line, features_of)
            if prediction is None:
                continue
            informative_lines += 1
            weight = 1 / informative_lines
            total_weight += weight
            for label, probability in prediction.ranked:
                mixed[label] = mixed.get(label, 0.0) + weight * probability
        return {label: value / total_weight for label, value in mixed.items()}

    def _outranking(self, text: str) -> tuple[str, float] | None:
        """A sign that outranks what the report led with ("the manager keeps our passports"),
        when the model reads its clause as the sign's category (`nlu.outranking`)."""
        for category, clause in outranking_clauses(text):
            prediction = self.model.predict(clause)
            if prediction.best == category and prediction.confidence >= OUTRANKING_MIN_CONFIDENCE:
                return category, round(prediction.confidence, 3)
        return None

    def _informative_prediction(self, line: str, features_of: Callable[[str], list[str]] | None = None) -> Prediction | None:
        """The model's reading of one line, or None when the line names no problem."""
        if not any(char.isalpha() for char in line):
            return None
        if all(word in self.model.whole_words for word in words(line)):
            return None  # "fire!" alone: flames or a dismissal? A look-alike never decides alone
        found = features_of(line) if features_of is not None else features(line, self.model.whole_words)
        prediction = self.model.predict_features(found)
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
