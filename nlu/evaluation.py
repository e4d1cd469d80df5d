"""Measure the understanders and language detection on the evaluation split.

The split (`nlu/data/eval/`) is never trained on. `evaluate` reads every message once
with an understander, told the worker's language as the conversation would tell it, and
reports:

- category accuracy per language (romanized Bengali and Hindi on rows of their own,
  "bn-Latn" and "hi-Latn"), macro-averaged over the 13 languages, each language counting
  once whatever its number of messages, the romanized ones included in their language;
  a message labelled `none` is right when no category is suggested;
- the same per category (how many of its messages were put in it);
- danger: of the messages labelled urgent, how many were flagged (recall), and of the
  others, how many were flagged all the same (false alarms), per language and overall;
- the wall-clock time of each parse.

Language detection is measured on native-script messages only: `detection.yaml` and the
native-script messages that name a category.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from nlu.categories import TAXONOMY
from nlu.language import detect_language
from nlu.training_data import Example, detection_messages, examples
from nlu.understanding import Understander


@dataclass(frozen=True)
class Score:
    """How many of `total` answers were right."""

    right: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0


@dataclass(frozen=True)
class Report:
    """Accuracy per row (language, or language-Latn), and the macro average over languages."""

    rows: dict[str, Score]
    by_language: dict[str, Score]

    @property
    def macro_accuracy(self) -> float:
        return statistics.mean(score.accuracy for score in self.by_language.values()) if self.by_language else 0.0


def row_name(example: Example) -> str:
    return f"{example.language}-Latn" if example.romanized else example.language


def expected_category(example: Example) -> str | None:
    """The category a right answer names: None for a message that names no problem."""
    return example.category if example.category in TAXONOMY else None


@dataclass(frozen=True)
class Danger:
    """Urgent messages flagged (`caught` of `urgent`) and others flagged all the same
    (`false_alarms` of `not_urgent`)."""

    caught: int
    urgent: int
    false_alarms: int
    not_urgent: int

    @property
    def recall(self) -> float:
        return self.caught / self.urgent if self.urgent else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.not_urgent if self.not_urgent else 0.0


@dataclass(frozen=True)
class Evaluation:
    """One understander on the evaluation split: category per language and per category,
    danger per language and overall, and the time of each parse."""

    category: Report
    by_category: dict[str, Score]
    danger_by_language: dict[str, Danger]
    danger: Danger
    timing: Timing


@dataclass(frozen=True)
class _Outcome:
    example: Example
    category_right: bool
    flagged: bool
    milliseconds: float


def evaluate(understander: Understander, labelled: Iterable[Example] | None = None) -> Evaluation:
    """Read every labelled message once with `understander` and score the answers."""
    labelled = tuple(examples("eval") if labelled is None else labelled)
    if labelled:  # one call first, untimed: it pays for loading, as a bot's start-up would
        understander.understand(labelled[0].text, labelled[0].language)
    outcomes = []
    for example in labelled:
        start = time.perf_counter()
        understanding = understander.understand(example.text, example.language)
        elapsed = (time.perf_counter() - start) * 1000
        right = understanding.category == expected_category(example)
        outcomes.append(_Outcome(example, right, understanding.urgent, elapsed))
    by_category: dict[str, list[bool]] = {}
    for outcome in outcomes:
        by_category.setdefault(outcome.example.category, []).append(outcome.category_right)
    order = {label: index for index, label in enumerate((*TAXONOMY, "none"))}
    return Evaluation(
        category=_report((row_name(o.example), o.example.language, o.category_right) for o in outcomes),
        by_category={label: Score(sum(rights), len(rights)) for label, rights in sorted(by_category.items(), key=lambda item: order.get(item[0], len(order)))},
        danger_by_language={
            language: _danger([o for o in outcomes if o.example.language == language])
            for language in sorted({o.example.language for o in outcomes})
        },
        danger=_danger(outcomes),
        timing=_timing([o.milliseconds for o in outcomes]),
    )


def category_report(understander: Understander, labelled: Iterable[Example] | None = None) -> Report:
    """How often `understander` names the labelled category (see `evaluate`)."""
    return evaluate(understander, labelled).category


def _danger(outcomes: Sequence[_Outcome]) -> Danger:
    urgent = [o.flagged for o in outcomes if o.example.urgent]
    not_urgent = [o.flagged for o in outcomes if not o.example.urgent]
    return Danger(sum(urgent), len(urgent), sum(not_urgent), len(not_urgent))


def detection_report(candidates: Sequence[str]) -> Report:
    """How often `detect_language` names the language of native-script messages it never saw."""
    return _report(
        (language, language, detect_language(text, candidates) == language)
        for language, text in detection_corpus()
        if language in candidates
    )


def detection_corpus() -> list[tuple[str, str]]:
    """(language, text) of every native-script evaluation message."""
    corpus = [(language, text) for language, texts in detection_messages().items() for text in texts]
    corpus += [
        (example.language, example.text)
        for example in examples("eval")
        if not example.romanized and expected_category(example) is not None
    ]
    return corpus


def _report(outcomes: Iterable[tuple[str, str, bool]]) -> Report:
    rows: dict[str, list[bool]] = {}
    languages: dict[str, list[bool]] = {}
    for row, language, right in outcomes:
        rows.setdefault(row, []).append(right)
        languages.setdefault(language, []).append(right)
    return Report(_scores(rows), _scores(languages))


def _scores(outcomes: dict[str, list[bool]]) -> dict[str, Score]:
    return {name: Score(sum(values), len(values)) for name, values in sorted(outcomes.items())}


@dataclass(frozen=True)
class Timing:
    """Wall-clock time per call, in milliseconds, over `calls` calls."""

    calls: int
    mean_ms: float
    median_ms: float
    p95_ms: float


def time_calls(function: Callable[[str], object], texts: Sequence[str], rounds: int = 5) -> Timing:
    """Call `function` on every text `rounds` times (after one warm-up round, which
    pays for training and loading) and time each call."""
    for text in texts:
        function(text)
    durations = []
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter()
            function(text)
            durations.append((time.perf_counter() - start) * 1000)
    return _timing(durations)


def _timing(durations: list[float]) -> Timing:
    durations = sorted(durations)
    return Timing(
        calls=len(durations),
        mean_ms=statistics.mean(durations),
        median_ms=statistics.median(durations),
        p95_ms=durations[int(0.95 * (len(durations) - 1))],
    )
