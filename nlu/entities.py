"""Pull out of a description what the flow would otherwise ask again: how many people,
when, the workplace's name, and the place.

Cheap on purpose: word lists in `nlu/data/entities.yaml` and a few patterns, no
model. A miss only means the question is asked as before; a wrong hit is shown to the
worker to confirm, never stored without their answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
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
_NAME_WORD_WHOLE = r"[A-Z0-9][\w&'.-]*+"  # the same, never given back in part (no backtracking into it)


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
    for start, name in _workplace_spans(clean, patterns):
        found.append((start, start + len(name), Entity(WORKPLACE, name, name)))
    for match in patterns.places.finditer(clean):
        found.append((match.start(), match.end(), Entity(PLACE, patterns.place_names[match.group(0).casefold()], match.group(0))))
    for match in patterns.place_after_preposition.finditer(clean):
        name = match.group(1)
        if name.split()[0].casefold() not in patterns.not_places:
            guessed.append((match.start(1), match.end(1), Entity(PLACE, name, name)))
    return tuple(entity for _, _, entity in _without_overlaps(found, guessed))


def _workplace_spans(clean: str, patterns: _Patterns | None = None) -> list[tuple[int, str]]:
    """(start, name) of every workplace name the workplace patterns find in a normalized text."""
    spans = []
    for pattern in (patterns or _patterns()).workplaces:
        for match in _word_start_matches(pattern, clean):
            spans.append((match.start("name"), match.group("name").strip()))
    return spans


def _word_start_matches(patterns: tuple[re.Pattern[str], re.Pattern[str]], text: str) -> Iterator[re.Match[str]]:
    """What `finditer` gave with the old patterns, which could start anywhere.

    The first pattern starts only at the beginning of a word; but a match may end inside a
    word ("...Garments2Ltd"), and the old search went on from there. So after each match the
    second pattern (the same without the word-start condition) is tried once at that point."""
    anywhere, resume = patterns
    position = 0
    while (match := anywhere.search(text, position)) is not None:
        while match is not None:
            yield match
            position = match.end()  # never empty: a name has at least one character
            match = resume.match(text, position)


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
    workplaces: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]  # see _word_start_matches
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
        time_words=re.compile(_first_letter_guard(_all(data["time_words"])) + f"(?:{_alternatives(_all(data['time_words']), edges=True)})",
                              re.IGNORECASE),
        # Linear time: each pattern starts only where a word starts (a lookbehind), skips the
        # word's leading characters that cannot begin a name, and takes words whole
        # (possessive). Started from every letter inside a long word, as they once were, they
        # read the rest of the word again each time: quadratic, seconds on a long description.
        # A name still begins where it began before (tests/nlu/test_nlu_linear_patterns.py).
        workplaces=(
            # "Rahman Garments Ltd": capitalized words, then one or more workplace words.
            _from_word_starts(
                r"(?<![\w&'.-])",
                rf"(?:(?![A-Z0-9])[\w&'.-])*+"
                rf"(?P<name>(?:{_NAME_WORD_WHOLE}\s++){{1,4}}(?i:{suffixes})(?:\s+(?i:{suffixes}))*{_END})",
            ),
            # "PT Sinar Jaya", "Công ty May Sài Gòn": a workplace word, then capitalized words.
            _from_word_starts(  # this one always started at a word start only
                "", rf"{_START}(?P<name>(?i:{prefixes})(?:\s+(?:{_NAME_WORD_WHOLE}|[A-ZÀ-Ỹ][^\s,.;!?]*+)){{1,4}})"
            ),
            # "রহমান গার্মেন্টস": scripts without capitals, so any one word before a workplace word.
            _from_word_starts(
                r"(?<![^\s,.;!?।])",
                rf"(?:(?![^\s\W\d])[^\s,.;!?।])*+(?P<name>[^\s\W\d][^\s,.;!?।]*+\s++(?:{native_suffixes}){_END})",
            ),
        ),
        places=re.compile(_first_letter_guard(places) + f"(?:{_alternatives(places, edges=True)})", re.IGNORECASE),
        place_names={place.casefold(): place for place in places},
        place_after_preposition=re.compile(
            rf"{_START}(?:{prepositions})\s+((?:[A-ZÀ-Ỹ][^\s,.;!?]*)(?:\s+[A-ZÀ-Ỹ][^\s,.;!?]*){{0,2}})"
        ),
        not_places=frozenset(word.casefold() for word in data["not_places"]),
    )


def _from_word_starts(word_start: str, body: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The pattern searched at word starts only, and the same tried where the last match ended."""
    return re.compile(word_start + body), re.compile(body)


def _first_letter_guard(words: Iterable[str]) -> str:
    """A quick test of one position before the hundreds of alternatives of `_alternatives(words,
    edges=True)` are tried there: a word of a spaced script can only start a match at the start of
    a word, and any word only with its own first letter. It changes no result (each alternative
    checks the same again), but most positions of a long text fail it at once: the word lists made
    reading a 20,000-character description take a quarter of a second."""
    spaced, spaceless = set(), set()
    for word in words:
        (spaceless if _SPACELESS.search(word) else spaced).add(word[0])
    guards = [f"{_START}(?=[{''.join(map(re.escape, sorted(spaced)))}])"] if spaced else []
    guards += [f"(?=[{''.join(map(re.escape, sorted(spaceless)))}])"] if spaceless else []
    return f"(?:{'|'.join(guards)})" if guards else ""


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
