"""The character n-gram features and the naive Bayes classifier of the built-in model."""

import pytest

from nlu.ngram import NaiveBayes, features, words

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run


def test_words_are_letters_and_marks_without_digits_or_punctuation():
    assert words("They paid 200 taka!! (late)") == ["they", "paid", "taka", "late"]
    assert words("বেতন দেয়নি, ২ মাস") == ["বেতন", "দেয়নি", "মাস"]  # vowel signs stay inside words


def test_features_are_padded_ngrams_and_whole_words_counted_once():
    found = features("pay pay")
    assert found == sorted(set(found))
    assert {"w:pay", " p", "pa", "ay", "y ", " pa", "pay", "ay ", " pay", "pay "} <= set(found)


def test_features_ignore_case_and_latin_accents():
    assert features("Lương") == features("luong")


def test_features_of_scripts_without_spaces_are_character_ngrams():
    assert {"工资", "没发", "w:工资没发"} <= set(features("工资没发"))


TOY = [
    ("no salary", "wages"), ("salary late", "wages"), ("unpaid salary", "wages"),
    ("fire exit blocked", "safety"), ("no masks", "safety"), ("machine accident", "safety"),
]  # fmt: skip


def test_naive_bayes_learns_and_ranks():
    model = NaiveBayes(TOY)
    prediction = model.predict("salary not paid")
    assert prediction.best == "wages"
    assert [label for label, _ in prediction.ranked] == ["wages", "safety"]
    assert sum(probability for _, probability in prediction.ranked) == pytest.approx(1.0)
    assert prediction.known_features > 0


def test_unknown_text_has_no_known_features():
    prediction = NaiveBayes(TOY).predict("ৰ")
    assert prediction.known_features == 0


def test_a_higher_temperature_means_less_certainty():
    sharp = NaiveBayes(TOY, temperature=1).predict("salary").confidence
    soft = NaiveBayes(TOY, temperature=5).predict("salary").confidence
    assert 0.5 < soft < sharp <= 1.0


def test_allowed_labels_restrict_the_ranking():
    prediction = NaiveBayes(TOY).predict("salary", allowed=["safety"])
    assert prediction.ranked == (("safety", 1.0),)


def test_no_examples_is_an_error():
    with pytest.raises(ValueError):
        NaiveBayes([])
