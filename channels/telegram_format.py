"""How a reply looks on Telegram: menus as inline buttons, long texts in parts.

A button shows "1 English" and sends back exactly the answer ("1"), as if the
worker had typed it; the numbered menu stays in the text, so typing works too.
Telegram limits a message to 4096 characters (counted in UTF-16 units, so an
emoji counts two) and a button's callback_data to 64 bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove

MAX_MESSAGE_UNITS = 4096
MAX_CALLBACK_BYTES = 64
SHORT_BUTTON = 16  # buttons this short sit two to a row


def keyboard(choices: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup | ReplyKeyboardRemove:
    """One button per choice (two per row when all are short), or no keyboard at all."""
    if not choices or any(not 0 < len(answer.encode()) <= MAX_CALLBACK_BYTES for answer, _ in choices):
        # No menu (or an answer too long for a button, the text menu still works): also clear
        # any reply keyboard a client may still show.
        return ReplyKeyboardRemove()
    buttons = [InlineKeyboardButton(f"{answer} {label}".strip(), callback_data=answer) for answer, label in choices]
    per_row = 2 if all(len(button.text) <= SHORT_BUTTON for button in buttons) else 1
    return InlineKeyboardMarkup([buttons[i : i + per_row] for i in range(0, len(buttons), per_row)])


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE_UNITS) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at a blank line, a line end or a space when one is near."""
    parts = []
    text = text.strip()
    while utf16_units(text) > limit:
        cut = _longest_prefix(text, limit)
        window = text[:cut]
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at > cut // 2:
                cut = at
                break
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def _longest_prefix(text: str, limit: int) -> int:
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)
