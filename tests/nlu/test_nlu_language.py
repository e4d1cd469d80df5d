"""detect_language(): the language of a first message, among the deployment's languages."""

import pytest

from nlu import detect_language
from nlu.statistical import SUPPORTED_LANGUAGES

ALL = SUPPORTED_LANGUAGES

# First messages as workers send them, one or more per language; none is in nlu/data/.
FIRST_MESSAGES = [
    ("en", "hello, my sister told me to write here about our factory"),
    ("en", "we didnt get paid and the manager is angry"),
    ("bn", "ভাই আমাদের কারখানায় অনেক সমস্যা"),
    ("bn", "কারখানায় fire exit বন্ধ থাকে"),  # code-mixed: the Bengali script decides
    ("hi", "भैया हमारी फैक्ट्री में बहुत दिक्कत है"),
    ("hi", "मालिक बोलता है कि पैसे अगले महीने देंगे"),
    ("ne", "दाइ हाम्रो कारखानामा धेरै समस्या छ"),
    ("ne", "साहु भन्छ तलब अर्को महिना दिन्छु"),
    ("my", "ကျွန်မတို့ စက်ရုံမှာ ပြဿနာ အများကြီးပဲ"),
    ("km", "រោងចក្រយើងមានបញ្ហាច្រើនណាស់"),
    ("th", "โรงงานเรามีปัญหาเยอะมาก"),
    ("vi", "xưởng tụi em có nhiều chuyện lắm"),
    ("vi", "chu xuong noi thang sau moi tra tien"),  # without tone marks
    ("id", "pabrik kami banyak masalah nih"),
    ("tl", "ang dami pong problema sa pabrika namin"),
    ("ja", "うちの工場は問題がたくさんあります"),
    ("zh", "我们厂里问题很多"),
    ("es", "en la maquila hay muchos problemas"),
    # Romanized Bengali and Hindi
    ("bn", "amader factory te onek somossa ache"),
    ("hi", "hamari factory me bahut dikkat hai bhai"),
]


@pytest.mark.parametrize(("language", "text"), FIRST_MESSAGES)
def test_first_messages(language, text):
    assert detect_language(text, ALL) == language


@pytest.mark.parametrize("text", ["hi", "1", "ok", "", "   ", "👍👍", "?", "১২৩", "ya"])
def test_too_short_or_no_letters_says_nothing(text):
    assert detect_language(text, ALL) is None


@pytest.mark.parametrize(
    ("text", "candidates", "expected"),
    [
        ("কারখানায় অনেক সমস্যা", ("en", "vi", "es"), None),  # Bengali, not offered: no guess
        ("मालिक बोलता है कि पैसे अगले महीने देंगे", ("en", "ne"), "ne"),  # the only Devanagari candidate
        ("we didnt get paid and the manager is angry", ("en", "es"), "en"),
        ("en la maquila hay muchos problemas", ("en", "es"), "es"),
        ("我们厂里问题很多", ("en", "ja"), "ja"),  # Chinese characters, and only Japanese offered
        ("うちの工場は問題がたくさんあります", ("en", "zh"), None),  # kana is Japanese only
    ],
)
def test_only_candidates_are_answered(text, candidates, expected):
    assert detect_language(text, candidates) == expected


def test_repeated_candidates_and_any_sequence_are_accepted():
    assert detect_language("xưởng tụi em có nhiều chuyện lắm", ["vi", "vi", "en"]) == "vi"


def test_local_digits_and_invisible_characters_do_not_matter():
    assert detect_language("\u200bকারখানায় ২০ জন অসুস্থ\u200b", ALL) == "bn"
