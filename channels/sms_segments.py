"""SMS segments: how many paid messages a text costs, and how to split it within a budget.

A text that fits the GSM-7 alphabet costs one segment up to 160 characters
(characters of the extension table, such as `{` or `€`, count twice), and 153
per segment when longer (the rest carries the concatenation header). Any other
character (Bengali, Thai, Burmese, Vietnamese tone marks, most emoji) makes
the whole text UCS-2: 70 UTF-16 code units, or 67 per segment when longer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# The GSM 03.38 basic character set and its extension table (each extension char costs 2).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


GSM7 = GSM7_BASIC | GSM7_EXTENSION


def is_gsm7(text: str) -> bool:
    return GSM7.issuperset(text)


def _units(text: str, gsm: bool) -> int:
    if gsm:  # counted in C, not per character: a reply is measured several times while it is split
        return len(text) + sum(text.count(char) for char in GSM7_EXTENSION)
    return len(text.encode("utf-16-le")) // 2


def count_segments(text: str) -> SegmentCount:
    """The encoding, length and number of segments of one SMS text."""
    gsm = is_gsm7(text)
    units = _units(text, gsm)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if gsm else (UCS2_SINGLE, UCS2_MULTI)
    segments = 1 if units <= single else -(-units // multi)
    return SegmentCount("GSM-7" if gsm else "UCS-2", units, max(segments, 1) if text else 0)


def split_for_sms(text: str, max_segments_per_message: int) -> list[str]:
    """Split `text` into messages of at most `max_segments_per_message` segments each,
    at line breaks where possible, else at spaces, else anywhere (never inside a surrogate pair)."""
    if count_segments(text).segments <= max_segments_per_message:
        return [text]
    messages: list[str] = []
    current = ""
    for piece in _pieces(text):
        candidate = current + piece
        if current and count_segments(candidate.rstrip()).segments > max_segments_per_message:
            messages.append(current.rstrip())
            current = piece.lstrip()
        else:
            current = candidate
        while count_segments(current.rstrip()).segments > max_segments_per_message:
            head, current = _cut(current, max_segments_per_message)
            messages.append(head)
    if current.strip():
        messages.append(current.rstrip())
    return messages


def _pieces(text: str) -> list[str]:
    """Lines (with their newline), and within over-long lines, words (with their space)."""
    pieces: list[str] = []
    for line in text.splitlines(keepends=True):
        words = line.split(" ")
        pieces.extend(word + " " for word in words[:-1])
        pieces.append(words[-1])
    return pieces


def _cut(text: str, max_segments: int) -> tuple[str, str]:
    """The longest head of `text` within the budget, and the rest."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_segments(text[:middle]).segments <= max_segments:
            low = middle
        else:
            high = middle - 1
    return text[:low], text[low:]


# Characters outside GSM-7 that have a plain equivalent, beyond "a letter without its marks".
_GSM7_PLAIN = {"đ": "d", "Đ": "D", "“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "…": "...", "–": "-", "—": "-",
               "«": '"', "»": '"', "\u00a0": " ", "•": "-", "·": "."}  # fmt: skip


def fold_to_gsm7(text: str) -> str:
    """`text` with every character GSM-7 cannot carry replaced by its plain form where it has
    one: tone and accent marks dropped ("Tiếng Việt" -> "Tieng Viet", "número" -> "numero"),
    typographic quotes and dashes made plain. GSM-7 letters stay ("ñ", "é", "¿"). A character
    with no plain form (a Bengali letter, an emoji) stays, and the text stays UCS-2."""
    out = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            out.append(char)
        elif char in _GSM7_PLAIN:
            out.append(_GSM7_PLAIN[char])
        else:
            bare = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
            out.append(bare if bare and is_gsm7(bare) else char)
    return "".join(out)


def sms_text(text: str, language: str | None, gsm7_fold: Iterable[str]) -> str:
    """The text as sent by SMS: folded to GSM-7 when the deployment opted in for its language
    (`channels.twilio.gsm7_fold`), since a single UCS-2 character costs the whole message
    more than twice the segments."""
    return fold_to_gsm7(text) if language is not None and language in gsm7_fold else text


def sms_messages(text: str, language: str | None, gsm7_fold: Iterable[str], max_segments_per_message: int) -> list[str]:
    """The messages `text` goes out as by SMS: folded for the worker's language (`sms_text`),
    then split within the segment budget. Every SMS the hotline sends passes here, the TwiML
    answer and every later one through the REST API (operator replies, status notices, retries)."""
    return split_for_sms(sms_text(text, language, gsm7_fold), max_segments_per_message)
