"""Any text at all: the short-answer readers never raise and keep their promises."""

from hypothesis import given, settings, strategies as st

from nlu import Count, detect_language_confident, is_dont_know, is_filler, normalize, parse_count
from nlu.counts import MAX_NUMBER
from nlu.statistical import SUPPORTED_LANGUAGES
import pytest

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

# Burmese (Zawgyi and Unicode share the block), the other scripts served, digits, marks, joiners.
BURMESE = st.characters(min_codepoint=0x1000, max_codepoint=0x109F)
ANY_TEXT = st.text(st.one_of(st.characters(), BURMESE, st.sampled_from("0123456789 -+,.:'\u200b\u200d")), max_size=80)
LANGUAGE = st.sampled_from((None, *SUPPORTED_LANGUAGES))


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT, language=LANGUAGE)
def test_readers_never_raise(text, language):
    count = parse_count(text, language)
    assert count is None or (isinstance(count, Count) and (count.value is None or 0 <= count.value <= MAX_NUMBER))
    assert isinstance(is_filler(text, language), bool)
    assert isinstance(is_dont_know(text, language), bool)
    assert not (is_filler(text, language) and is_dont_know(text, language))
    assert detect_language_confident(text, SUPPORTED_LANGUAGES) in (None, *SUPPORTED_LANGUAGES)


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT)
def test_normalize_is_stable_with_the_zawgyi_step(text):
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=200, deadline=None)
@given(number=st.integers(min_value=0, max_value=MAX_NUMBER), language=LANGUAGE)
def test_digits_alone_are_that_count(number, language):
    assert parse_count(str(number), language) == Count(number, False)
