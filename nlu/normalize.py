"""Clean the text of an incoming message, and fold it into a key for keyword matching.

Workers type on cheap phones with many keyboards, in many scripts, often with local
digits, stray invisible characters and repeated punctuation. `normalize` turns any
message into one predictable form without losing meaning; `fold` goes further and
makes a key that is only fit for comparing against keyword lists.
"""

import re
import unicodedata

from nlu.zawgyi import zawgyi_to_unicode

ZWNJ = "\u200c"
ZWJ = "\u200d"

# Invisible characters that mean nothing in any script we serve; keyboards and
# copy-paste leave them inside words, where they break keyword matching.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff"))
# Every way a phone can say "new line" becomes "\n" before control characters go.
_LINE_BREAKS = str.maketrans(dict.fromkeys("\r\x0b\x0c\x85\u2028\u2029", "\n"))
# Format characters that carry meaning: ZWJ/ZWNJ shape Bengali, Hindi and Persian words.
_KEPT_CONTROLS = frozenset("\n\t" + ZWJ + ZWNJ)
# ZWJ/ZWNJ only join letters; next to a space or at an end they are left-overs. Each run of
# joiners is matched once, whole (possessive, and never from inside a run): the old pattern
# tried every position of a run and backtracked over the rest of it, so 4,094 joiners took
# seconds. Whether a run is stray is then decided by its two neighbours.
_JOINER_RUNS = re.compile(rf"(?<![{ZWJ}{ZWNJ}])[{ZWJ}{ZWNJ}]++")
_REPEATED_CHAR = re.compile(r"(.)\1+")
# Terminal escape sequences (colours, cursor moves): the ESC goes with the control
# characters, but "[31m" after it would stay in the answer and read as the number 31.
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")

# Latin letters that carry their "accent" in the letter itself, so NFD cannot split it off.
_LATIN_BASE_LETTER = str.maketrans({"đ": "d", "ð": "d", "ł": "l", "ø": "o"})
# Curly quotes from smartphone keyboards would make "that’s all" differ from "that's all".
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
# Emoji presentation selectors and the keycap enclosure ride on symbols at a message's end.
_EDGE_MARKS = frozenset("\ufe0e\ufe0f\u20e3")

# Most messages are plain printable ASCII ("1", "yes", "skip", a sentence in English) and pass
# here dozens of times on their way; for them the general steps above reduce to these few
# (derived from the same Unicode categories, so the answers are the same; tests compare the two).
_ASCII = [chr(point) for point in range(128)]
_ASCII_PUNCTUATION_RUN = re.compile(
    "([" + re.escape("".join(char for char in _ASCII if unicodedata.category(char).startswith("P"))) + r"])\1+"
)
_SPACE_RUN = re.compile(" {2,}")
_ASCII_EDGE_JUNK = "".join(char for char in _ASCII if char.isspace() or unicodedata.category(char)[0] in "PSZ")


class NormalizedText(str):
    """Text that `normalize` has cleaned, marked so that it is never cleaned again.

    A message is normalised once, where it enters (`bot.conversation.message.Message`), and then
    read by many functions here (commands, yes/no, small talk, danger words), each of which
    accepts any text and so calls `normalize` and `fold` first. For this type `normalize`
    gives the text back as it is and `fold` keeps each fold on the value, as markupsafe's
    `Markup` marks text that needs no more escaping. It is a `str` in every other way.
    """

    def _fold(self, keep_accents: bool) -> str:
        folds = self.__dict__.setdefault("_folds", {})
        if keep_accents not in folds:
            folds[keep_accents] = _fold_clean(self, keep_accents)
        return folds[keep_accents]


def normalize(text: str) -> NormalizedText:
    """Return `text` cleaned up: Burmese typed in Zawgyi made Unicode, NFC, ASCII digits,
    no invisible or control characters, no repeated punctuation, single spaces, at most
    one blank line. Never raises. Text normalised already is returned as it is."""
    if type(text) is NormalizedText:
        return text
    if text.isascii() and text.isprintable():
        # One line of plain ASCII: no escape, control character, line break or tab to handle.
        text = _ASCII_PUNCTUATION_RUN.sub(r"\1", text)
        return NormalizedText((_SPACE_RUN.sub(" ", text) if "  " in text else text).strip())
    if text.isascii():
        # Most messages ("1", "yes", "skip"): no surrogates, nothing for NFC, no invisible
        # characters and no joiners; the character loop only runs if a control character is there.
        text = _ESCAPE_SEQUENCE.sub("", text.replace("\r\n", "\n")).translate(_LINE_BREAKS)
        if not text.isprintable():
            text = text.translate(_CLEAN)
    else:
        # Zawgyi Burmese first: NFC and the cleaning below would reorder or drop its marks.
        text = zawgyi_to_unicode(_replace_lone_surrogates(text)).replace("\r\n", "\n")
        text = _ESCAPE_SEQUENCE.sub("", text)
        text = unicodedata.normalize("NFC", text)
        text = text.translate(_INVISIBLE).translate(_LINE_BREAKS)
        text = _drop_stray_joiners(text.translate(_CLEAN))
    text = _REPEATED_CHAR.sub(_collapse_punctuation, text)
    text = _HORIZONTAL_SPACE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return NormalizedText(_MANY_NEWLINES.sub("\n\n", text).strip())


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
    if type(text) is NormalizedText:
        return text._fold(keep_accents)
    return _fold_clean(text, keep_accents)


def _fold_clean(text: str, keep_accents: bool) -> str:
    if text.isascii():
        # ASCII: casefold is lower, NFC, the quotes and the accents have nothing to do.
        return " ".join(text.lower().split()).strip(_ASCII_EDGE_JUNK)
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


class _CleanTable(dict):
    """`_clean_char` as a `str.translate` table, filled in as characters are met.

    Bounded, so that a flood of distinct characters costs time, not memory.
    """

    def __missing__(self, point: int) -> int | str | None:
        char = chr(point)
        clean = _clean_char(char)
        value = None if not clean else point if clean == char else clean
        if len(self) < _TABLE_MAX:
            self[point] = value
        return value


_TABLE_MAX = 20_000
_CLEAN = _CleanTable()


def _collapse_punctuation(run: re.Match[str]) -> str:
    char = run.group(1)
    return char if unicodedata.category(char).startswith("P") else run.group(0)


def _is_latin(char: str) -> bool:
    return "a" <= char <= "z" or unicodedata.name(char, "").startswith("LATIN")


_MARK, _LATIN_BASE, _OTHER_BASE = 0, 1, 2
# The kind of each character seen (a few hundred in practice); bounded, so that a flood of
# distinct characters costs time, not memory.
_CHAR_KINDS: dict[str, int] = {char: _LATIN_BASE if _is_latin(char) else _OTHER_BASE for char in _ASCII}


def _char_kind(char: str) -> int:
    kind = _CHAR_KINDS.get(char)
    if kind is None:
        if unicodedata.category(char).startswith("M"):
            kind = _MARK
        else:
            kind = _LATIN_BASE if _is_latin(char) else _OTHER_BASE
        if len(_CHAR_KINDS) < _TABLE_MAX:
            _CHAR_KINDS[char] = kind
    return kind


def _strip_latin_accents(text: str) -> str:
    # Bengali, Devanagari, Thai, Burmese and Khmer vowel signs are combining marks too,
    # so a mark is dropped only when the letter it sits on is Latin.
    decomposed = unicodedata.normalize("NFD", text)
    if decomposed.isascii():  # no mark to drop; NFC and the base letters leave ASCII as it is
        return decomposed
    kept = []
    base_is_latin = False
    for char in decomposed:
        kind = _char_kind(char)
        if kind == _MARK:
            if base_is_latin:
                continue
        else:
            base_is_latin = kind == _LATIN_BASE
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept)).translate(_LATIN_BASE_LETTER)


def _is_edge_junk(char: str) -> bool:
    return char.isspace() or char in _EDGE_MARKS or unicodedata.category(char)[0] in "PSZ"


def strip_edges(text: str) -> str:
    """Remove spaces, punctuation and symbols (emoji included) from both ends of `text`."""
    if text.isascii():
        return text.strip(_ASCII_EDGE_JUNK)
    start, end = 0, len(text)
    while start < end and _is_edge_junk(text[start]):
        start += 1
    while end > start and _is_edge_junk(text[end - 1]):
        end -= 1
    return text[start:end]
