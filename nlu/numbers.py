"""Read numbers out of workers' messages: counts ("about 20 of us") and menu choices ("2").

Local digits (২০, ２０, ๒๐ ...) are already ASCII after `normalize`, so only ASCII
digits are looked for here.
"""

import re

from nlu.normalize import fold, normalize

# Anything larger is a phone number or a typo, not a count of people or days.
MAX_NUMBER = 10_000_000

# Thousands grouped with "," or "." (es: "1.200"), also Indian grouping "1,20,000";
# otherwise a plain run of digits ("1.5" reads as 1, "20-30" as 20).
_FIRST_NUMBER = re.compile(r"[0-9]{1,3}(?:,[0-9]{2})*(?:[,.][0-9]{3})+(?![0-9])|[0-9]+")
_MENU_NUMBER = re.compile(r"[0-9]{1,4}")
# A minus sign (ASCII, Unicode minus, dashes, full-width) right before a number makes it
# no count and no menu choice: "-1" at a summary must not read as "1 = SEND".
MINUS_SIGNS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_NEGATIVE = re.compile(rf"(?:^|(?<=\s))[{MINUS_SIGNS}]\s*[0-9]")


def parse_number(text: str) -> int | None:
    """The first whole number in `text` ("about 20 people" -> 20, "1,200" -> 1200),
    or None when there is none or it exceeds MAX_NUMBER. Never raises."""
    clean = normalize(text)
    found = _FIRST_NUMBER.search(clean)
    if found is None or is_negative(clean, found.start()):
        return None
    digits = re.sub(r"[,.]", "", found.group())
    # Checking the length first also keeps int() away from its 4300-digit limit.
    if len(digits) > len(str(MAX_NUMBER)):
        return None
    value = int(digits)
    return value if value <= MAX_NUMBER else None


def is_negative(text: str, start: int) -> bool:
    """A minus sign stands right before the number at `start`, not joining two words ("a-5")."""
    return start > 0 and text[start - 1] in MINUS_SIGNS and (start == 1 or not text[start - 2].isalnum())


def parse_menu_choice(text: str, n_options: int) -> int | None:
    """The option number when the whole message is one number in 1..n_options, with
    at most punctuation, symbols or spaces around it ("2.", "(2)", "#2", "২"); else None."""
    if _NEGATIVE.search(normalize(text)):
        return None
    # fold() strips the punctuation, symbols and spaces around the number.
    core = fold(text)
    if not _MENU_NUMBER.fullmatch(core):
        return None
    choice = int(core)
    return choice if 1 <= choice <= n_options else None
