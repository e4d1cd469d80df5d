"""Case codes: digits only, at least 40 bits from the CSPRNG, typos caught by the check digit."""

from __future__ import annotations

import math

import pytest

from bot import casecode
from nlu import normalize

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run


def test_codes_are_fourteen_digits_with_a_valid_check_digit_and_enough_entropy():
    codes = {casecode.new_case_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == 14 and code.isdigit() and casecode.is_valid_code(code)
    assert math.log2(10**casecode.RANDOM_DIGITS) >= 40


def test_every_digit_position_varies():
    codes = [casecode.new_case_code() for _ in range(500)]
    for position in range(casecode.RANDOM_DIGITS):
        assert len({code[position] for code in codes}) > 5


@pytest.mark.parametrize("typed", ["{g}", "{plain}", "{dashed}", "{dotted}", "  {g}  "])
def test_a_code_is_accepted_as_typed(typed):
    code = casecode.new_case_code()
    grouped = casecode.format_code(code)
    text = typed.format(g=grouped, plain=code, dashed=grouped.replace(" ", "-"), dotted=grouped.replace(" ", "."))
    assert casecode.parse_code(text) == code


def test_local_digits_become_a_code_after_normalization():
    code = casecode.new_case_code()
    bengali = "".join("০১২৩৪৫৬৭৮৯"[int(d)] for d in code)
    assert casecode.parse_code(normalize(bengali)) == code


def test_grouping_looks_like_a_phone_number():
    assert casecode.format_code("04123456789034") == "0412 345 678 9034"


def test_typos_are_caught():
    code = casecode.new_case_code()
    wrong_digit = code[:5] + str((int(code[5]) + 1) % 10) + code[6:]
    # Luhn catches every adjacent swap except 0<->9; swap the first pair it must catch.
    i = next(i for i in range(13) if code[i] != code[i + 1] and {code[i], code[i + 1]} != {"0", "9"})
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
    for bad in (wrong_digit, swapped, code[:-1], code + "1", code[:6] + "x" + code[7:], "", "status"):
        assert casecode.parse_code(bad) is None
