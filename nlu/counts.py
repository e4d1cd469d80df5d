"""Read how many people a worker means: "45", "about 100", "kira2 100 orang", "大概三百人",
"hai mươi người", "veinte", "marami kami".

A count is a `Count(value, approximate)`: the number (None when the worker only said "many")
and whether they said it was a guess ("about", "20-30", "100+"). Never a number the
worker did not give. The words live in `nlu/data/counts.yaml`; English and Spanish numbers
in words are read by the text2num library; digits in any script are ASCII after `normalize`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from text_to_num import alpha2digit

from nlu.data_files import load_data_file
from nlu.normalize import fold, normalize
from nlu.numbers import MAX_NUMBER, MINUS_SIGNS, is_negative
from nlu.phrase_cover import ends_word, is_unspaced, is_word_char, occurrences, starts_word
from nlu.vocabulary import with_english

# A count is a short answer; the rest of a long message is not read.
MAX_COUNT_CHARS = 500
# Languages whose numbers in words text2num reads (its language codes are ISO 639-1 too).
_TEXT2NUM_LANGUAGES = ("en", "es")
# "1,200", "1.200", "1,20,000" or a plain run of digits (as nlu.numbers reads them).
_DIGITS = re.compile(r"[0-9]{1,3}(?:,[0-9]{2})*(?:[,.][0-9]{3})+(?![0-9])|[0-9]+")
_ORDINAL_SUFFIX = re.compile(r"(?:st|nd|rd|th)\b")
# Between two numbers, these make a range: "20-30", "20 to 30", "২০ থেকে ৩০", "20至30".
_RANGE_WORDS = frozenset(
    {"-", "~", "to", "or", "o", "a", "hasta", "hanggang", "o kaya", "sampai", "hingga", "atau", "đến",
     "den", "tới", "toi", "hoặc", "hoac", "থেকে", "theke", "से", "se", "या", "ya", "देखि", "dekhi", "至", "到",
     "或", "から", "ถึง", "หรือ", "ដល់", "ឬ", "မှ", "or so"}
)  # fmt: skip
_PLUS = re.compile(r"[0-9]\s*\+")
_NEGATIVE_NUMBER = re.compile(rf"^[{MINUS_SIGNS}]\s*[0-9]+")
_NUMBER, _MULTIPLIER, _CONNECTOR = "number", "multiplier", "connector"


@dataclass(frozen=True)
class Count:
    """How many: `value` is None when the worker said "many" without a number;
    `approximate` when they said it was a guess ("about 100", "20-30", "100+")."""

    value: int | None
    approximate: bool


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    kind: str  # _NUMBER, _MULTIPLIER, _CONNECTOR, or "digits"
    value: int
    unspaced: bool


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    value: int
    approximate: bool


@dataclass(frozen=True)
class _Word:
    text: str  # folded, accents kept
    accented: bool  # then matched only as typed with its accents
    entry: tuple[str, int]  # (kind, value)


@dataclass(frozen=True)
class _Lexicon:
    words: Mapping[str, tuple[str, int]]  # folded word -> (kind, value)
    # Number words by the first letter of their accent-free fold, longest first and a word
    # written with accents before its bare twin ("mươi" x10 before "muoi").
    by_first_char: Mapping[str, tuple[_Word, ...]]
    people: frozenset[str]
    approximate: frozenset[str]
    many: frozenset[str]


def parse_count(text: str, language: str | None) -> Count | None:
    """The count of people in `text`, in `language` or English (any language when None).

    The number nearest a word for people wins ("line 3, 45 people" -> 45); "about",
    ranges and "+" make it approximate; "many" without a number is Count(None, True);
    a message with nothing count-like (and "don't know") is None. When the worker's
    language finds nothing, every language is tried: the language chosen at the menu is
    not always the one typed ("marami kami" under English). Never raises."""
    count = _parse_count(text, _languages(language))
    if count is None and language is not None:
        count = _parse_count(text, _languages(None))
    return count


def _parse_count(text: str, languages: tuple[str, ...]) -> Count | None:
    lexicon = _lexicon(languages)
    clean = normalize(text)[:MAX_COUNT_CHARS]
    plus = _PLUS.search(clean) is not None
    # "-5" is no count; fold() would strip the sign from the message's edge.
    folded = fold(_NEGATIVE_NUMBER.sub(" ", clean), keep_accents=True)
    if not folded:
        return None
    loose = fold(folded)
    many = _any_phrase(loose, lexicon.many)
    # "About" in any language: a guess is a guess whatever language the menu was answered in.
    about = plus or _any_phrase(loose, _lexicon(_languages(None)).approximate)
    # Blank "about"/"many" words before text2num, which reads "unas" as 1 and "hundreds" as 100.
    spoken = _blank(folded, loose, lexicon.approximate | lexicon.many)
    spoken = _text2num(spoken, languages)
    loose = fold(spoken)
    exact = spoken if len(spoken) == len(loose) else loose
    people = [span for phrase in lexicon.people if phrase in loose for span in occurrences(loose, phrase)]
    mentions = _mentions(exact, loose, lexicon, people)
    if not mentions:
        return Count(None, True) if many else None
    chosen = _nearest_people(mentions, people)
    approximate = chosen.approximate or about
    first_of_range = _range_start(loose, chosen, mentions)
    if first_of_range is not None:
        # "20-30 people": the worker gave both; the first, as typed, and it is a guess.
        chosen, approximate = first_of_range, True
    if chosen.value > MAX_NUMBER:
        return None
    return Count(chosen.value, approximate)


def _languages(language: str | None) -> tuple[str, ...]:
    return tuple(_data()) if language is None else with_english(language)


def _text2num(text: str, languages: tuple[str, ...]) -> str:
    for code in _TEXT2NUM_LANGUAGES:
        if code in languages:
            text = _words_to_digits(text, code)
    return text


def _words_to_digits(text: str, code: str) -> str:
    try:
        # threshold=0: "two people" is 2 too (by default text2num keeps small numbers as words).
        return alpha2digit(text, code, threshold=0)
    except Exception:  # noqa: BLE001 -- a parsing library's failure must not lose the worker's answer
        return text


def _blank(exact: str, loose: str, phrases: Iterable[str]) -> str:
    if len(exact) != len(loose):
        exact = loose
    chars = list(exact)
    # `phrase in loose` first: most of the lexicon is not in a given message, and a test in C is far
    # cheaper than starting a generator for each phrase (every language's phrases are tried).
    for phrase in phrases:
        if phrase not in loose:
            continue
        for start, end in occurrences(loose, phrase):
            chars[start:end] = " " * (end - start)
    return "".join(chars)


def _any_phrase(loose: str, phrases: Iterable[str]) -> bool:
    return any(True for phrase in phrases if phrase in loose for _ in occurrences(loose, phrase))


def _tokens(exact: str, loose: str, lexicon: _Lexicon) -> list[_Token]:
    tokens: list[_Token] = []
    for found in _DIGITS.finditer(loose):
        start, end = found.span()
        if start > 0 and loose[start - 1].isascii() and loose[start - 1].isalpha():
            continue  # "kira2", "line3": a word with a digit, not a count
        if _ORDINAL_SUFFIX.match(loose, end) or is_negative(loose, start) or _is_time(loose, start, end):
            continue
        digits = re.sub(r"[,.]", "", found.group())
        if len(digits) > len(str(MAX_NUMBER)):
            continue
        tokens.append(_Token(start, end, "digits", int(digits), False))
    taken = [False] * len(loose)
    for token in tokens:
        taken[token.start : token.end] = [True] * (token.end - token.start)
    i = 0
    while i < len(loose):
        if taken[i] or not is_word_char(loose[i]):
            i += 1
            continue
        match = _word_at(exact, loose, i, lexicon.by_first_char.get(loose[i], ()))
        if match is None:
            i += 1
            continue
        word, (kind, value) = match
        tokens.append(_Token(i, i + len(word), kind, value, is_unspaced(word[0])))
        i += len(word)
    return sorted(tokens, key=lambda token: token.start)


def _word_at(exact: str, loose: str, i: int, words: tuple[_Word, ...]) -> tuple[str, tuple[str, int]] | None:
    for word in words:
        text = exact if word.accented else loose
        if text.startswith(word.text, i) and starts_word(text, i, word.text) and ends_word(text, i + len(word.text), word.text):
            return word.text, word.entry
    return None


def _is_time(text: str, start: int, end: int) -> bool:
    """ "10:30" is a time of day, not a count."""
    return (end + 1 < len(text) and text[end] == ":" and text[end + 1].isdigit()) or (
        start >= 2 and text[start - 1] == ":" and text[start - 2].isdigit()
    )


def _mentions(exact: str, loose: str, lexicon: _Lexicon, people: list[tuple[int, int]]) -> list[_Mention]:
    mentions = []
    for group in _groups(loose, _tokens(exact, loose, lexicon)):
        value, approximate = _value(group)
        if value is None:
            continue
        mention = _Mention(group[0].start, group[-1].end, value, approximate)
        if group[0].unspaced and not _stands_for_a_count(loose, mention, lexicon, people):
            continue
        mentions.append(mention)
    return mentions


def _groups(text: str, tokens: list[_Token]) -> list[list[_Token]]:
    """Tokens that make one number: adjacent, joined only by spaces, hyphens, apostrophes
    or connector words; digits only begin a number ("3 trăm", "2 lakh", "5百")."""
    groups: list[list[_Token]] = []
    for token in tokens:
        current = groups[-1] if groups else None
        joined = (
            current is not None
            and token.kind != "digits"
            and not (current[-1].kind == "digits" and token.kind == _NUMBER)
            and _only_joiners(text[current[-1].end : token.start])
        )
        if joined:
            current.append(token)
        else:
            groups.append([token])
    # A connector cannot end a number ("20 at" is 20).
    for group in groups:
        while group and group[-1].kind == _CONNECTOR:
            group.pop()
    return [group for group in groups if group and group[0].kind != _CONNECTOR]


def _only_joiners(gap: str) -> bool:
    return all(char.isspace() or char in "-'" for char in gap)


def _value(group: list[_Token]) -> tuple[int | None, bool]:
    """The number a group of tokens says: units add up, a multiplier multiplies the
    units before it ("hai mươi lăm" = 2 x 10 + 5), thousands and above close a group
    ("ba trăm nghìn" = 300 x 1000). Two small units in a row are a range ("দুই তিন জন")."""
    total = group_value = unit = 0
    approximate = False
    last_kind = None
    for token in group:
        if token.kind in ("digits", _NUMBER):
            if last_kind in ("digits", _NUMBER) and 0 < unit < 10 and token.value < 10:
                approximate = True  # "two three people": two or three
                continue
            unit += token.value
        elif token.kind == _MULTIPLIER:
            if token.value >= 1000:
                total += (group_value + unit or 1) * token.value
                group_value = unit = 0
            else:
                group_value += (unit or 1) * token.value
                unit = 0
        last_kind = token.kind
    if all(token.kind == _CONNECTOR for token in group):
        return None, False
    return total + group_value + unit, approximate


def _stands_for_a_count(text: str, mention: _Mention, lexicon: _Lexicon, people: list[tuple[int, int]]) -> bool:
    """Number words of Thai, Burmese, Khmer, Chinese or Japanese count only beside a people
    or "about" word, or alone: "สามคน" and "三百" are counts, "สามี" and "三月" are not."""
    before, after = text[: mention.start].rstrip(), text[mention.end :].lstrip()
    for phrase in (*lexicon.approximate, *(text[start:end] for start, end in people)):
        if after.startswith(phrase) or before.endswith(phrase):
            return True
    rest = text[: mention.start] + text[mention.end :]
    return not any(is_word_char(char) for char in rest)


def _nearest_people(mentions: list[_Mention], people: list[tuple[int, int]]) -> _Mention:
    if not people or len(mentions) == 1:
        return mentions[0]

    def distance(mention: _Mention) -> tuple[int, int]:
        best = min(
            start - mention.end if start >= mention.end else mention.start - end if end <= mention.start else 0
            for start, end in people
        )
        return best, mention.start

    return min(mentions, key=distance)


def _range_start(text: str, chosen: _Mention, mentions: list[_Mention]) -> _Mention | None:
    """The first number of the range ("20-30", "20 to 30") that `chosen` belongs to, or None."""
    index = mentions.index(chosen)
    before = mentions[index - 1] if index > 0 else None
    after = mentions[index + 1] if index + 1 < len(mentions) else None
    if before is not None and _is_range_gap(text[before.end : chosen.start]):
        return before
    if after is not None and _is_range_gap(text[chosen.end : after.start]):
        return chosen
    return None


def _is_range_gap(gap: str) -> bool:
    return len(gap) <= 12 and gap.strip() in _RANGE_WORDS


@functools.cache
def _lexicon(languages: tuple[str, ...]) -> _Lexicon:
    words: dict[str, tuple[str, int]] = {}
    people: set[str] = set()
    approximate: set[str] = set()
    many: set[str] = set()
    for language in languages:
        entry = _data().get(language, {})
        for kind, key in ((_NUMBER, "numbers"), (_MULTIPLIER, "multipliers")):
            for word, value in entry.get(key, {}).items():
                words.setdefault(fold(word, keep_accents=True), (kind, value))
        for word in entry.get("connectors", ()):
            words.setdefault(fold(word, keep_accents=True), (_CONNECTOR, 0))
        people.update(fold(phrase) for phrase in entry.get("people", ()))
        approximate.update(fold(phrase) for phrase in entry.get("approximate", ()))
        many.update(fold(phrase) for phrase in entry.get("many", ()))
    by_first_char: dict[str, list[_Word]] = {}
    for text, entry in words.items():
        bare = fold(text)
        by_first_char.setdefault(bare[0], []).append(_Word(text, text != bare, entry))
    ordered = {
        char: tuple(sorted(group, key=lambda word: (-len(word.text), not word.accented))) for char, group in by_first_char.items()
    }
    return _Lexicon(words, ordered, frozenset(people), frozenset(approximate), frozenset(many))


@functools.cache
def _data() -> dict:
    raw = load_data_file("counts.yaml")
    for language, entry in raw.items():
        for key, value in entry.items():
            where = f"counts.yaml {language}.{key}"
            if key in ("numbers", "multipliers"):
                if not isinstance(value, dict) or not all(isinstance(v, int) and v >= 0 for v in value.values()):
                    raise ValueError(f"{where}: expected a mapping of quoted words to whole numbers")
            elif key in ("connectors", "people", "approximate", "many"):
                if not isinstance(value, list) or not all(isinstance(v, str) and fold(v) for v in value):
                    raise ValueError(f"{where}: expected a list of quoted phrases")
            else:
                raise ValueError(f"{where}: unknown key")
    return raw
