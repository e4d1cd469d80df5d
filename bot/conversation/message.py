"""One message from a worker, normalised once where it enters, with what every step asks of it.

The intake makes a `Message` from the text a channel delivered; the rules and the steps
read it (its clean text, whether it has words, whether it is small talk or speaks of
danger) and never clean it again: `text` is an `nlu.normalize.NormalizedText`, which the
nlu functions recognise and do not normalise a second time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from nlu import is_dont_know, is_filler, normalize, parse_menu_choice, parse_yes_no
from nlu.categories import is_urgent
from nlu.normalize import NormalizedText
from nlu.stems import FoldedText

# Telegram's greeting, maybe with the bot's name or a deep-link payload. Matched on the
# clean text before folding: fold() strips the "/", and "/start" must never be stored as an answer.
_START = re.compile(r"/start(?:@\w+)?(?:\s|$)", re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class Message:
    """A worker's message: `raw` as delivered, `text` clean (empty when it was too long to read)."""

    raw: str
    text: NormalizedText
    too_long: bool = False

    @classmethod
    def of(cls, raw: str, max_chars: int | None = None) -> Message:
        """Normalise `raw` once; a message over `max_chars` is not read at all (it is refused)."""
        if max_chars is not None and len(raw) > max_chars:
            return cls(raw, normalize(""), too_long=True)
        return cls(raw, normalize(raw))

    @cached_property
    def has_words(self) -> bool:
        return any(char.isalpha() for char in self.text)

    @cached_property
    def has_alnum(self) -> bool:
        return any(char.isalnum() for char in self.text)

    @cached_property
    def small_talk(self) -> bool:
        """Greetings, thanks, apologies, a bare yes/no, in any language (workers mix: "nahi", "ဟုတ်"
        or "hola" in an English chat): never a workplace or a story. Without words (emoji,
        punctuation) the usual "please write it in words" answers instead."""
        return self.has_alnum and is_filler(self.text, None)

    @cached_property
    def dont_know(self) -> bool:
        return is_dont_know(self.text, None)  # "no sé" in an English chat is still "don't know"

    @cached_property
    def urgent(self) -> bool:
        """Danger words (fire, trapped, beaten...) in any language. Every understanding backend's
        `urgent` is this lexicon, so it is asked directly: far cheaper than a whole reading."""
        return self.has_words and is_urgent(FoldedText.of(self.text))

    @cached_property
    def is_start(self) -> bool:
        return _START.match(self.text) is not None

    def yes_no(self, language: str | None) -> bool | None:
        """1 or a yes word: True; 2 or a no word: False; anything else: None."""
        choice = parse_menu_choice(self.text, 2)
        if choice:
            return choice == 1
        return parse_yes_no(self.text, language)

    def says_something(self, language: str | None) -> bool:
        """Worth keeping for the report where an answer of another kind was asked (first message,
        language menu, consent): not small talk, and a sentence rather than a stray word
        ("Klingon") or noise. Scripts written without spaces (Chinese, Thai...) count letters only."""
        text = self.text
        if is_filler(text, language):
            return False
        # Vowel signs of Bengali, Hindi, Thai... are marks, not letters: they count as letters here.
        letters = sum(char.isalpha() or unicodedata.category(char).startswith("M") for char in text)
        if letters / max(len(text), 1) < 0.6:  # mostly digits, symbols or noise
            return False
        return letters >= 8 if len(text.split()) >= 2 else not text.isascii() and letters >= 4
