"""Case codes: digits only, easy to hide among phone numbers, hard to guess.

A code is 13 random digits from the operating system's CSPRNG (43 bits) and a
Luhn check digit, so a typo is told apart from a wrong code without a lookup.
It is shown grouped like a phone number ("0412 345 678 903") and accepted with
any spaces, dashes or dots, in any script's digits.
"""

from __future__ import annotations

import secrets as _csprng

RANDOM_DIGITS = 13
CODE_LENGTH = RANDOM_DIGITS + 1
_GROUPS = (4, 3, 3, 4)


def _luhn_check_digit(digits: str) -> str:
    total = 0
    # Double every second digit from the right of the payload (the check digit will sit right of it).
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def new_case_code() -> str:
    """A fresh case code: 14 ASCII digits, the last a Luhn check digit."""
    payload = str(_csprng.randbelow(10**RANDOM_DIGITS)).zfill(RANDOM_DIGITS)
    return payload + _luhn_check_digit(payload)


def is_valid_code(digits: str) -> bool:
    """True when `digits` has the right length and check digit."""
    return (
        len(digits) == CODE_LENGTH
        and digits.isascii()
        and digits.isdigit()
        and _luhn_check_digit(digits[:-1]) == digits[-1]
    )


def parse_code(text: str) -> str | None:
    """The code's digits from what a worker typed (ASCII digits expected), or None if malformed."""
    digits = "".join(char for char in text if char.isascii() and char.isdigit())
    leftovers = "".join(char for char in text if not (char.isascii() and char.isdigit()))
    if leftovers.strip(" -.\u00a0#") or not is_valid_code(digits):
        return None
    return digits


def format_code(digits: str) -> str:
    """The code grouped like a phone number, for showing to the worker."""
    parts, start = [], 0
    for size in _GROUPS:
        parts.append(digits[start : start + size])
        start += size
    return " ".join(parts)
