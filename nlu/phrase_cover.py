"""Find phrases inside a folded message, and tell whether a message is made only of them.

Latin, Bengali and Devanagari put spaces between words, so a phrase there matches whole
words only ("hi" is not found in "hiring"). Thai, Burmese, Khmer, Chinese and Japanese
are written without spaces, so a phrase in those scripts may touch its neighbours
("ขอบคุณครับ" is "ขอบคุณ" + "ครับ").
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from nlu.scripts import HAN, KANA, KHMER, MYANMAR, THAI, script_of

_UNSPACED_SCRIPTS = frozenset({THAI, MYANMAR, KHMER, HAN, KANA})


def is_word_char(char: str) -> bool:
    """Letters, combining marks (vowel signs) and digits continue a word."""
    return unicodedata.category(char)[0] in "LMN"


def is_unspaced(char: str) -> bool:
    """The character belongs to a script written without spaces between words."""
    return script_of(char) in _UNSPACED_SCRIPTS


def starts_word(text: str, start: int, phrase: str) -> bool:
    """`phrase` placed at `start` does not begin in the middle of a spaced-script word."""
    if start == 0 or not is_word_char(text[start - 1]):
        return True
    return is_unspaced(text[start - 1]) or is_unspaced(phrase[0])


def ends_word(text: str, end: int, phrase: str) -> bool:
    """`phrase` ending at `end` does not stop in the middle of a spaced-script word."""
    if end >= len(text) or not is_word_char(text[end]):
        return True
    if unicodedata.category(text[end])[0] == "M":  # a vowel sign belongs to the letter before it
        return False
    return is_unspaced(text[end]) or is_unspaced(phrase[-1])


def occurrences(text: str, phrase: str) -> Iterable[tuple[int, int]]:
    """(start, end) of each whole-word occurrence of `phrase` in `text`."""
    start = text.find(phrase)
    while start != -1:
        end = start + len(phrase)
        if starts_word(text, start, phrase) and ends_word(text, end, phrase):
            yield start, end
        start = text.find(phrase, start + 1)


@dataclass(frozen=True)
class Cover:
    """Whether a text is wholly covered by phrases, and whether a marked phrase was used."""

    complete: bool
    used_marked: bool


def cover(text: str, phrases: frozenset[str], marked: frozenset[str] = frozenset()) -> Cover:
    """Can `text` be read as a sequence of `phrases` (and `marked` phrases), with only
    spaces, punctuation and symbols between them? `used_marked` tells whether some
    complete reading uses at least one `marked` phrase. A text without any phrase
    (empty, or only punctuation) is not covered."""
    n = len(text)
    # reach[i]: text[:i] can be read so; via_marked[i]: and one reading used a marked phrase;
    # any_phrase[i]: and the reading holds at least one phrase.
    reach, via_marked, any_phrase = [False] * (n + 1), [False] * (n + 1), [False] * (n + 1)
    reach[0] = True
    by_first_char = _by_first_char(phrases, marked)
    for i in range(n):
        if not reach[i]:
            continue
        if not is_word_char(text[i]):
            reach[i + 1] = True
            via_marked[i + 1] |= via_marked[i]
            any_phrase[i + 1] |= any_phrase[i]
            continue
        for phrase, is_marked in by_first_char.get(text[i], ()):
            end = i + len(phrase)
            if text.startswith(phrase, i) and starts_word(text, i, phrase) and ends_word(text, end, phrase):
                reach[end] = any_phrase[end] = True
                via_marked[end] |= is_marked or via_marked[i]
    complete = reach[n] and any_phrase[n]
    return Cover(complete, complete and via_marked[n])


@functools.lru_cache(maxsize=64)
def _by_first_char(phrases: frozenset[str], marked: frozenset[str]) -> dict[str, tuple[tuple[str, bool], ...]]:
    """The phrases (each with whether it is marked) by their first character, in the order `cover`
    always tried them: only those can start at a given place (`cover` is called with a few phrase
    sets, the same objects every time, so this is built once for each)."""
    index: dict[str, list[tuple[str, bool]]] = {}
    for phrase, is_marked in [(phrase, False) for phrase in phrases] + [(phrase, True) for phrase in marked]:
        if phrase:
            index.setdefault(phrase[0], []).append((phrase, is_marked))
    return {char: tuple(candidates) for char, candidates in index.items()}
