"""Measure the understanders and language detection on the evaluation split.

The split (`nlu/data/eval/`) is never trained on. Category accuracy is reported per
language (romanized Bengali and Hindi on rows of their own, "bn-Latn" and "hi-Latn"),
and macro-averaged over the 13 languages, each language counting once whatever its
number of messages, the romanized ones included in their language. Language detection
is measured on native-script messages only: `detection.yaml` and the native-script
category messages.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

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


def category_report(understander: Understander, labelled: Iterable[Example] | None = None) -> Report:
    """How often `understander` names the labelled category, told the worker's language
    as the conversation would tell it."""
    labelled = examples("eval") if labelled is None else labelled
    return _report(
        (row_name(example), example.language, understander.understand(example.text, example.language).category == example.category)
        for example in labelled
    )


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
    corpus += [(example.language, example.text) for example in examples("eval") if not example.romanized]
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
    durations.sort()
    return Timing(
        calls=len(durations),
        mean_ms=statistics.mean(durations),
        median_ms=statistics.median(durations),
        p95_ms=durations[int(0.95 * (len(durations) - 1))],
    )
