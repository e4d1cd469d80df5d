"""The text patterns of normalize() and extract_entities() give the same results as before, in linear time.

The old patterns backtracked quadratically: 4,094 zero-width joiners or a 20,000-character
description of capital letters held the database's write gate for seconds. Here the new
patterns are compared with the old ones (kept below as the reference) on random texts made
of the characters that matter, and run once on inputs so large that the old ones would take
minutes: these tests assert the results only, never a time (bench/text_bench.py measures it).
"""

from __future__ import annotations

import importlib
import random
import re

import pytest

from nlu import entities
from nlu.entities import WORKPLACE, extract_entities
from nlu.normalize import ZWJ, ZWNJ, normalize

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

# ---------------------------------------------------------------- the reference: the old patterns

OLD_STRAY_JOINERS = re.compile(rf"[{ZWJ}{ZWNJ}]+(?=\s|$)|(?:^|(?<=\s))[{ZWJ}{ZWNJ}]+")


def old_workplaces():
    data = entities.load_data_file("entities.yaml")
    suffixes = entities._alternatives(data["workplace_suffixes"], bounded=False)
    native = entities._alternatives([word for word in data["workplace_suffixes"] if not word.isascii()], bounded=False)
    prefixes = entities._alternatives(data["workplace_prefixes"], bounded=False)
    name, end, start = entities._NAME_WORD, entities._END, entities._START
    return (
        re.compile(rf"(?:{name}\s+){{1,4}}(?i:{suffixes})(?:\s+(?i:{suffixes}))*{end}"),
        re.compile(rf"{start}(?i:{prefixes})(?:\s+(?:{name}|[A-ZÀ-Ỹ][^\s,.;!?]*)){{1,4}}"),
        re.compile(rf"[^\s\W\d][^\s,.;!?।]*\s+(?:{native}){end}"),
    )


def old_matches(text: str) -> list[tuple[int, str]]:
    return sorted((m.start(), m.group(0).strip()) for pattern in old_workplaces() for m in pattern.finditer(text))


def new_matches(text: str) -> list[tuple[int, str]]:
    return sorted((start, name) for start, name in entities._workplace_spans(text))


# ---------------------------------------------------------------- same results

ROUNDS = 3000  # random texts per comparison
JOINER_ALPHABET = [ZWJ, ZWNJ, " ", "\n", "a", "ক", "্", "ষ", "\t"]
WORKPLACE_ALPHABET = [
    "Rahman ", "Garments ", "Garments", "Ltd", " ", "\n", "PT ", "Sinar ", "Jaya", "rahman ", "mr", "R", "2", "x",
    "গার্মেন্টস", "রহমান ", "(", ".", ",", "&", "-", "Công ty ", "May ", "Sài Gòn", "Factory ", "factory", "ABC",
]


def test_stray_joiners_are_removed_exactly_as_before_on_random_texts():
    rng = random.Random(11)
    for _ in range(4000):
        text = "".join(rng.choice(JOINER_ALPHABET) for _ in range(rng.randint(0, 14)))
        assert normalize(text) == normalize_with_old_joiners(text), repr(text)


def normalize_with_old_joiners(text: str) -> str:
    module = importlib.import_module("nlu.normalize")  # the module (the package exports the function)
    saved = module._drop_stray_joiners
    module._drop_stray_joiners = lambda value: OLD_STRAY_JOINERS.sub("", value)
    try:
        return module.normalize(text)
    finally:
        module._drop_stray_joiners = saved


def test_workplace_patterns_find_what_the_old_ones_found_on_random_texts():
    rng = random.Random(5)
    for _ in range(ROUNDS):
        text = normalize("".join(rng.choice(WORKPLACE_ALPHABET) for _ in range(rng.randint(1, 9))))
        assert new_matches(text) == old_matches(text), repr(text)


# ---------------------------------------------------------------- maximal inputs (minutes if quadratic)

BIG = 200_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" + ZWJ * BIG + "b", "a" + ZWJ * BIG + "b"),  # joiners between letters are kept
        ("a" + ZWJ * BIG + " b", "a b"),  # before a space they are left-overs
        (ZWNJ * BIG + "a", "a"),
        ("ক" + (ZWJ + ZWNJ) * (BIG // 2) + "্ষ", "ক" + (ZWJ + ZWNJ) * (BIG // 2) + "্ষ"),
    ],
    ids=["inside", "before-space", "at-start", "bengali"],
)
def test_huge_runs_of_joiners(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "A" * BIG,
        "Aa" * (BIG // 2),
        "ক" * BIG,
        "PT " + "A" * BIG,
        ("A " * (BIG // 2)).strip(),
        "(" + "x" * BIG + " গার্মেন্টস",
    ],
    ids=["capitals", "camel", "bengali-letters", "prefix-long-word", "many-words", "native-long-word"],
)
def test_huge_descriptions_are_read(text):
    found = [entity for entity in extract_entities(text) if entity.type == WORKPLACE]
    if text.endswith("গার্মেন্টস"):
        assert found and found[0].value.endswith("গার্মেন্টস")
    elif text.startswith("PT "):
        assert found and found[0].value.startswith("PT A")
    else:
        assert found == []


def test_a_workplace_after_a_huge_word_is_still_found():
    text = "Q" * BIG + " and then Rahman Garments Ltd did not pay"
    assert [entity.value for entity in extract_entities(text) if entity.type == WORKPLACE] == ["Rahman Garments Ltd"]


def test_word_list_patterns_find_what_they_found_without_the_first_letter_guard():
    data = entities.load_data_file("entities.yaml")
    patterns = entities._patterns()
    for words, guarded in ((entities._all(data["time_words"]), patterns.time_words), (data["places"], patterns.places)):
        unguarded = re.compile(f"(?:{entities._alternatives(words, edges=True)})", re.IGNORECASE)
        pieces = [*sorted(set(words)), " ", "  ", "x", "A", "1", ",", "\n", "の", "ที่", "ক"]
        rng = random.Random(len(pieces))
        for _ in range(ROUNDS):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
            for variant in (text, text.upper(), text.lower()):
                assert [(m.span(), m.group()) for m in guarded.finditer(variant)] == [
                    (m.span(), m.group()) for m in unguarded.finditer(variant)
                ], repr(variant)
