"""How many people: digits, numbers in words in each language, CJK numerals, "about", "many"."""

import pytest

from nlu import Count, parse_count, parse_number
from nlu.counts import _data

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

FIRST_RELEASE = ("en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es")

COUNTS = [
    # the reproductions of issue 10
    ("id", "kira2 100 orang", Count(100, True)),
    ("en", "line 3, 45 people", Count(45, False)),
    ("zh", "大概三百人", Count(300, True)),
    ("tl", "marami kami", Count(None, True)),
    # digits, local digits, grouping
    (None, "45", Count(45, False)), ("en", "we are 1,200 workers", Count(1200, False)),
    ("bn", "১২০ জন", Count(120, False)), ("th", "๓๐ คน", Count(30, False)), ("hi", "२५ लोग", Count(25, False)),
    ("en", "45 people in line 3", Count(45, False)), ("en", "3rd floor, 40 workers", Count(40, False)),
    # approximations
    ("en", "about 100", Count(100, True)), ("id", "kira-kira 100", Count(100, True)),
    ("en", "100+", Count(100, True)), ("en", "20-30 people", Count(20, True)),
    ("bn", "দুই তিন জন", Count(2, True)), ("hi", "lagbhag 50 log", Count(50, True)),
    ("vi", "khoảng 50 người", Count(50, True)), ("vi", "khoang 50 nguoi", Count(50, True)),
    ("es", "unas doscientas personas", Count(200, True)), ("tl", "mga 100 katao", Count(100, True)),
    ("th", "ประมาณ 30 คน", Count(30, True)), ("zh", "三百多人", Count(300, True)),
    ("ja", "三十人くらい", Count(30, True)), ("my", "လူတစ်ရာလောက်", Count(100, True)),
    ("km", "ប្រហែល ៥០ នាក់", Count(50, True)), ("ne", "करिब २० जना", Count(20, True)),
    # numbers in words, one table per language
    ("en", "twenty", Count(20, False)), ("en", "one hundred and fifty", Count(150, False)),
    ("en", "two of us", Count(2, False)),
    ("es", "veinte", Count(20, False)), ("es", "treinta y cinco trabajadores", Count(35, False)),
    ("bn", "বিশ", Count(20, False)), ("bn", "তিনশো জন", Count(300, False)), ("bn", "tin jon", Count(3, False)),
    ("hi", "सौ लोग", Count(100, False)), ("hi", "बीस", Count(20, False)), ("hi", "2 lakh", Count(200000, False)),
    ("ne", "बीस जना", Count(20, False)), ("ne", "पाँच सय", Count(500, False)),
    ("vi", "hai mươi", Count(20, False)), ("vi", "hai muoi", Count(20, False)),
    ("vi", "hai mươi lăm người", Count(25, False)), ("vi", "một trăm lẻ năm", Count(105, False)),
    ("vi", "ba trăm người", Count(300, False)),
    ("id", "dua puluh lima orang", Count(25, False)), ("id", "seratus lima puluh", Count(150, False)),
    ("id", "dua belas", Count(12, False)),
    ("tl", "isang daan", Count(100, False)), ("tl", "dalawampu't lima", Count(25, False)),
    ("tl", "dalawang daang manggagawa", Count(200, False)), ("ja", "ふたりくらい", Count(2, True)),
    ("th", "สามสิบคน", Count(30, False)), ("th", "ยี่สิบห้าคน", Count(25, False)),
    ("my", "နှစ်ဆယ်", Count(20, False)), ("km", "មួយរយនាក់", Count(100, False)),
    ("ja", "百人", Count(100, False)), ("ja", "二十五人", Count(25, False)),
    ("zh", "三百", Count(300, False)), ("zh", "两千五百人", Count(2500, False)), ("zh", "十五万", Count(150000, False)),
    # many, without a number
    ("en", "many", Count(None, True)), ("en", "hundreds of us", Count(None, True)),
    ("id", "banyak", Count(None, True)), ("zh", "很多", Count(None, True)), ("bn", "অনেক লোক", Count(None, True)),
    ("hi", "bahut log", Count(None, True)), ("vi", "rất nhiều", Count(None, True)), ("es", "muchos", Count(None, True)),
    ("ja", "たくさん", Count(None, True)), ("th", "หลายคน", Count(None, True)), ("km", "ច្រើន", Count(None, True)),
    ("my", "အများကြီး", Count(None, True)), ("ne", "धेरै", Count(None, True)),
]  # fmt: skip

NOT_COUNTS = [
    ("en", "hello"), ("en", "I don't know"), ("es", "no sé"), ("en", ""), ("en", "-5"), ("en", "10:30"),
    ("th", "สามีตีฉัน"), ("zh", "三月"), ("en", "99999999999"), ("id", "tidak tahu"), ("vi", "không biết"),
    ("en", "Sunrise Garments"),
]  # fmt: skip


@pytest.mark.parametrize(("language", "text", "expected"), COUNTS)
def test_parse_count(language, text, expected):
    assert parse_count(text, language) == expected


@pytest.mark.parametrize(("language", "text"), NOT_COUNTS)
def test_nothing_count_like(language, text):
    assert parse_count(text, language) is None


@pytest.mark.parametrize("language", FIRST_RELEASE)
def test_every_language_has_people_about_and_many_words(language):
    entry = _data()[language]
    assert entry["people"] and entry["approximate"] and entry["many"]
    if language not in ("en", "es"):  # text2num reads those
        assert entry["numbers"] and entry["multipliers"]


def test_count_is_frozen():
    with pytest.raises(AttributeError):
        Count(1, False).value = 2  # type: ignore[misc]


@pytest.mark.parametrize(("text", "expected"), [("about 20 people", 20), ("kira2 100", 2), ("1,200", 1200)])
def test_parse_number_is_unchanged(text, expected):
    # Its other callers still get the first number, as before.
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [("en", "marami kami", Count(None, True)), ("bn", "kira2 100 orang", Count(100, True)), ("es", "三百人", Count(300, False))],
)
def test_other_languages_are_tried_when_the_chosen_one_finds_nothing(language, text, expected):
    # The language picked at the menu is not always the one the worker types.
    assert parse_count(text, language) == expected
