"""Invariants of the data files, so that whoever adds a language gets told what is wrong."""

import pytest

from nlu.categories import TAXONOMY, lexicon, lexicon_languages
from nlu.vocabulary import KINDS, languages, match_keys, phrases, resolve_kind

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

FIRST_RELEASE_KEYWORD_LANGUAGES = ("en", "bn", "hi", "ne", "my", "km", "th", "vi", "id", "tl", "ja", "zh", "es")


def test_first_release_languages_are_present():
    assert set(FIRST_RELEASE_KEYWORD_LANGUAGES) <= set(languages())
    # Every language has urgent signals; category stems only where the keyword
    # understander was first written (the n-gram model covers all 13).
    assert set(FIRST_RELEASE_KEYWORD_LANGUAGES) <= set(lexicon_languages())


@pytest.mark.parametrize("language", FIRST_RELEASE_KEYWORD_LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_first_release_languages_have_every_kind(language, kind):
    assert phrases(kind, language)


@pytest.mark.parametrize("language", languages())
def test_no_phrase_is_listed_under_two_kinds(language):
    kind_of_key: dict[str, str] = {}
    clashes = []
    for kind in KINDS:
        for phrase in phrases(kind, language):
            exact_key, _ = match_keys(phrase)
            previous = kind_of_key.setdefault(exact_key, kind)
            if previous != kind:
                clashes.append(f"{phrase!r} is {previous} and {kind}")
    assert not clashes


# Bare forms left ambiguous on purpose: "dung" is "đúng" (yes) or "dừng" (stop) typed without
# tone marks. Guessing STOP would erase a report the worker meant to confirm, so it matches
# nothing and the worker is asked again.
DELIBERATELY_AMBIGUOUS = {("vi", "dung")}


@pytest.mark.parametrize("language", languages())
def test_every_phrase_typed_without_accents_still_means_something(language):
    ambiguous = [
        (phrase, kind)
        for kind in KINDS
        for phrase in phrases(kind, language)
        if resolve_kind(match_keys(phrase)[1], [language]) is None
        and (language, match_keys(phrase)[1]) not in DELIBERATELY_AMBIGUOUS
    ]
    assert not ambiguous


def test_deliberately_ambiguous_bare_forms_match_nothing():
    for language, bare in DELIBERATELY_AMBIGUOUS:
        assert resolve_kind(bare, [language]) is None


@pytest.mark.parametrize("language", [code for code in languages() if code != "en"])
def test_no_phrase_means_something_else_in_english(language):
    # English is consulted in every conversation: a shared word must mean the same
    # ("no" is no in English and Spanish).
    english = {match_keys(p)[0]: kind for kind in KINDS for p in phrases(kind, "en")}
    clashes = [
        (phrase, kind, english[match_keys(phrase)[0]])
        for kind in KINDS
        for phrase in phrases(kind, language)
        if english.get(match_keys(phrase)[0], kind) != kind
    ]
    assert not clashes


@pytest.mark.parametrize("language", lexicon_languages())
def test_lexicon_categories_are_taxonomy_codes(language):
    assert set(lexicon()[language].categories) <= set(TAXONOMY)


@pytest.mark.parametrize(("language", "minimum"), [("en", 8), ("bn", 4), ("vi", 4), ("es", 4)])
@pytest.mark.parametrize("category", [code for code in TAXONOMY if code != "other"])
def test_lexicon_has_enough_stems(language, minimum, category):
    assert len(lexicon()[language].categories[category]) >= minimum


@pytest.mark.parametrize("language", FIRST_RELEASE_KEYWORD_LANGUAGES)
def test_lexicon_has_urgent_signals(language):
    assert len(lexicon()[language].urgent) >= 10
