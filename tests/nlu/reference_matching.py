"""The matching code of `nlu` as it was before its fast paths (normalize, fold, the danger and
category lexicons, phrase cover), kept verbatim to check that the fast paths answer the same."""

import re
import unicodedata

from nlu.categories import LanguageLexicon, lexicon
from nlu.phrase_cover import Cover, ends_word, is_word_char, starts_word
from nlu.stems import FoldedText
from nlu.zawgyi import zawgyi_to_unicode

ZWNJ = "\u200c"
ZWJ = "\u200d"
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))
_LINE_BREAKS = str.maketrans(dict.fromkeys("\r\x0b\x0c\x85\u2028\u2029", "\n"))
_KEPT_CONTROLS = frozenset("\n\t" + ZWJ + ZWNJ)
_JOINER_RUNS = re.compile(rf"(?<![{ZWJ}{ZWNJ}])[{ZWJ}{ZWNJ}]++")
_REPEATED_CHAR = re.compile(r"(.)\1+")
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_LATIN_BASE_LETTER = str.maketrans({"đ": "d", "ð": "d", "ł": "l", "ø": "o"})
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_EDGE_MARKS = frozenset("\ufe0e\ufe0f\u20e3")


def normalize(text: str) -> str:
    """Return `text` cleaned up: Burmese typed in Zawgyi made Unicode, NFC, ASCII digits,
    no invisible or control characters, no repeated punctuation, single spaces, at most
    one blank line. Never raises."""
    if text.isascii():
        # Most messages ("1", "yes", "skip"): no surrogates, nothing for NFC, no invisible
        # characters and no joiners; the character loop only runs if a control character is there.
        text = _ESCAPE_SEQUENCE.sub("", text.replace("\r\n", "\n")).translate(_LINE_BREAKS)
        if not text.isprintable():
            text = "".join(_clean_char(char) for char in text)
    else:
        # Zawgyi Burmese first: NFC and the cleaning below would reorder or drop its marks.
        text = zawgyi_to_unicode(_replace_lone_surrogates(text)).replace("\r\n", "\n")
        text = _ESCAPE_SEQUENCE.sub("", text)
        text = unicodedata.normalize("NFC", text)
        text = text.translate(_INVISIBLE).translate(_LINE_BREAKS)
        text = "".join(_clean_char(char) for char in text)
        text = _drop_stray_joiners(text)
    text = _REPEATED_CHAR.sub(_collapse_punctuation, text)
    text = _HORIZONTAL_SPACE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def _drop_stray_joiners(text: str) -> str:
    """`text` without the runs of ZWJ/ZWNJ that touch a space or an end of the text (linear time)."""
    if ZWJ not in text and ZWNJ not in text:
        return text

    def stray(run: re.Match[str]) -> str:
        start, end = run.span()
        if start == 0 or end == len(text) or text[start - 1].isspace() or text[end].isspace():
            return ""
        return run.group()

    return _JOINER_RUNS.sub(stray, text)


def fold(text: str, *, keep_accents: bool = False) -> str:
    """Return the matching key of `text`: normalized, casefolded, single-spaced, with
    punctuation, symbols and spaces stripped from both ends and (unless `keep_accents`)
    diacritics removed from Latin letters only; other scripts keep all their marks."""
    return fold_normalized(normalize(text), keep_accents=keep_accents)


def fold_normalized(text: str, *, keep_accents: bool = False) -> str:
    """`fold` of a text that is already `normalize`d (saves normalizing it again)."""
    text = unicodedata.normalize("NFC", text.casefold())
    # Joiners are invisible and typed inconsistently; a matching key is better without them.
    text = text.replace(ZWJ, "").replace(ZWNJ, "").translate(_QUOTES)
    if not keep_accents:
        text = _strip_latin_accents(text)
    return strip_edges(" ".join(text.split()))


def _replace_lone_surrogates(text: str) -> str:
    # A round trip through UTF-16 joins valid surrogate pairs and turns lone halves into U+FFFD.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _clean_char(char: str) -> str:
    if char.isascii():
        if char.isprintable() or char in _KEPT_CONTROLS:
            return char
        return ""
    if unicodedata.category(char) in ("Cc", "Cf") and char not in _KEPT_CONTROLS:
        return ""
    digit = unicodedata.decimal(char, None)
    return char if digit is None else str(digit)


def _collapse_punctuation(run: re.Match[str]) -> str:
    char = run.group(1)
    return char if unicodedata.category(char).startswith("P") else run.group(0)


def _is_latin(char: str) -> bool:
    return "a" <= char <= "z" or unicodedata.name(char, "").startswith("LATIN")


def _strip_latin_accents(text: str) -> str:
    # Bengali, Devanagari, Thai, Burmese and Khmer vowel signs are combining marks too,
    # so a mark is dropped only when the letter it sits on is Latin.
    kept = []
    base_is_latin = False
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.category(char).startswith("M"):
            if base_is_latin:
                continue
        else:
            base_is_latin = _is_latin(char)
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept)).translate(_LATIN_BASE_LETTER)


def _is_edge_junk(char: str) -> bool:
    return char.isspace() or char in _EDGE_MARKS or unicodedata.category(char)[0] in "PSZ"


def strip_edges(text: str) -> str:
    """Remove spaces, punctuation and symbols (emoji included) from both ends of `text`."""
    start, end = 0, len(text)
    while start < end and _is_edge_junk(text[start]):
        start += 1
    while end > start and _is_edge_junk(text[end - 1]):
        end -= 1
    return text[start:end]


def is_urgent(message: FoldedText) -> bool:
    for language_lexicon in lexicon().values():
        remaining = message.without(language_lexicon.not_urgent)
        if any(stem.occurs_in(remaining) for stem in language_lexicon.urgent):
            return True
    return False


def category_scores(message: FoldedText, languages) -> dict[str, int]:
    matched = set()
    for language in languages:
        for category, stems in lexicon().get(language, _EMPTY).categories.items():
            matched.update((category, stem) for stem in stems if stem.occurs_in(message))
    scores: dict[str, int] = {}
    for category, stem in matched:
        scores[category] = scores.get(category, 0) + stem.weight
    return scores


_EMPTY = LanguageLexicon({}, (), ())


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
    candidates = [(phrase, False) for phrase in phrases] + [(phrase, True) for phrase in marked]
    for i in range(n):
        if not reach[i]:
            continue
        if not is_word_char(text[i]):
            reach[i + 1] = True
            via_marked[i + 1] |= via_marked[i]
            any_phrase[i + 1] |= any_phrase[i]
            continue
        for phrase, is_marked in candidates:
            end = i + len(phrase)
            if text.startswith(phrase, i) and starts_word(text, i, phrase) and ends_word(text, end, phrase):
                reach[end] = any_phrase[end] = True
                via_marked[end] |= is_marked or via_marked[i]
    complete = reach[n] and any_phrase[n]
    return Cover(complete, complete and via_marked[n])
