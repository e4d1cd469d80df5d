"""The fast paths of `nlu` (plain ASCII, the screened lexicons, phrases indexed by first letter)
answer exactly what the general code they shortcut answers (`reference_matching`, kept verbatim),
on every shipped message and phrase, variants of them, and generated text."""

from __future__ import annotations

import functools
import importlib
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import reference_matching as reference
from nlu.categories import category_scores, is_urgent, lexicon, lexicon_languages
from nlu.keywords import phrases as keyword_phrases
from nlu.phrase_cover import cover
from nlu.smalltalk import _phrases as smalltalk_phrase_set
from nlu.smalltalk import smalltalk_languages, smalltalk_phrases
from nlu.stems import FoldedText
from nlu.training_data import detection_messages, examples
from nlu.vocabulary import KINDS, languages as keyword_languages

pytestmark = pytest.mark.database_independent  # no database in it: run once, in the SQLite run

# What makes folding and matching hard: ASCII controls and punctuation runs, Latin accents
# (precomposed and combining), the base letters NFD cannot split, curly quotes, joiners and
# invisible characters, vowel signs of Bengali, Thai and Burmese, local digits, emoji with
# their selectors, odd spaces and line breaks, a lone surrogate, Zawgyi Burmese, terminal escapes.
ALPHABET = (
    "aAzZ09 !!??..,-'\"#$*_@/\\:;()[]{}~^`|<>+=%&\t\n\r\x0b\x0c\x00\x07\x1b\x1c\x7f"
    "éÉèñÑüçđĐðłøØ\u0301\u0300\u0303\u0323ơư"
    "\u2018\u2019\u201c\u201d\u200b\u200c\u200d\u2060\ufeff\u00a0\u2003\u2028\u0085\u00ad\u202e"
    "বেতনআগুন\u09cd\u09be\u09e6\u09ebकआग\u0947\u0966ไฟไหม้\u0e50မီးလောင်\u1040ေ္ភ្លើង火灾はい"
    "\U0001f600\U0001f44d\ufe0f\u20e3\U0001f3fb\ud800\uff11\u0660"
)
TEXTS = st.text(alphabet=ALPHABET, max_size=60)
# `nlu.normalize` the module (the package exports a function of that name).
fast = importlib.import_module("nlu.normalize")
SETTINGS = settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def corpus() -> tuple[str, ...]:
    """Every message and phrase the project ships, and variants of each (case, accents, edges)."""
    texts: list[str] = []
    texts += [example.text for split in ("training", "eval") for example in examples(split)]
    texts += [message for messages in detection_messages().values() for message in messages]
    texts += [phrase for language in keyword_languages() for kind in KINDS for phrase in keyword_phrases(kind, language)]
    texts += [phrase for language in smalltalk_languages() for kind in ("filler", "dont_know")
              for phrase in smalltalk_phrases(kind, language)]
    texts += [stem.text for entry in lexicon().values() for stems in (entry.urgent, entry.not_urgent, *entry.categories.values())
              for stem in stems]
    variants = []
    for text in texts:
        variants += [text.upper(), f"  {text}!!! ", f"¿{text}?\n\n\n\nok", f"\u201c{text}\u201d 👍", text.replace(" ", "\u200b ")]
    return tuple(dict.fromkeys(texts + variants))


def mixed_messages(count: int, seed: int) -> list[str]:
    """Messages made of lexicon stems, exceptions and plain words, glued in many ways, so that
    exceptions ("fire exit") sit next to, inside and across danger words."""
    rng = random.Random(seed)
    words = [stem.text for entry in lexicon().values() for stems in (entry.urgent, entry.not_urgent) for stem in stems]
    words += ["the", "a", "x", "exit", "drill", "no", "not", "ed", "ing", "s", "1", "২"]
    glue = [" ", "", "-", ". ", "\n", "!!", "\u200c", "'"]
    return ["".join(rng.choice(words) + rng.choice(glue) for _ in range(rng.randint(1, 6))) for _ in range(count)]


def test_normalize_and_fold_on_every_shipped_text():
    for text in corpus():
        assert fast.normalize(text) == reference.normalize(text), text
        for keep in (False, True):
            assert fast.fold(text, keep_accents=keep) == reference.fold(text, keep_accents=keep), text
            assert fast.fold_normalized(text, keep_accents=keep) == reference.fold_normalized(text, keep_accents=keep), text
        assert fast.strip_edges(text) == reference.strip_edges(text), text


@SETTINGS
@given(TEXTS)
def test_normalize_and_fold_on_generated_text(text):
    assert fast.normalize(text) == reference.normalize(text)
    for keep in (False, True):
        assert fast.fold(text, keep_accents=keep) == reference.fold(text, keep_accents=keep)
        # fold_normalized is also given raw text by some callers (keyword phrases)
        assert fast.fold_normalized(text, keep_accents=keep) == reference.fold_normalized(text, keep_accents=keep)
    assert fast.strip_edges(text) == reference.strip_edges(text)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.text(max_size=40))
def test_normalize_and_fold_on_any_unicode(text):
    assert fast.normalize(text) == reference.normalize(text)
    assert fast.fold(text) == reference.fold(text)
    assert fast.fold(text, keep_accents=True) == reference.fold(text, keep_accents=True)


def folded(text: str) -> FoldedText:
    return FoldedText(reference.fold(text, keep_accents=True), reference.fold(text))


@pytest.mark.parametrize("source", ["shipped", "mixed"])
def test_danger_and_categories_as_before(source):
    # A sample of the shipped texts: the old matcher takes about a millisecond for each.
    texts = random.Random(18).sample(corpus(), 5000) if source == "shipped" else mixed_messages(5000, seed=18)
    urgent_seen = 0
    for text in texts:
        message = folded(text)
        expected = reference.is_urgent(message)
        assert is_urgent(message) == expected, text
        urgent_seen += expected
        assert category_scores(message, lexicon_languages()) == reference.category_scores(message, lexicon_languages()), text
        assert category_scores(message, ("bn", "en")) == reference.category_scores(message, ("bn", "en")), text
    assert urgent_seen > len(texts) // 20  # the comparison met danger, not only its absence


@SETTINGS
@given(st.lists(st.sampled_from(mixed_messages(300, seed=7)), min_size=1, max_size=3), TEXTS)
def test_danger_as_before_on_generated_text(parts, junk):
    text = junk.join(parts)
    message = folded(text)
    assert is_urgent(message) == reference.is_urgent(message)


@functools.cache
def phrase_sets() -> list[tuple[frozenset[str], frozenset[str]]]:
    sets = [(smalltalk_phrase_set("filler", (language, "en")), smalltalk_phrase_set("dont_know", (language, "en")))
            for language in smalltalk_languages()]
    every = tuple(smalltalk_languages())
    sets.append((smalltalk_phrase_set("filler", every), smalltalk_phrase_set("dont_know", every)))
    english = smalltalk_phrase_set("filler", ("en",))
    sets += [(english, smalltalk_phrase_set("filler", (language,)) - english) for language in smalltalk_languages()]
    return sets


def test_phrase_cover_as_before():
    rng = random.Random(18)
    texts = [reference.fold(text) for text in rng.sample(corpus(), 2000) if len(text) <= 200]
    phrases = sorted(phrase for filler, marked in phrase_sets() for phrase in filler | marked)
    texts += [" ".join(rng.choice(phrases) for _ in range(rng.randint(1, 4))) for _ in range(1000)]
    texts += ["".join(rng.choice(phrases) for _ in range(rng.randint(1, 3))) for _ in range(1000)]
    covered = used_marked = 0
    for text in texts:
        # Each text against the set of all languages and two others (the old cover is slow).
        for filler, marked in [phrase_sets()[len(smalltalk_languages())], *rng.sample(phrase_sets(), 2)]:
            expected = reference.cover(text, filler, marked)
            assert cover(text, filler, marked) == expected, text
            covered += expected.complete
            used_marked += expected.used_marked
    assert covered > len(texts) // 2 and used_marked > 100  # the comparison met both answers
