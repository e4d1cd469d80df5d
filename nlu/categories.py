"""The case taxonomy and its keyword lexicon (`nlu/data/categories.yaml`): which
category a report's words point to, and whether they signal danger now."""

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from nlu.data_files import load_data_file
from nlu.stems import FoldedText, Stem

# Stable codes shared with storage, exports and partners; never rename one.
TAXONOMY = (
    "wages", "hours", "safety", "harassment", "discrimination", "forced_labour",
    "child_labour", "association", "dismissal", "retaliation", "living_conditions",
    "environment_community", "other",
)  # fmt: skip


@dataclass(frozen=True)
class LanguageLexicon:
    """The stems of one language."""

    categories: Mapping[str, tuple[Stem, ...]]
    urgent: tuple[Stem, ...]
    not_urgent: tuple[Stem, ...]


def lexicon_languages() -> tuple[str, ...]:
    """Language codes that have a category lexicon, in file order."""
    return tuple(lexicon())


def category_scores(message: FoldedText, languages: Iterable[str]) -> dict[str, int]:
    """Sum of the weights of the stems of each category found in `message`, using the
    lexicons of `languages`; categories without a match are left out."""
    matched: set[tuple[str, Stem]] = set()  # a stem listed in two languages counts once
    for language in languages:
        for category, stems in lexicon().get(language, _EMPTY).categories.items():
            matched.update((category, stem) for stem in stems if stem.occurs_in(message))
    scores: dict[str, int] = {}
    for category, stem in matched:
        scores[category] = scores.get(category, 0) + stem.weight
    return scores


def is_urgent(message: FoldedText) -> bool:
    """True when the message signals danger to life or liberty now, in any language:
    a missed emergency costs more than an operator's second look at a false alarm."""
    for language_lexicon in lexicon().values():
        remaining = message.without(language_lexicon.not_urgent)
        if any(stem.occurs_in(remaining) for stem in language_lexicon.urgent):
            return True
    return False


@functools.cache
def lexicon() -> Mapping[str, LanguageLexicon]:
    """The parsed lexicon of every language, built once per process."""
    raw = load_data_file("categories.yaml")
    parsed = {language: _parse_language(language, entry) for language, entry in raw.items()}
    return MappingProxyType(parsed)


def _parse_language(language: str, entry: Mapping) -> LanguageLexicon:
    unknown = set(entry.get("categories", {})) - set(TAXONOMY)
    if unknown:
        raise ValueError(f"categories.yaml {language}: unknown categories {sorted(unknown)}")
    categories = {
        category: _stems(f"{language}.categories.{category}", stems)
        for category, stems in entry.get("categories", {}).items()
    }
    return LanguageLexicon(
        categories=MappingProxyType(categories),
        urgent=_stems(f"{language}.urgent", entry.get("urgent", [])),
        not_urgent=_stems(f"{language}.not_urgent", entry.get("not_urgent", [])),
    )


def _stems(where: str, written: object) -> tuple[Stem, ...]:
    if not isinstance(written, list) or not all(isinstance(stem, str) for stem in written):
        raise ValueError(f"categories.yaml {where}: expected a list of quoted stems")
    return tuple(Stem.parse(stem) for stem in written)


_EMPTY = LanguageLexicon(MappingProxyType({}), (), ())
