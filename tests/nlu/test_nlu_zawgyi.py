"""Burmese typed in the Zawgyi encoding is read as Unicode; Unicode Burmese is left alone."""

import pytest

from nlu import normalize, parse_yes_no
from nlu.training_data import examples
from nlu.vocabulary import KINDS, phrases
from nlu.zawgyi import zawgyi_to_unicode

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

# (as a Zawgyi phone sends it, the same in Unicode)
ZAWGYI = [
    ("ဟုတ္ကဲ့", "ဟုတ်ကဲ့"),  # "yes": the reproduction of issue 10
    ("မဟုတ္ဘူး", "မဟုတ်ဘူး"),
    ("မဂၤလာပါ", "မင်္ဂလာပါ"),
    ("ေက်းဇူးတင္ပါတယ္", "ကျေးဇူးတင်ပါတယ်"),
    ("မီးေလာင္ေနတယ္ တံခါးေတြ ပိတ္ထားတယ္", "မီးလောင်နေတယ် တံခါးတွေ ပိတ်ထားတယ်"),
    ("လစာ ႏွစ္လ မေပးဘူး", "လစာ နှစ်လ မပေးဘူး"),
    ("ကြၽန္မကို ႐ိုက္တယ္", "ကျွန်မကို ရိုက်တယ်"),
    ("အလုပ္ရွင္က ပတ္စ္ပို႔ ယူထားတယ္", "အလုပ်ရှင်က ပတ်စ်ပို့ ယူထားတယ်"),
    ("Factory 3 မွာ မီးေလာင္ေနတယ္", "Factory 3 မှာ မီးလောင်နေတယ်"),
]


@pytest.mark.parametrize(("zawgyi", "unicode"), ZAWGYI)
def test_zawgyi_becomes_unicode(zawgyi, unicode):
    assert zawgyi_to_unicode(zawgyi) == unicode
    assert normalize(zawgyi) == unicode


def test_zawgyi_yes_and_no_are_understood():
    assert parse_yes_no("ဟုတ္ကဲ့", "my") is True
    assert parse_yes_no("မဟုတ္ဘူး", "my") is False


def shipped_unicode_burmese() -> list[str]:
    texts = [example.text for split in ("training", "eval") for example in examples(split) if example.language == "my"]
    texts += [phrase for kind in KINDS for phrase in phrases(kind, "my")]
    return texts


def test_unicode_burmese_is_left_alone():
    # Every Burmese message and keyword the project ships, all typed in Unicode.
    texts = shipped_unicode_burmese()
    assert len(texts) > 100
    changed = [text for text in texts if zawgyi_to_unicode(text) != text]
    assert not changed


@pytest.mark.parametrize("text", ["ဟုတ်ကဲ့", "မသိဘူး", "မင်္ဂလာပါ", "ကျွန်တော်တို့ကို လစာမပေးဘူး", "မီးလောင်နေတယ်"])
def test_unicode_sentences_are_left_alone(text):
    assert zawgyi_to_unicode(text) == text
    assert normalize(text) == text


@pytest.mark.parametrize("text", ["hello", "আগুন লেগেছে", "ไฟไหม้", "工厂着火了", "", "ဟု\ud800"])
def test_other_text_is_untouched(text):
    assert zawgyi_to_unicode(text) == text


def test_a_syllable_the_converter_cannot_map_keeps_the_text_and_prints_nothing(capsys):
    # Malformed Zawgyi (stray medials): python-myanmar would print the syllable and drop it.
    text = "ဃႉဳ ေလာင္ ဝႈဴ"
    assert zawgyi_to_unicode(text) == text
    assert capsys.readouterr().out == ""
