"""The keyword vocabulary of `nlu/data/keywords.yaml`, indexed for whole-message lookup.

Each phrase is indexed under two keys: its fold with Latin accents kept ("exact") and
without ("loose"). Exact keys are tried first, so Vietnamese "đúng" (yes) and "dừng"
(stop), which fold to the same loose key "dung", are still told apart when the worker
types the tone marks. A loose key shared by two kinds is kept only when it is itself
listed as a phrase; otherwise it is ambiguous and matches nothing.
"""

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from nlu.data_files import load_data_file
from nlu.normalize import fold_normalized, normalize

KINDS = (
    "help", "back", "cancel", "delete", "language", "status",
    "yes", "no", "done", "skip", "confirm", "change", "new_report",
)  # fmt: skip


@dataclass(frozen=True)
class Vocabulary:
    """Phrases as written (for hints) and key -> kind indexes, per language."""

    phrases: Mapping[str, Mapping[str, tuple[str, ...]]]
    exact: Mapping[str, Mapping[str, str]]
    loose: Mapping[str, Mapping[str, str]]


def match_keys(text: str) -> tuple[str, str]:
    """Return the (exact, loose) lookup keys of a message or phrase."""
    # fold() strips edge punctuation, which would leave "?" or "-" empty;
    # such messages are compared as typed instead.
    clean = normalize(text)  # once, not once per key: this runs on every message
    bare = " ".join(clean.casefold().split())
    return fold_normalized(clean, keep_accents=True) or bare, fold_normalized(clean) or bare


def languages() -> tuple[str, ...]:
    """Language codes that have keywords, in file order."""
    return tuple(vocabulary().phrases)


def phrases(kind: str, language: str) -> tuple[str, ...]:
    """The phrases of `kind` in `language` as written, canonical display word first;
    empty when the language has none. Raises ValueError for an unknown kind."""
    _check_kind(kind)
    return vocabulary().phrases.get(language, {}).get(kind, ())


def resolve_kind(text: str, languages: Iterable[str]) -> str | None:
    """The kind the whole of `text` names in the first of `languages` that knows it,
    exact keys before loose ones; None when it is no keyword."""
    exact_key, loose_key = match_keys(text)
    vocab = vocabulary()
    for index, key in ((vocab.exact, exact_key), (vocab.loose, loose_key)):
        for language in languages:
            kind = index.get(language, {}).get(key)
            if kind is not None:
                return kind
    return None


def keyword_languages(text: str, languages: Iterable[str]) -> tuple[str, ...]:
    """The languages among `languages` (English aside) whose keywords the whole of `text` is
    ("ayuda", "tulong", "হ্যাঁ"): a one-word first message says which language it is in. ()
    when English has it too ("ok", "stop"), or when it is no keyword at all."""
    exact_key, loose_key = match_keys(text)
    vocab = vocabulary()

    def has(language: str) -> bool:
        return exact_key in vocab.exact.get(language, {}) or loose_key in vocab.loose.get(language, {})

    if has("en"):
        return ()
    return tuple(language for language in dict.fromkeys(languages) if language != "en" and has(language))


def with_english(languages: Iterable[str] | str | None) -> tuple[str, ...]:
    """`languages` without repeats and with English last, since English always applies."""
    if languages is None:
        languages = ()
    elif isinstance(languages, str):  # a lone code must not be read as its letters
        languages = (languages,)
    return tuple(dict.fromkeys([*languages, "en"]))


@functools.cache
def vocabulary() -> Vocabulary:
    """Build the indexes from the YAML file, once per process."""
    raw = load_data_file("keywords.yaml")
    phrases_by_language, exact, loose = {}, {}, {}
    for language, kinds in raw.items():
        written = {kind: _phrase_list(language, kind, items) for kind, items in kinds.items()}
        phrases_by_language[language] = MappingProxyType(written)
        exact[language], loose[language] = _index(written)
    return Vocabulary(
        MappingProxyType(phrases_by_language), MappingProxyType(exact), MappingProxyType(loose)
    )


def _index(written: Mapping[str, tuple[str, ...]]) -> tuple[Mapping, Mapping]:
    exact: dict[str, str] = {}
    loose_kinds: dict[str, set[str]] = {}
    for kind, items in written.items():
        for phrase in items:
            exact_key, loose_key = match_keys(phrase)
            exact.setdefault(exact_key, kind)
            loose_kinds.setdefault(loose_key, set()).add(kind)
    loose = {
        key: next(iter(kinds)) if len(kinds) == 1 else exact[key]
        for key, kinds in loose_kinds.items()
        if len(kinds) == 1 or key in exact
    }
    return MappingProxyType(exact), MappingProxyType(loose)


def _phrase_list(language: str, kind: str, items: object) -> tuple[str, ...]:
    # Fail loudly on a data mistake: a silently ignored keyword is a worker who cannot stop.
    _check_kind(kind)
    where = f"keywords.yaml {language}.{kind}"
    if not isinstance(items, list) or not items:
        raise ValueError(f"{where}: expected a non-empty list of phrases")
    for phrase in items:
        if not isinstance(phrase, str) or not match_keys(phrase)[0]:
            raise ValueError(f"{where}: {phrase!r} is not a phrase (quote yes/no/on/off)")
    return tuple(items)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown keyword kind {kind!r}; expected one of {KINDS}")
