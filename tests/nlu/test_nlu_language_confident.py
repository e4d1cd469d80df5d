"""detect_language_confident(): a language only when the first message says it clearly
(to greet the worker in it); short Latin greetings and shared words give None."""

import pytest

from nlu import detect_language_confident
from nlu.statistical import SUPPORTED_LANGUAGES

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

ALL = SUPPORTED_LANGUAGES

CONFIDENT = [
    ("vi", "xin chào"), ("vi", "xin chao"), ("es", "hola"), ("es", "buenos dias"), ("tl", "salamat po"),
    ("tl", "kumusta"), ("tl", "thank you po"), ("id", "selamat pagi"), ("id", "apa kabar"),
    ("bn", "হ্যালো"), ("bn", "নমস্কার"), ("th", "สวัสดีครับ"), ("zh", "你好"), ("ja", "こんにちは"),
    ("my", "မင်္ဂလာပါ"), ("my", "မဂၤလာပါ"), ("km", "សួស្តី"),
    ("en", "they did not pay us"), ("es", "no nos pagan el salario"), ("bn", "amader beton dey nai"),
    ("vi", "cty no luong 2 thang"), ("id", "gaji tidak dibayar"), ("tl", "hindi kami binabayaran"),
    ("hi", "paisa nahi mila"), ("bn", "আগুন লেগেছে দরজা বন্ধ"), ("vi", "cháy, cửa bị khóa"),
    ("zh", "工厂着火了"), ("en", "FIRE in factory doors locked people trapped help"),
]  # fmt: skip

NOT_SURE = [
    "hello", "hi", "hello sir", "good morning", "ok", "salam", "assalamualaikum", "namaste", "नमस्ते", "ji",
    "fire!!", "help", "1", "", "👍",
]  # fmt: skip


@pytest.mark.parametrize(("language", "text"), CONFIDENT)
def test_clear_first_messages(language, text):
    assert detect_language_confident(text, ALL) == language


@pytest.mark.parametrize("text", NOT_SURE)
def test_short_or_shared_greetings_say_nothing(text):
    assert detect_language_confident(text, ALL) is None


def test_only_the_deployment_languages_are_considered():
    assert detect_language_confident("xin chào", ("en", "bn", "es")) is None
    assert detect_language_confident("hola", ("en", "bn", "vi")) is None
    assert detect_language_confident("hola", ("en", "es")) == "es"
