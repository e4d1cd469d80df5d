"""Turn Burmese typed in the Zawgyi font encoding into standard Unicode.

Many phones in Myanmar still type Zawgyi: it reuses the Burmese Unicode block with other
meanings, so "ဟုတ္ကဲ့" (Zawgyi "yes") matches no keyword until converted to "ဟုတ်ကဲ့".
Google's `myanmartools` gives the probability that a text is Zawgyi; `python-myanmar`
converts it. Text that reads the same in both encodings ("မသိဘူး") may score high but
converts to itself, so nothing is lost; text that is clearly Unicode is left alone.
"""

from __future__ import annotations

import functools
import re
import warnings

from myanmar import converter as _converter
from myanmartools import ZawgyiDetector

# Above this the detector's model finds Zawgyi more likely than Unicode. Measured on the
# shipped Burmese messages (nlu/data/training, eval) and their Zawgyi forms: every Zawgyi
# form scores above 0.53, every Unicode text above 0.5 converts to itself.
ZAWGYI_PROBABILITY = 0.5
_MYANMAR = re.compile("[\u1000-\u109f]")


class UnconvertibleText(Exception):
    """python-myanmar met a syllable it has no mapping for."""


def _refuse_syllable(*_args: object, **_kwargs: object) -> None:
    raise UnconvertibleText


# python-myanmar prints a syllable it cannot map (a piece of the worker's message, on
# stdout, into the server's log) and drops it from the result. Its module-level `print`
# is replaced so that such a text raises instead: the message is then kept as typed.
_converter.print = _refuse_syllable  # type: ignore[attr-defined]


def zawgyi_to_unicode(text: str) -> str:
    """`text` with Zawgyi-encoded Burmese converted to Unicode; any other text unchanged.
    Never raises: a converter failure keeps the text as typed."""
    if not _MYANMAR.search(text):
        return text
    if _detector().get_zawgyi_probability(text) <= ZAWGYI_PROBABILITY:
        return text
    try:
        return _converter.convert(text, "zawgyi", "unicode")
    except Exception:  # noqa: BLE001 -- a worker's message is never lost to a font converter
        return text


@functools.cache
def _detector() -> ZawgyiDetector:
    # myanmartools 1.2 loads its model with a deprecated importlib.resources call; the
    # warning says nothing about our use, and tests turn warnings into errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return ZawgyiDetector()
