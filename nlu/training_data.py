"""The labelled messages shipped with the package: training examples and the evaluation split.

`nlu/data/training/*.yaml` trains the built-in model and is exported for Rasa;
`nlu/data/eval/*.yaml` is only ever used to measure them (`grievance nlu eval`).
Both have one file per language and way of writing it:

    language: bn          # ISO 639-1
    romanized: true       # optional: Bengali written in Latin letters ("Banglish")
    examples:
      wages: ["beton dey nai 2 mash", ...]   # taxonomy code -> messages as workers type them
      none: ["hello", ...]                   # NO_CATEGORY: messages that name no problem
    urgent:               # optional, same form: messages that also signal danger to life
      safety: [...]       # or liberty now (fire and trapped, locked in, a death threat);
                          # every message outside it is labelled not urgent

The evaluation files label urgency this way, so that `grievance nlu eval` measures danger
recall and false alarms; the training files need not.

`nlu/data/eval/detection.yaml` holds, per language, native-script messages for
measuring language detection; no model is trained on them.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from typing import Literal

import yaml

from nlu.categories import TAXONOMY

Split = Literal["training", "eval"]
SPLITS: tuple[Split, ...] = ("training", "eval")
# The label of messages that name no problem at all ("hello", "something happened"):
# trained like a category so that the model has somewhere to put words that are no
# evidence, and never suggested to a worker.
NO_CATEGORY = "none"
LABELS = (*TAXONOMY, NO_CATEGORY)
DETECTION_FILE = "detection.yaml"


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    category: str
    language: str
    romanized: bool = False
    urgent: bool = False  # listed under `urgent:`: danger to life or liberty now


@functools.cache
def examples(split: Split = "training") -> tuple[Example, ...]:
    """Every labelled message of `split`, file by file in name order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    found: list[Example] = []
    for name, content in _yaml_files(split):
        if name == DETECTION_FILE:
            continue
        found.extend(_parse(f"{split}/{name}", content))
    return tuple(found)


@functools.cache
def detection_messages() -> dict[str, tuple[str, ...]]:
    """Native-script messages per language, for measuring language detection only."""
    for name, content in _yaml_files("eval"):
        if name == DETECTION_FILE:
            return {str(language): tuple(texts) for language, texts in content.items()}
    raise FileNotFoundError(f"nlu/data/eval/{DETECTION_FILE} is missing")


def _yaml_files(split: Split) -> list[tuple[str, object]]:
    folder = importlib.resources.files("nlu").joinpath("data").joinpath(split)
    files = sorted((entry for entry in folder.iterdir() if entry.name.endswith(".yaml")), key=lambda entry: entry.name)
    return [(entry.name, yaml.safe_load(entry.read_text(encoding="utf-8"))) for entry in files]


def _parse(where: str, content: object) -> list[Example]:
    # A data mistake must fail loudly: a silently dropped file is a language that
    # quietly stops being understood.
    if not isinstance(content, dict) or not isinstance(content.get("language"), str):
        raise ValueError(f"{where}: expected a mapping with 'language' and 'examples'")
    language, romanized = content["language"], bool(content.get("romanized", False))
    by_category = content.get("examples")
    if not isinstance(by_category, dict):
        raise ValueError(f"{where}: 'examples' must map taxonomy codes to lists of messages")
    urgent_by_category = content.get("urgent", {})
    if not isinstance(urgent_by_category, dict):
        raise ValueError(f"{where}: 'urgent' must map taxonomy codes to lists of messages")
    parsed = _labelled(where, by_category, language, romanized, urgent=False)
    parsed += _labelled(f"{where}: urgent", urgent_by_category, language, romanized, urgent=True)
    return parsed


def _labelled(where: str, by_category: dict, language: str, romanized: bool, urgent: bool) -> list[Example]:
    unknown = set(by_category) - set(LABELS)
    if unknown:
        raise ValueError(f"{where}: unknown categories {sorted(unknown)}")
    parsed = []
    for category, texts in by_category.items():
        if not isinstance(texts, list) or not all(isinstance(text, str) and text.strip() for text in texts):
            raise ValueError(f"{where}: {category}: expected a list of quoted, non-empty messages")
        parsed.extend(Example(text, category, language, romanized, urgent) for text in texts)
    return parsed
