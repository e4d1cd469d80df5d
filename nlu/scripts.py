"""Which writing system the letters of a message belong to.

Several of the hotline's languages own a script (Bengali, Burmese, Khmer, Thai, and
Japanese kana), so counting letters per script answers "which language?" for them at
once and for certain, including the two that lingua has no model for (Burmese, Khmer).
"""

from __future__ import annotations

import unicodedata
from collections import Counter

LATIN = "Latin"
BENGALI = "Bengali"
DEVANAGARI = "Devanagari"
THAI = "Thai"
MYANMAR = "Myanmar"
KHMER = "Khmer"
KANA = "Kana"  # Japanese hiragana and katakana
HAN = "Han"  # Chinese characters, also written in Japanese
OTHER = "Other"

# (first, last, script) code point ranges, Unicode blocks of the hotline's scripts.
_RANGES = (
    (0x0980, 0x09FF, BENGALI),
    (0x0900, 0x097F, DEVANAGARI),
    (0xA8E0, 0xA8FF, DEVANAGARI),
    (0x0E00, 0x0E7F, THAI),
    (0x1000, 0x109F, MYANMAR),
    (0xA9E0, 0xA9FF, MYANMAR),
    (0xAA60, 0xAA7F, MYANMAR),
    (0x1780, 0x17FF, KHMER),
    (0x19E0, 0x19FF, KHMER),
    (0x3040, 0x30FF, KANA),
    (0x31F0, 0x31FF, KANA),
    (0xFF66, 0xFF9F, KANA),
    (0x3400, 0x4DBF, HAN),
    (0x4E00, 0x9FFF, HAN),
    (0xF900, 0xFAFF, HAN),
    (0x20000, 0x3134F, HAN),
)


def script_of(char: str) -> str | None:
    """The script of one letter or combining mark, None for anything else (digits,
    spaces, punctuation, emoji), which says nothing about the language."""
    category = unicodedata.category(char)
    if category[0] not in "LM":
        return None
    point = ord(char)
    for first, last, script in _RANGES:
        if first <= point <= last:
            return script
    if char.isascii() or unicodedata.name(char, "").startswith("LATIN"):
        return LATIN
    return OTHER


def script_counts(text: str) -> Counter[str]:
    """How many letters (and marks) of each script `text` has."""
    return Counter(script for script in map(script_of, text) if script is not None)
