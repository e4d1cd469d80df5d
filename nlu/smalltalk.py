"""Tell small talk and "don't know" from real answers, in the 13 languages.

Workers greet, thank, apologise, say "wait" or "I'm back" between answers; none of that
may be stored as the answer to a question ("Hello" is not the name of a workplace). And
"I don't know" is an answer of its own: unknown, never an invented value. The phrases
live in `nlu/data/smalltalk.yaml`; the yes and no words of `keywords.yaml` are filler too.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

from nlu.data_files import load_data_file
from nlu.normalize import fold, normalize
from nlu.phrase_cover import cover
from nlu.vocabulary import phrases as keyword_phrases
from nlu.vocabulary import resolve_kind, with_english

# Small talk is short; a longer message is an answer (and is not worth scanning).
MAX_SMALLTALK_CHARS = 200
_KINDS = ("filler", "dont_know")
# A whole-message keyword of these kinds is a command or an answer word, never small talk,
# even when its parts are ("不要了" cancel = "不要" no + "了"; Vietnamese "dừng" stop, not "đúng" yes).
_NOT_SMALLTALK_KINDS = frozenset({"help", "back", "cancel", "delete", "language", "status", "done", "confirm", "change"})
# Variation selectors, the keycap mark, skin tones and the joiner ride on emoji.
_EMOJI_MARKS = frozenset("\ufe0e\ufe0f\u20e3\u200d") | frozenset(map(chr, range(0x1F3FB, 0x1F400)))


def is_filler(text: str, language: str | None) -> bool:
    """True when the whole message is small talk (greeting, thanks, apology, "wait",
    "I'm back", a form of address, a bare yes/no word) in `language` or English, or in
    any language when `language` is None; such a message is never an answer. A message
    that says "I don't know" is not filler (see `is_dont_know`)."""
    key = _key(text)
    if not key:
        return _only_emoji(text)
    languages = _languages(language)
    if resolve_kind(text, languages) in _NOT_SMALLTALK_KINDS:
        return False
    reading = cover(key, _phrases("filler", languages), _phrases("dont_know", languages))
    # "不知道"/"没有" (none) is an answer of its own, even where its words are also small talk.
    return reading.complete and not reading.used_marked


def is_dont_know(text: str, language: str | None) -> bool:
    """True when the message says "I don't know" / "not sure" / "none" (with at most
    small talk around it: "sorry, I don't know") in `language` or English, or in any
    language when `language` is None."""
    key = _key(text)
    if not key:
        return False
    languages = _languages(language)
    if resolve_kind(text, languages) in _NOT_SMALLTALK_KINDS:
        return False
    return cover(key, _phrases("filler", languages), _phrases("dont_know", languages)).used_marked


def greeting_languages(text: str, languages: Iterable[str]) -> tuple[str, ...] | None:
    """For a message that is only small talk: the languages (among `languages`, English
    aside) whose own small talk it uses ("xin chào" -> vi, "salamat po" -> tl, "namaskar"
    -> hi and ne); () when it is English small talk only ("hello", and "salam", which the
    English list holds too). None when the message is not small talk at all."""
    key = _key(text)
    if not key or not cover(key, _phrases("filler", tuple(languages) + ("en",))).complete:
        return None
    english = _phrases("filler", ("en",))
    return tuple(
        language
        for language in dict.fromkeys(languages)
        if language != "en" and cover(key, english, _phrases("filler", (language,)) - english).used_marked
    )


def smalltalk_languages() -> tuple[str, ...]:
    """Language codes of `smalltalk.yaml`, in file order."""
    return tuple(_data())


def smalltalk_phrases(kind: str, language: str) -> tuple[str, ...]:
    """The phrases of `kind` ("filler" or "dont_know") written for `language`."""
    if kind not in _KINDS:
        raise ValueError(f"unknown small-talk kind {kind!r}; expected one of {_KINDS}")
    return _data().get(language, {}).get(kind, ())


def _only_emoji(text: str) -> bool:
    """Emoji and symbols alone ("🙏", "👍😊"), but not bare punctuation ("-" skips, "?" asks)."""
    if len(text) > MAX_SMALLTALK_CHARS:
        return False
    clean = normalize(text)
    symbols = [char for char in clean if not char.isspace() and char not in _EMOJI_MARKS]
    return bool(symbols) and all(unicodedata.category(char)[0] == "S" for char in symbols)


def _key(text: str) -> str:
    if len(text) > MAX_SMALLTALK_CHARS:
        return ""
    return fold(text)


def _languages(language: str | None) -> tuple[str, ...]:
    return smalltalk_languages() if language is None else with_english(language)


@functools.cache
def _phrases(kind: str, languages: Iterable[str]) -> frozenset[str]:
    found: set[str] = set()
    for language in languages:
        found.update(fold(phrase) for phrase in smalltalk_phrases(kind, language))
        if kind == "filler":
            for answer in ("yes", "no"):
                found.update(fold(phrase) for phrase in keyword_phrases(answer, language))
    found.discard("")
    return frozenset(found)


@functools.cache
def _data() -> dict[str, dict[str, tuple[str, ...]]]:
    raw = load_data_file("smalltalk.yaml")
    parsed: dict[str, dict[str, tuple[str, ...]]] = {}
    for language, kinds in raw.items():
        parsed[language] = {}
        for kind, items in kinds.items():
            where = f"smalltalk.yaml {language}.{kind}"
            if kind not in _KINDS:
                raise ValueError(f"{where}: unknown kind; expected one of {_KINDS}")
            if not isinstance(items, list) or not all(isinstance(item, str) and fold(item) for item in items):
                raise ValueError(f"{where}: expected a list of quoted, non-empty phrases")
            parsed[language][kind] = tuple(items)
    return parsed
