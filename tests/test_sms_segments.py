"""SMS segment counting and splitting (GSM-7: 160/153, UCS-2: 70/67)."""

from __future__ import annotations

import random

import pytest

from channels.sms_segments import GSM7_BASIC, GSM7_EXTENSION, count_segments, is_gsm7, split_for_sms

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters count twice
        ("€" * 81, "GSM-7", 2),
        ("ক" * 70, "UCS-2", 1),
        ("ক" * 71, "UCS-2", 2),
        ("a" * 159 + "ক", "UCS-2", 3),  # one Bengali letter makes the whole text UCS-2
        ("Tiếng Việt", "UCS-2", 1),
        ("😀" * 35, "UCS-2", 1),  # emoji are two UTF-16 units
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_count_segments(text, encoding, segments):
    counted = count_segments(text)
    assert (counted.encoding, counted.segments) == (encoding, segments)


@pytest.mark.parametrize("budget", [1, 2, 3])
@pytest.mark.parametrize(
    "text",
    [
        "Please check your report:\n" + "\n".join(f"Line {i}: some answer text here" for i in range(20)),
        "অনুগ্রহ করে আপনার অভিযোগ দেখুন:\n" + "\n".join(f"উত্তর {i}: কারখানার নাম এখানে" for i in range(15)),
        "x" * 1000,
        "ক" * 500,
        "😀" * 200,
    ],
)
def test_split_keeps_every_message_within_budget_and_loses_nothing(text, budget):
    parts = split_for_sms(text, budget)
    assert all(count_segments(part).segments <= budget for part in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")
    assert all("\ud800" > ch or ch > "\udfff" for part in parts for ch in part)  # no split surrogate


def test_short_text_is_not_split():
    assert split_for_sms("Hello", 1) == ["Hello"]


def test_counting_in_c_is_counting_per_character():
    # is_gsm7 and the septet count are set and count operations; the per-character definition they replace:
    rng = random.Random(3)
    alphabet = "aZ0 {€}[\\]^|~\f\n@£¤¿ñà\u0995\U0001f600ếđ\x00"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        per_char = all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)
        assert is_gsm7(text) == per_char
        if per_char:
            assert count_segments(text).units == sum(2 if char in GSM7_EXTENSION else 1 for char in text)
