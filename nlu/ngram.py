"""Character n-gram features and a small multinomial naive Bayes classifier over them.

Workers misspell, drop Vietnamese tone marks, romanize Bengali and Hindi, and write
Thai, Burmese, Khmer, Japanese and Chinese without spaces between words. Character
n-grams inside word edges (like scikit-learn's `char_wb`) cope with all of that
without a tokenizer per language, and naive Bayes trains in well under a second from
a few hundred examples, so the model is rebuilt from the shipped data at first use
instead of being shipped as an opaque file. Pure Python: no numpy, no scikit-learn.
"""

from __future__ import annotations

import math
import operator
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nlu.normalize import fold

# n-gram lengths: 1-grams carry script and a few CJK/Thai words, 2-4-grams carry
# stems that survive misspelling ("salry", "salary"), whole words the rest.
NGRAM_SIZES = (1, 2, 3, 4)
# Additive smoothing of the per-class n-gram counts; small because most n-grams
# occur in one or two classes only and the rest should not be flattened.
SMOOTHING = 0.1


def words(text: str) -> list[str]:
    """The words of `text` after `fold`: runs of letters and combining marks (Bengali,
    Thai and Burmese vowel signs are marks). Digits and punctuation are left out: "200
    workers" says nothing about the category that "workers" does not, and a model that
    learnt the numbers of its training messages would be fooled by every other number."""
    kept = [char if unicodedata.category(char)[0] in "LM" else " " for char in fold(text)]
    return "".join(kept).split()


def features(text: str, whole_words: frozenset[str] = frozenset()) -> list[str]:
    """The distinct features of `text`: character n-grams of each word padded with
    spaces (so "pay" gives " p", "pa", "ay", "y ", ...), and the words themselves. A word
    of `whole_words` (look-alikes: "fire", "fired") gives only itself, never its n-grams.

    Distinct, because in a short message one repeated word should not outweigh the rest
    (the "binarized" naive Bayes that works better on short texts)."""
    found: set[str] = set()
    for word in words(text):
        found.add("w:" + word)
        if word in whole_words:
            continue
        padded = f" {word} "
        for size in NGRAM_SIZES:
            for start in range(len(padded) - size + 1):
                gram = padded[start : start + size]
                if gram != " ":
                    found.add(gram)
    return sorted(found)


@dataclass(frozen=True)
class Prediction:
    """Classes ranked best first with their posterior probability, and how many of
    the message's features the model had seen in training (0: it knows nothing)."""

    ranked: tuple[tuple[str, float], ...]
    known_features: int

    @property
    def best(self) -> str | None:
        return self.ranked[0][0] if self.ranked else None

    @property
    def confidence(self) -> float:
        return self.ranked[0][1] if self.ranked else 0.0


class NaiveBayes:
    """Multinomial naive Bayes over `features`, trained once from (text, label) pairs.

    `whole_words` are read only whole (`features`). `temperature` softens the posteriors: naive Bayes counts every overlapping n-gram
    as independent evidence, so its raw probabilities are nearly always 0 or 1; dividing
    the log-scores by the temperature gives a confidence worth comparing to a threshold.
    """

    def __init__(
        self, examples: Iterable[tuple[str, str]], temperature: float = 1.0, whole_words: frozenset[str] = frozenset()
    ) -> None:
        self.whole_words = whole_words
        counts: dict[str, Counter[str]] = {}
        documents: Counter[str] = Counter()
        for text, label in examples:
            counts.setdefault(label, Counter()).update(features(text, whole_words))
            documents[label] += 1
        if not counts:
            raise ValueError("naive Bayes needs at least one example")
        self.labels: tuple[str, ...] = tuple(sorted(counts))
        self.temperature = temperature
        vocabulary = set().union(*counts.values())
        total_documents = sum(documents.values())
        # Log-priors, and per feature one log-probability per label, in `labels` order,
        # so scoring a message is one dictionary look-up per feature.
        self._log_prior = [math.log(documents[label] / total_documents) for label in self.labels]
        denominators = [sum(counts[label].values()) + SMOOTHING * len(vocabulary) for label in self.labels]
        self._log_likelihood: dict[str, tuple[float, ...]] = {
            feature: tuple(
                math.log((counts[label][feature] + SMOOTHING) / denominator)
                for label, denominator in zip(self.labels, denominators, strict=True)
            )
            for feature in vocabulary
        }

    def predict(self, text: str, allowed: Sequence[str] | None = None) -> Prediction:
        """Rank the labels (or only `allowed` ones) for `text`."""
        return self.predict_features(features(text, self.whole_words), allowed)

    def predict_features(self, found: Iterable[str], allowed: Sequence[str] | None = None) -> Prediction:
        """`predict` for the `features` of a text already computed (with `whole_words`): a
        caller that reads the same line with another model computes them once."""
        scores = list(self._log_prior)
        known = 0
        for feature in found:
            row = self._log_likelihood.get(feature)
            if row is None:  # never seen in training: no evidence either way
                continue
            known += 1
            scores = list(map(operator.add, scores, row))  # rows have one value per label, like scores
        indexes = [i for i, label in enumerate(self.labels) if allowed is None or label in allowed]
        return Prediction(_softmax([(self.labels[i], scores[i]) for i in indexes], self.temperature), known)

    def vocabulary_size(self) -> int:
        return len(self._log_likelihood)


def _softmax(scored: list[tuple[str, float]], temperature: float) -> tuple[tuple[str, float], ...]:
    if not scored:
        return ()
    top = max(score for _, score in scored)
    weights = [(label, math.exp((score - top) / temperature)) for label, score in scored]
    total = sum(weight for _, weight in weights)
    ranked = sorted(((label, weight / total) for label, weight in weights), key=lambda item: -item[1])
    return tuple(ranked)


def label_counts(examples: Iterable[tuple[str, str]]) -> Mapping[str, int]:
    """How many examples each label has (for data checks and reports)."""
    return Counter(label for _, label in examples)
