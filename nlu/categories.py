"""The case taxonomy and its keyword lexicon (`nlu/data/categories.yaml`): which
category a report's words point to, and whether they signal danger now."""

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from nlu.data_files import load_data_file
from nlu.stems import FoldedText, Stem, StemScreen

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
    screen = _category_screen()
    passing = screen.passing(message)
    for language in languages:
        for category, indexes in screen.by_language.get(language, {}).items():
            stems = (screen.stems[index] for index in indexes if index in passing)
            matched.update((category, stem) for stem in stems if stem.occurs_in(message))
    scores: dict[str, int] = {}
    for category, stem in matched:
        scores[category] = scores.get(category, 0) + stem.weight
    return scores


def is_urgent(message: FoldedText) -> bool:
    """True when the message signals danger to life or liberty now, in any language:
    a missed emergency costs more than an operator's second look at a false alarm."""
    screen = _danger_screen()
    passing = screen.passing(message)
    if not passing:
        return False
    for urgent, not_urgent in screen.by_language:
        # Only stems that pass the screen can match or blank anything, so leaving out the others
        # (in their order: one exception blanked can uncover the next) changes no answer.
        candidates = [screen.stems[index] for index in urgent if index in passing]
        if not candidates:
            continue
        remaining = message.without(tuple(screen.stems[index] for index in not_urgent if index in passing))
        if any(stem.occurs_in(remaining) for stem in candidates):
            return True
    return False


def lexicon_languages_of(word: str, languages: Iterable[str]) -> tuple[str, ...]:
    """The languages among `languages` (English aside) whose category or danger stems match
    `word` ("incendio" -> es, "sunog" -> tl, "gaji" -> id): a one-word first message says its
    language. () when an English stem matches too, or none does."""
    message = FoldedText.of(word)
    found: set[str] = set()
    categories = _category_screen()
    passing = categories.passing(message)
    for language, by_category in categories.by_language.items():
        indexes = (index for indexes in by_category.values() for index in indexes if index in passing)
        if any(categories.stems[index].occurs_in(message) for index in indexes):
            found.add(language)
    danger = _danger_screen()
    passing = danger.passing(message)
    for language, (urgent, _) in zip(lexicon(), danger.by_language, strict=True):
        if any(danger.stems[index].occurs_in(message) for index in urgent if index in passing):
            found.add(language)
    if "en" in found:
        return ()
    return tuple(language for language in dict.fromkeys(languages) if language != "en" and language in found)


class _DangerScreen(StemScreen):
    """Every language's urgent and not-urgent stems behind one screen (see `StemScreen`)."""

    def __init__(self, lexicons: Iterable[LanguageLexicon]) -> None:
        stems: list[Stem] = []
        self.by_language: list[tuple[range, range]] = []
        for language_lexicon in lexicons:
            urgent = range(len(stems), len(stems) + len(language_lexicon.urgent))
            stems += language_lexicon.urgent
            not_urgent = range(len(stems), len(stems) + len(language_lexicon.not_urgent))
            stems += language_lexicon.not_urgent
            self.by_language.append((urgent, not_urgent))
        super().__init__(stems)


class _CategoryScreen(StemScreen):
    """Every language's category stems behind one screen: language -> category -> indexes."""

    def __init__(self, lexicons: Mapping[str, LanguageLexicon]) -> None:
        stems: list[Stem] = []
        self.by_language: dict[str, dict[str, range]] = {}
        for language, language_lexicon in lexicons.items():
            self.by_language[language] = {}
            for category, category_stems in language_lexicon.categories.items():
                self.by_language[language][category] = range(len(stems), len(stems) + len(category_stems))
                stems += category_stems
        super().__init__(stems)


@functools.cache
def _danger_screen() -> _DangerScreen:
    return _DangerScreen(lexicon().values())


@functools.cache
def _category_screen() -> _CategoryScreen:
    return _CategoryScreen(lexicon())


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
