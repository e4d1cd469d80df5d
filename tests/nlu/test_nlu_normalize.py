"""normalize() and fold(): the clean-up every message goes through before matching."""

import pytest

from nlu.normalize import fold, normalize

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

# Code point of the digit zero of each script workers write numbers in.
DIGIT_ZEROS = {
    "bengali": 0x09E6,
    "devanagari": 0x0966,
    "thai": 0x0E50,
    "burmese": 0x1040,
    "khmer": 0x17E0,
    "full-width": 0xFF10,
    "arabic-indic": 0x0660,
    "extended arabic-indic (persian, urdu)": 0x06F0,
    "lao": 0x0ED0,
    "gujarati": 0x0AE6,
    "tamil": 0x0BE6,
}


@pytest.mark.parametrize("zero", DIGIT_ZEROS.values(), ids=DIGIT_ZEROS.keys())
def test_every_local_digit_becomes_ascii(zero):
    local_digits = "".join(chr(zero + value) for value in range(10))
    assert normalize(f"case {local_digits}") == "case 0123456789"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # digits inside real messages
        ("বেতন ৫০০০ টাকা বাকি", "বেতন 5000 টাকা বাকি"),
        ("वेतन १२००० रुपये", "वेतन 12000 रुपये"),
        ("ทำงาน ๑๒ ชั่วโมง", "ทำงาน 12 ชั่วโมง"),
        ("ကျွန်တော် ၁၅ နာရီ", "ကျွန်တော် 15 နာရီ"),
        ("ធ្វើការ ១២ ម៉ោង", "ធ្វើការ 12 ម៉ោង"),
        ("残業 １２時間", "残業 12時間"),
        # zero-width characters that are noise
        ("he\u200bl\u2060p\ufeff", "help"),
        ("\ufeffSTOP", "STOP"),
        # ZWNJ / ZWJ are part of Persian and Bengali words and must stay
        ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",) * 2,
        ("\u09b0\u200d\u09cd\u09af\u09be\u09ac", "\u09b0\u200d\u09cd\u09af\u09be\u09ac"),
        # ... but not stranded at an end or next to a space
        ("\u200dhelp\u200c", "help"),
        ("বেতন\u200c নাই", "বেতন নাই"),
        # control and format characters
        ("help\x00\x07", "help"),
        ("a\u202eb\u200ec", "abc"),
        ("shy\u00adhyphen", "shyhyphen"),
        ("line one\r\nline two\rline three", "line one\nline two\nline three"),
        # repeated punctuation
        ("help!!!!", "help!"),
        ("why????", "why?"),
        ("wait....", "wait."),
        ("বেতন নাই।।।", "বেতন নাই।"),
        ("?!?!", "?!?!"),
        ("1000 taka", "1000 taka"),
        ("aaaah", "aaaah"),
        # spacing and blank lines
        ("  we   work\t\t14 hours  ", "we work 14 hours"),
        ("a\u00a0\u3000b", "a b"),
        (" first \n\n\n\n second \n", "first\n\nsecond"),
        ("one\n  two", "one\ntwo"),
        # composition
        ("e\u0301", "\u00e9"),
        ("gi\u0075\u0301p", "giúp"),
        # emoji survive
        ("🙏🙏", "🙏🙏"),
        ("👍", "👍"),
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
        ("", ""),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\ud800b", "a\ufffdb"),  # lone high surrogate
        ("\udfff", "\ufffd"),  # lone low surrogate
        ("\ud83d\ude00", "😀"),  # a pair split into two code points
    ],
)
def test_surrogates_are_replaced_not_raised(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "text",
    ["\x00" * 5, "\u200d", "\u200c\u200d\u200c", "\n\n\n", "\ud800\udc00\ud800", " \t ", "/"],
    ids=["nulls", "zwj", "joiners", "newlines", "surrogates", "blank", "slash"],
)
def test_odd_input_never_raises(text):
    assert isinstance(normalize(text), str)
    assert isinstance(fold(text), str)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 10_000, "a" * 10_000),
        ("!" * 10_000, "!"),
        ("বেতন " * 2_000, ("বেতন " * 2_000).strip()),
    ],
    ids=["letters", "punctuation", "bengali words"],
)
def test_long_messages(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  HELP!! ", "help"),
        ("Giúp", "giup"),
        ("সাহায্য।", "সাহায্য"),
        ("ATRÁS", "atras"),
        ("Đúng", "dung"),
        ("quay   lại!!", "quay lai"),
        ("Ñandú", "nandu"),
        ("Xoá", "xoa"),
        ("that’s all", "that's all"),
        ("ok 👍", "ok"),
        ("(2)", "2"),
        ("2️⃣", "2"),
        ("#১২", "12"),
        ("STOP\nplease", "stop please"),
        # marks of other scripts are letters' vowel signs and must stay
        ("হ্যাঁ", "হ্যাঁ"),
        ("हाँ", "हाँ"),
        ("ใช่ค่ะ", "ใช่ค่ะ"),
        ("ဟုတ်ကဲ့", "ဟုတ်ကဲ့"),
        ("បាទ", "បាទ"),
        ("\u09df", "\u09af\u09bc"),  # precomposed য় folds like the typed pair
        ("र\u200d्", "र्"),  # joiners are dropped from the key only
        ("?", ""),
        ("", ""),
    ],
)
def test_fold(text, expected):
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Đúng!", "đúng"), ("  Quay Lại ", "quay lại"), ("ATRÁS", "atrás"), ("সাহায্য।", "সাহায্য")],
)
def test_fold_keeping_accents(text, expected):
    assert fold(text, keep_accents=True) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("\x1b[31m about 40\x1b[0m", "about 40"), ("Sun\x1b[1;32mrise", "Sunrise"), ("a\x1b]0;title\x07b", "ab")],
)
def test_terminal_escape_sequences_are_removed_whole(text, expected):
    assert normalize(text) == expected
