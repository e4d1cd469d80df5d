"""Small talk and "don't know" in the 13 languages, and real answers that are neither."""

import pytest

from nlu import is_dont_know, is_filler
from nlu.smalltalk import smalltalk_languages, smalltalk_phrases
from nlu.training_data import examples
from nlu.vocabulary import phrases, with_english

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

FIRST_RELEASE = ("en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es")

FILLER = [
    ("en", "hi"), ("en", "Hello!"), ("en", "good morning sir"), ("en", "thanks"), ("en", "Thank you so much"),
    ("en", "sorry"), ("en", "sorry I had to go"), ("en", "wait"), ("en", "one moment please"),
    ("en", "I'm back"), ("en", "ok thanks"), ("en", "yes"), ("en", "no"), ("en", "hmm..."), ("en", "👍"),
    ("en", "🙏"), ("en", "are you there?"),
    ("bn", "হ্যালো"), ("bn", "ধন্যবাদ ভাই"), ("bn", "salam"), ("bn", "ji"), ("bn", "ha"), ("bn", "জি"),
    ("bn", "dhonnobad"), ("bn", "sorry bhai"),
    ("hi", "नमस्ते"), ("hi", "nahi"), ("hi", "ji"), ("hi", "धन्यवाद"), ("hi", "ek minute ruko"),
    ("hi", "namaste sir"), ("hi", "haan ji"),
    ("ne", "नमस्ते"), ("ne", "धन्यवाद दाइ"), ("ne", "hajur"), ("ne", "एकछिन"),
    ("my", "မင်္ဂလာပါ"), ("my", "ကျေးဇူးတင်ပါတယ်"), ("my", "ဟုတ်ကဲ့"), ("my", "ခဏစောင့်ပါ"),
    ("km", "សួស្តី"), ("km", "អរគុណបង"), ("km", "បាទ"), ("km", "សុំទោស"),
    ("th", "สวัสดีครับ"), ("th", "ขอบคุณค่ะ"), ("th", "รอแป๊บ"), ("th", "ใช่ครับ"),
    ("vi", "xin chào"), ("vi", "xin chao"), ("vi", "Cảm ơn anh"), ("vi", "cam on"), ("vi", "dạ vâng ạ"),
    ("vi", "đợi chút"), ("vi", "alo"),
    ("id", "halo"), ("id", "maaf"), ("id", "terima kasih pak"), ("id", "tunggu sebentar"), ("id", "iya"),
    ("tl", "kumusta po"), ("tl", "salamat po"), ("tl", "sandali lang"), ("tl", "opo"),
    ("ja", "こんにちは"), ("ja", "すみません、ちょっと待ってください"), ("ja", "ありがとうございます"), ("ja", "はい"),
    ("zh", "你好"), ("zh", "谢谢！"), ("zh", "等一下"), ("zh", "不好意思"), ("zh", "好的"),
    ("es", "hola"), ("es", "perdón"), ("es", "perdon"), ("es", "muchas gracias"), ("es", "un momento"),
    ("es", "ya volví"), ("es", "sí"),
    (None, "hola"), (None, "xin chao"), (None, "salamat po"), (None, "Hello"),
]  # fmt: skip

NOT_FILLER = [
    ("en", "Sunrise Garments"), ("en", "Gazipur"), ("en", "Hello Kitty factory"), ("en", "Mr Yes"),
    ("en", "hi 5"), ("en", "they did not pay us"), ("en", "sorry they hit me"), ("en", "45"), ("en", ""),
    ("en", "-"), ("en", "?"), ("en", "hiring manager"), ("en", "thanks giving garments"),
    ("bn", "গাজীপুর"), ("bn", "রহমান গার্মেন্টস"), ("bn", "salam garments"),
    ("hi", "नमस्ते टेक्सटाइल्स"), ("hi", "ji haan ye Rahman factory hai"),
    ("my", "လှိုင်သာယာ"), ("th", "สามีตีฉัน"), ("vi", "công ty may Việt Tiến"), ("vi", "chào mừng factory"),
    ("id", "PT Maaf Jaya"), ("tl", "Salamat Garments"), ("ja", "ありがとう工場"), ("zh", "你好工厂"),
    ("es", "Hola Textil S.A."), ("es", "Gracias a Dios Maquila"),
    (None, "Rahman Garments, Gazipur"),
]  # fmt: skip

DONT_KNOW = [
    ("en", "I don't know"), ("en", "dont know"), ("en", "not sure"), ("en", "no idea"), ("en", "none"),
    ("en", "sorry, no idea"), ("en", "idk"), ("en", "I don’t know"),
    ("bn", "জানি না"), ("bn", "জানিনা ভাই"), ("bn", "jani na"), ("bn", "মনে নেই"),
    ("hi", "मालूम नहीं"), ("hi", "पता नहीं"), ("hi", "pata nahi bhai"), ("hi", "mujhe nahi pata"),
    ("ne", "थाहा छैन"), ("ne", "thaha chaina"),
    ("my", "မသိဘူး"), ("my", "မသိပါဘူး"),
    ("km", "មិនដឹង"), ("km", "ខ្ញុំមិនដឹងទេ"),
    ("th", "ไม่รู้"), ("th", "ไม่รู้ครับ"), ("th", "ไม่แน่ใจค่ะ"),
    ("vi", "không biết"), ("vi", "khong biet"), ("vi", "em không biết ạ"), ("vi", "ko biết"),
    ("id", "tidak tahu"), ("id", "gak tau"), ("id", "maaf, tidak tahu"),
    ("tl", "hindi ko alam"), ("tl", "di ko po alam"), ("tl", "ewan"),
    ("ja", "わからない"), ("ja", "わかりません"), ("ja", "すみません、わかりません"),
    ("zh", "不知道"), ("zh", "我不知道"), ("zh", "不清楚"),
    ("es", "no sé"), ("es", "no se"), ("es", "ni idea"), ("es", "perdón, no sé"),
    (None, "không biết"), (None, "不知道"), (None, "tidak tahu"),
]  # fmt: skip

NOT_DONT_KNOW = [
    ("en", "I know"), ("en", "no"), ("en", "hello"), ("en", "I don't know his name but the factory is Rahman"),
    ("en", "45"), ("en", "don't know why they did not pay"), ("bn", "আমি জানি না কেন"), ("es", "no"),
    ("es", "no sé cuánto pero somos 40"), ("vi", "biết"), ("zh", "知道"), ("ja", "わかる"),
    ("hi", "pata hai"),
]  # fmt: skip


@pytest.mark.parametrize(("language", "text"), FILLER)
def test_filler(language, text):
    assert is_filler(text, language)


@pytest.mark.parametrize(("language", "text"), NOT_FILLER)
def test_real_answers_are_not_filler(language, text):
    assert not is_filler(text, language)


@pytest.mark.parametrize(("language", "text"), DONT_KNOW)
def test_dont_know(language, text):
    assert is_dont_know(text, language)
    assert not is_filler(text, language)


@pytest.mark.parametrize(("language", "text"), NOT_DONT_KNOW)
def test_not_dont_know(language, text):
    assert not is_dont_know(text, language)


@pytest.mark.parametrize("language", FIRST_RELEASE)
def test_every_language_has_filler_and_dont_know(language):
    assert language in smalltalk_languages()
    assert smalltalk_phrases("filler", language)
    assert smalltalk_phrases("dont_know", language)


@pytest.mark.parametrize("language", FIRST_RELEASE)
def test_no_dont_know_phrase_is_filler(language):
    # A phrase in both lists would make "I don't know" silently dropped as small talk.
    clashes = [phrase for phrase in smalltalk_phrases("dont_know", language) if is_filler(phrase, language)]
    assert not clashes


def test_a_long_message_is_neither():
    long_text = "thank you " * 40
    assert not is_filler(long_text, "en")
    assert not is_dont_know("no idea " * 40, "en")


def test_the_language_limits_the_phrases():
    # Tagalog "salamat po" means nothing in Bengali, but English always applies.
    assert not is_filler("salamat po", "bn")
    assert is_filler("thank you", "bn")
    assert with_english("bn") == ("bn", "en")


COMMAND_KINDS = ("help", "back", "cancel", "delete", "language", "status", "done", "skip", "confirm", "change")


@pytest.mark.parametrize("language", FIRST_RELEASE)
def test_no_command_or_answer_word_is_small_talk(language):
    # A worker's STOP, HELP or DONE must never be swallowed as small talk.
    clashes = [
        (kind, phrase)
        for kind in COMMAND_KINDS
        for phrase in phrases(kind, language)
        if is_filler(phrase, language) or is_dont_know(phrase, language) and kind != "skip"
    ]
    assert not clashes


def test_no_report_of_the_shipped_messages_is_small_talk_or_dont_know():
    # Every training and evaluation message that names a problem is an answer, in its language.
    reports = [example for split in ("training", "eval") for example in examples(split) if example.category != "none"]
    assert len(reports) > 300
    wrong = [e.text for e in reports if is_filler(e.text, e.language) or is_dont_know(e.text, e.language)]
    assert not wrong
