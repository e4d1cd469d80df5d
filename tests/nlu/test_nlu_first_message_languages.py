"""first_message_languages(): the languages a first message may be in, for the menu's order
(issue 21): a greeting or one word of each catalog language names it, shared ones name several."""

import pytest

from nlu import first_message_languages
from nlu.statistical import SUPPORTED_LANGUAGES

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

# A greeting or one word per catalog language, native and typed in Latin letters.
ONE_LANGUAGE = [
    ("es", "hola"), ("es", "Hola!"), ("vi", "xin chào"), ("vi", "xin chao"), ("id", "halo"), ("tl", "kumusta"),
    ("bn", "নমস্কার"), ("bn", "আসসালামু আলাইকুম"), ("th", "สวัสดี"), ("th", "sawasdee"), ("km", "ជំរាបសួរ"),
    ("km", "suosdei"), ("my", "မင်္ဂလာပါ"), ("my", "mingalaba"), ("ja", "こんにちは"), ("ja", "konnichiwa"),
    ("zh", "你好"), ("zh", "ni hao"), ("es", "ayuda"), ("tl", "tulong"), ("es", "incendio"), ("tl", "sunog"),
    ("id", "kebakaran"), ("vi", "cháy"), ("bn", "beton"), ("en", "they did not pay us for two months"),
]  # fmt: skip
SEVERAL = [("namaste", ("hi", "ne")), ("नमस्ते", ("hi", "ne")), ("namaskar", ("hi", "ne"))]
NOTHING = ["hello", "hi", "ok", "salam", "assalamualaikum", "1", "fire", "help", "👍", "hello sir"]


@pytest.mark.parametrize(("language", "text"), ONE_LANGUAGE)
def test_a_greeting_or_one_word_names_its_language(language, text):
    assert first_message_languages(text, SUPPORTED_LANGUAGES) == (language,)


@pytest.mark.parametrize(("text", "languages"), SEVERAL)
def test_a_shared_greeting_names_every_language_it_belongs_to(text, languages):
    assert first_message_languages(text, SUPPORTED_LANGUAGES) == languages
    assert first_message_languages(text, ("en", "ne")) == ("ne",)


@pytest.mark.parametrize("text", NOTHING)
def test_english_or_shared_words_say_nothing(text):
    assert first_message_languages(text, SUPPORTED_LANGUAGES) == ()


def test_only_the_deployment_languages_are_named():
    assert first_message_languages("hola", ("en", "bn", "vi")) == ()
