"""Find lexicon stems inside a message, respecting word edges in every script.

A stem matches whole words unless it has a "*" at an end, which lets the word go on
("harass*" matches "harassed"; "fire" does not match "fired"). Stems written with
Latin diacritics ("cháy") are looked for in the accent-keeping fold of the message, so
Vietnamese "cháy" (fire) is not found in "chạy" (run); stems without them are looked
for in the accent-free fold and so match whether or not the worker typed the accents.
"""

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from nlu.normalize import fold

OPEN_END = "*"


@dataclass(frozen=True)
class FoldedText:
    """A message folded both ways, computed once and matched against many stems."""

    exact: str
    loose: str

    @classmethod
    def of(cls, text: str) -> "FoldedText":
        return cls(fold(text, keep_accents=True), fold(text))

    def without(self, stems: tuple["Stem", ...]) -> "FoldedText":
        """This text with every occurrence of `stems` blanked out (for exceptions
        such as "fire exit", which must not count as the urgent "fire")."""
        exact, loose = self.exact, self.loose
        for stem in stems:
            spans = stem.spans(FoldedText(exact, loose))
            if stem.accented:
                exact = _blank(exact, spans)
                continue
            loose = _blank(loose, spans)
            # The two folds line up character by character unless NFC could not
            # recompose some accent, which real keyboards practically never produce.
            if len(exact) == len(loose):
                exact = _blank(exact, spans)
        return FoldedText(exact, loose)


@dataclass(frozen=True)
class Stem:
    """One lexicon entry in matching form."""

    text: str
    accented: bool
    open_start: bool
    open_end: bool

    @classmethod
    def parse(cls, written: str) -> "Stem":
        core = written.strip()
        open_start, open_end = core.startswith(OPEN_END), core.endswith(OPEN_END)
        core = core.strip(OPEN_END)
        exact, loose = fold(core, keep_accents=True), fold(core)
        if not loose:
            raise ValueError(f"lexicon stem {written!r} is empty after folding")
        accented = exact != loose
        return cls(exact if accented else loose, accented, open_start, open_end)

    @property
    def weight(self) -> int:
        """Longer stems are more specific, so they count for more."""
        return len(self.text)

    def spans(self, message: FoldedText) -> list[tuple[int, int]]:
        """Where this stem occurs in `message`, as (start, end) index pairs."""
        text = message.exact if self.accented else message.loose
        found, start = [], text.find(self.text)
        while start != -1:
            end = start + len(self.text)
            if (self.open_start or not _is_word_char(text, start - 1)) and (
                self.open_end or not _is_word_char(text, end)
            ):
                found.append((start, end))
            start = text.find(self.text, start + 1)
        return found

    def occurs_in(self, message: FoldedText) -> bool:
        return bool(self.spans(message))


def _is_word_char(text: str, index: int) -> bool:
    # Letters, marks (Bengali and Thai vowel signs) and digits continue a word; \w in
    # `re` would treat vowel signs as word breaks.
    if index < 0 or index >= len(text):
        return False
    return unicodedata.category(text[index])[0] in "LMN"


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


class StemScreen:
    """Which of many stems could occur in a message, told by one substring test per distinct word.

    A stem can occur in a fold, or in a fold that `FoldedText.without` blanked, only if each
    of its words occurs in the fold itself: blanking only turns characters into spaces, and a
    word has none. So the stems that pass the screen are the only ones worth the exact test
    (`Stem.spans`), and testing only them gives the same answers as testing them all, in a
    few hundredths of the time (a message meets a few of the lexicon's ~1,100 stems).
    """

    def __init__(self, stems: Iterable[Stem]) -> None:
        self.stems = tuple(stems)
        # Each stem is filed under its longest word (the rarest in text); the others are tested after.
        self._exact: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        self._loose: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for index, stem in enumerate(self.stems):
            words = sorted(stem.text.split(), key=len, reverse=True)
            table = self._exact if stem.accented else self._loose
            table.setdefault(words[0], []).append((index, tuple(words[1:])))
        self._exact_words = tuple(self._exact)
        self._loose_words = tuple(self._loose)

    def passing(self, message: FoldedText) -> set[int]:
        """The indexes (in `stems`) of the stems whose every word occurs in `message`."""
        found: set[int] = set()
        for text, words, table in (
            (message.exact, self._exact_words, self._exact),
            (message.loose, self._loose_words, self._loose),
        ):
            for word in [word for word in words if word in text]:
                found.update(index for index, others in table[word] if all(other in text for other in others))
        return found
