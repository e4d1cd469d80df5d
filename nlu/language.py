"""Which of the deployment's languages a message is written in.

Used on first contact to offer the worker's own language first in the menu. Three
sources of evidence, cheapest and surest first:

1. The script. Bengali, Burmese, Khmer and Thai each own theirs, and kana means
   Japanese: counting letters settles those, including Burmese and Khmer, which lingua
   has no model for.
2. lingua-language-detector, restricted to the candidates, for Latin-script languages
   (English, Vietnamese, Indonesian, Tagalog, Spanish) and for Chinese characters
   (Chinese, or Japanese written without kana).
3. A naive Bayes model trained on the shipped training messages, for what lingua cannot
   tell: Hindi from Nepali (lingua has no Nepali), Bengali or Hindi typed in Latin
   letters ("amader beton dey nai", "paisa nahi mila"), and Vietnamese typed without
   its tone marks ("cty no luong 2 thang"), which lingua often takes for Tagalog.

Returns None when the text is too short or too mixed to say ("hi", "1", "ok"): the
menu then keeps the deployment's order.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from nlu.categories import lexicon_languages_of
from nlu.ngram import NaiveBayes
from nlu.normalize import normalize
from nlu.scripts import BENGALI, DEVANAGARI, HAN, KANA, KHMER, LATIN, MYANMAR, THAI, script_counts
from nlu.smalltalk import greeting_languages
from nlu.training_data import examples
from nlu.vocabulary import keyword_languages

# Fewer letters than this say nothing reliable about a language ("hi", "ok", "ya").
MIN_LETTERS = 3
# lingua needs more in Latin script, where the languages share most short words.
MIN_LATIN_LETTERS = 5
# A script decides only when it is this share of the letters: "কারখানায় fire" is
# Bengali, a Latin message with one stray Thai letter is not Thai.
MIN_SCRIPT_SHARE = 0.3
# lingua's result is kept only when its best language is this far ahead of the next.
LINGUA_MIN_DISTANCE = 0.1
# Romanized Bengali or Hindi, or Vietnamese without tone marks, must be this likely under
# the shipped model, in a message of at least this many words, to be chosen over lingua:
# "hello" or "ok bhai" say too little.
SHIPPED_MODEL_MIN_CONFIDENCE = 0.99
SHIPPED_MODEL_MIN_WORDS = 3
# A first message of fewer Latin letters than this, and no greeting or keyword of one language,
# says too little to guess from ("hello", "ok bhai"): lingua reads "hello" as Spanish.
MIN_FIRST_MESSAGE_LATIN_CHARS = 12
# Hindi against Nepali: below this the message reads as well in both.
DEVANAGARI_MIN_CONFIDENCE = 0.6

# Scripts that belong to one language each.
_OWN_SCRIPT = {BENGALI: "bn", MYANMAR: "my", KHMER: "km", THAI: "th", KANA: "ja"}
_LATIN_LANGUAGES = ("en", "vi", "id", "tl", "es")
_ROMANIZED_LANGUAGES = ("bn", "hi")
# Latin-script writing that lingua misreads and the shipped model knows well.
_SHIPPED_MODEL_LATIN = ("vi", *_ROMANIZED_LANGUAGES)
_DEVANAGARI_LANGUAGES = ("hi", "ne")
_HAN_LANGUAGES = ("zh", "ja")
_LINGUA = {
    "en": Language.ENGLISH, "vi": Language.VIETNAMESE, "id": Language.INDONESIAN,
    "tl": Language.TAGALOG, "es": Language.SPANISH, "zh": Language.CHINESE, "ja": Language.JAPANESE,
}  # fmt: skip
_FROM_LINGUA = {language: code for code, language in _LINGUA.items()}


def detect_language(text: str, candidates: Sequence[str]) -> str | None:
    """The language of `text` among `candidates` (ISO 639-1 codes), or None when the
    text is too short or ambiguous, or its language is not a candidate."""
    allowed = tuple(dict.fromkeys(candidates))
    text = normalize(text)
    counts = script_counts(text)
    letters = sum(counts.values())
    if letters < MIN_LETTERS:
        return None
    if counts[KANA] and counts[KANA] + counts[HAN] >= MIN_SCRIPT_SHARE * letters:
        return "ja" if "ja" in allowed else None
    native = [(count, script) for script, count in counts.items() if script != LATIN]
    count, script = max(native, default=(0, LATIN))
    if count >= MIN_LETTERS and count >= MIN_SCRIPT_SHARE * letters:
        return _by_script(script, text, allowed)
    if counts[LATIN] >= MIN_LATIN_LETTERS:
        return _latin(text, allowed)
    return None


def detect_language_confident(text: str, languages: Sequence[str]) -> str | None:
    """The language of `text` among `languages` only when the evidence is strong, else None;
    used to greet a worker in their language on their first message.

    Small talk decides when it belongs to one language only ("xin chào" -> vi, "hola" -> es,
    "salamat po" -> tl); English greetings ("hello", "hi sir") and ones several languages
    share ("salam", "namaste") say nothing. Otherwise `detect_language` decides, for Latin
    script only from SHIPPED_MODEL_MIN_WORDS words on: "hello friend" is no evidence."""
    allowed = tuple(dict.fromkeys(languages))
    greeting = greeting_languages(text, allowed)
    if greeting is not None:
        return greeting[0] if len(greeting) == 1 else None
    found = detect_language(text, allowed)
    if found is None:
        return None
    counts = script_counts(normalize(text))
    latin_share = counts[LATIN] / max(1, sum(counts.values()))
    if latin_share > 1 - MIN_SCRIPT_SHARE and len(text.split()) < SHIPPED_MODEL_MIN_WORDS:
        return None
    return found


def first_message_languages(text: str, languages: Sequence[str]) -> tuple[str, ...]:
    """The languages among `languages` a first message is likely in, likeliest first, to list
    first in the language menu; () when it says nothing ("hello", "ok", "1").

    A greeting or a one-word keyword names the languages whose own words it is ("hola" ->
    es, "xin chào" -> vi, "namaste" -> hi and ne, "tulong" -> tl), and so does one word of a
    language's category or danger stems ("incendio" -> es, "sunog" -> tl); otherwise `detect_language`
    decides, for short Latin text only from MIN_FIRST_MESSAGE_LATIN_CHARS characters on."""
    allowed = tuple(dict.fromkeys(languages))
    text = normalize(text)
    greeting = greeting_languages(text, allowed)
    if greeting is not None:
        return greeting
    if len(text.split()) == 1:
        own = keyword_languages(text, allowed) or lexicon_languages_of(text, allowed)
        if own:
            return own
    if text.isascii() and len(text) < MIN_FIRST_MESSAGE_LATIN_CHARS:
        return ()
    found = detect_language(text, allowed)
    return (found,) if found is not None else ()


def _by_script(script: str, text: str, allowed: tuple[str, ...]) -> str | None:
    if script in _OWN_SCRIPT:
        language = _OWN_SCRIPT[script]
        return language if language in allowed else None
    if script == DEVANAGARI:
        return _resolve_with_model(text, _in(allowed, _DEVANAGARI_LANGUAGES), DEVANAGARI_MIN_CONFIDENCE)
    if script == HAN:
        return _with_lingua(text, _in(allowed, _HAN_LANGUAGES))
    return None


def _latin(text: str, allowed: tuple[str, ...]) -> str | None:
    latin = _in(allowed, _LATIN_LANGUAGES)
    romanized = _in(allowed, _ROMANIZED_LANGUAGES)
    if len(text.split()) >= SHIPPED_MODEL_MIN_WORDS and _in(allowed, _SHIPPED_MODEL_LATIN):
        prediction = _latin_model().predict(text, allowed=(*latin, *romanized))
        if prediction.best in _SHIPPED_MODEL_LATIN and prediction.confidence >= SHIPPED_MODEL_MIN_CONFIDENCE:
            return prediction.best
    return _with_lingua(text, latin)


def _in(allowed: tuple[str, ...], languages: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(language for language in languages if language in allowed)


def _resolve_with_model(text: str, languages: tuple[str, ...], min_confidence: float) -> str | None:
    if len(languages) < 2:
        return languages[0] if languages else None
    prediction = _devanagari_model().predict(text, allowed=languages)
    return prediction.best if prediction.confidence >= min_confidence else None


def _with_lingua(text: str, languages: tuple[str, ...]) -> str | None:
    if len(languages) < 2:
        return languages[0] if languages else None
    found = _lingua_detector(frozenset(languages)).detect_language_of(text)
    return _FROM_LINGUA.get(found) if found is not None else None


@functools.cache
def _lingua_detector(languages: frozenset[str]) -> LanguageDetector:
    # One detector per set of candidates, kept for the process: lingua loads its
    # models lazily, so only the languages a deployment offers cost memory.
    builder = LanguageDetectorBuilder.from_languages(*(_LINGUA[code] for code in sorted(languages)))
    return builder.with_minimum_relative_distance(LINGUA_MIN_DISTANCE).build()


@functools.cache
def _devanagari_model() -> NaiveBayes:
    """Hindi against Nepali, from the native-script training messages of both."""
    return NaiveBayes(
        (example.text, example.language)
        for example in examples("training")
        if example.language in _DEVANAGARI_LANGUAGES and not example.romanized
    )


@functools.cache
def _latin_model() -> NaiveBayes:
    """Latin-script languages and romanized Bengali and Hindi, from the training messages."""
    return NaiveBayes(
        (example.text, example.language)
        for example in examples("training")
        if example.romanized or example.language in _LATIN_LANGUAGES
    )
