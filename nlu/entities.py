"""Pull out of a description what the flow would otherwise ask again: how many people,
when, the workplace's name, and the place.

Cheap on purpose: word lists in `nlu/data/entities.yaml` and a few patterns, no
model. A miss only means the question is asked as before; a wrong hit is shown to the
worker to confirm, never stored without their answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from nlu.data_files import load_data_file
from nlu.normalize import normalize

PEOPLE = "people"
TIME = "time"
WORKPLACE = "workplace"
PLACE = "place"

# No letter or combining mark may follow a Latin, Bengali, Devanagari or Burmese word,
# or "5 menu" would be 5 "men"; Thai, Khmer, Japanese and Chinese are written without
# spaces, so their words may run straight into the next ("2か月給料").
_END = r"(?![^\W\d_]|[\u0300-\u036f\u0900-\u09ff\u1000-\u109f])"
_START = r"(?<![^\W\d_])"
_SPACELESS = re.compile(r"[\u0e00-\u0e7f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff]")
_NUMBER = r"(?<![\d.,])(\d{1,6})\s*"
_DATE = re.compile(r"(?<!\d)(\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?)(?!\d)")
_NAME_WORD = r"[A-Z0-9][\w&'.-]*"


@dataclass(frozen=True)
class Entity:
    """One thing found in a message: `type` is people, time, workplace or place;
    `value` is a number for people, else the words as written; `text` is where it was found."""

    type: str
    value: int | str
    text: str

    def as_dict(self) -> dict:
        return asdict(self)


def extract_entities(text: str) -> tuple[Entity, ...]:
    """The entities of `text`, in the order they appear, each span used once."""
    clean = normalize(text)
    found: list[tuple[int, int, Entity]] = []  # (start, end, entity)
    guessed: list[tuple[int, int, Entity]] = []  # places only guessed from a preposition
    patterns = _patterns()
    for match in patterns.people.finditer(clean):
        found.append((match.start(), match.end(), Entity(PEOPLE, int(match.group(1)), match.group(0))))
    for pattern in (patterns.duration, patterns.time_words, _DATE):
        for match in pattern.finditer(clean):
            found.append((match.start(), match.end(), Entity(TIME, match.group(0).strip(), match.group(0).strip())))
    for pattern in patterns.workplaces:
        for match in pattern.finditer(clean):
            name = match.group(0).strip()
            found.append((match.start(), match.start() + len(name), Entity(WORKPLACE, name, name)))
    for match in patterns.places.finditer(clean):
        found.append((match.start(), match.end(), Entity(PLACE, patterns.place_names[match.group(0).casefold()], match.group(0))))
    for match in patterns.place_after_preposition.finditer(clean):
        name = match.group(1)
        if name.split()[0].casefold() not in patterns.not_places:
            guessed.append((match.start(1), match.end(1), Entity(PLACE, name, name)))
    return tuple(entity for _, _, entity in _without_overlaps(found, guessed))


def _without_overlaps(*tiers: list[tuple[int, int, Entity]]) -> list[tuple[int, int, Entity]]:
    # Surer tiers first, and within a tier longer spans first: "Rahman Garments Ltd"
    # beats the place "Rahman" inside it, the listed place "Bekasi" beats "Bekasi PHK".
    kept: list[tuple[int, int, Entity]] = []
    ordered = [item for tier in tiers for item in sorted(tier, key=lambda item: (item[0] - item[1], item[0]))]
    for start, end, entity in ordered:
        if all(end <= other_start or start >= other_end for other_start, other_end, _ in kept):
            kept.append((start, end, entity))
    return sorted(kept, key=lambda item: item[0])


@dataclass(frozen=True)
class _Patterns:
    people: re.Pattern[str]
    duration: re.Pattern[str]
    time_words: re.Pattern[str]
    workplaces: tuple[re.Pattern[str], ...]
    places: re.Pattern[str]
    place_names: dict[str, str]
    place_after_preposition: re.Pattern[str]
    not_places: frozenset[str]


@functools.cache
def _patterns() -> _Patterns:
    data = load_data_file("entities.yaml")
    people = _alternatives(_all(data["people_words"]))
    units = _alternatives(_all(data["duration_units"]))
    suffixes = _alternatives(data["workplace_suffixes"], bounded=False)
    native_suffixes = _alternatives([word for word in data["workplace_suffixes"] if not word.isascii()], bounded=False)
    prefixes = _alternatives(data["workplace_prefixes"], bounded=False)
    prepositions = _alternatives(data["place_prepositions"], bounded=False)
    places = data["places"]
    return _Patterns(
        people=re.compile(_NUMBER + f"(?:{people})", re.IGNORECASE),
        duration=re.compile(_NUMBER + f"(?:{units})", re.IGNORECASE),
        time_words=re.compile(f"(?:{_alternatives(_all(data['time_words']), edges=True)})", re.IGNORECASE),
        workplaces=(
            # "Rahman Garments Ltd": capitalized words, then one or more workplace words.
            re.compile(rf"(?:{_NAME_WORD}\s+){{1,4}}(?i:{suffixes})(?:\s+(?i:{suffixes}))*{_END}"),
            # "PT Sinar Jaya", "Công ty May Sài Gòn": a workplace word, then capitalized words.
            re.compile(rf"{_START}(?i:{prefixes})(?:\s+(?:{_NAME_WORD}|[A-ZÀ-Ỹ][^\s,.;!?]*)){{1,4}}"),
            # "রহমান গার্মেন্টস": scripts without capitals, so any one word before a workplace word.
            re.compile(rf"[^\s\W\d][^\s,.;!?।]*\s+(?:{native_suffixes}){_END}"),
        ),
        places=re.compile(f"(?:{_alternatives(places, edges=True)})", re.IGNORECASE),
        place_names={place.casefold(): place for place in places},
        place_after_preposition=re.compile(
            rf"{_START}(?:{prepositions})\s+((?:[A-ZÀ-Ỹ][^\s,.;!?]*)(?:\s+[A-ZÀ-Ỹ][^\s,.;!?]*){{0,2}})"
        ),
        not_places=frozenset(word.casefold() for word in data["not_places"]),
    )


def _all(by_language: dict[str, list[str]]) -> list[str]:
    return [word for words in by_language.values() for word in words]


def _alternatives(words: Iterable[str], *, bounded: bool = True, edges: bool = False) -> str:
    """A regex alternation of `words`, longest first so "of us" is tried before "us".
    `bounded`: a word of a spaced script may not run on into a letter; `edges`: nor
    start right after one."""
    parts = []
    for word in sorted(set(words), key=len, reverse=True):
        part = re.escape(word)
        spaced = not _SPACELESS.search(word)
        if edges and spaced:
            part = _START + part
        if (bounded or edges) and spaced:
            part += _END
        parts.append(part)
    return "|".join(parts)
